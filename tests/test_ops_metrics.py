"""docs/metrics.md's example alerts read metrics the daemon serves, and do not fire
because the daemon restarted."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from modbot.metrics import Metrics
from modbot.model import CycleStats

DOCS = Path(__file__).parents[1] / "docs" / "metrics.md"


def alerts() -> dict[str, str]:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    (group,) = yaml.safe_load(block)["groups"]
    return {rule["alert"]: rule["expr"] for rule in group["rules"]}


def test_no_good_cycle_alert_is_quiet_while_the_first_cycle_after_a_restart_runs():
    """After a restart the last-success gauge reads 0 until the first good cycle ends:
    `time() - modbot_last_success_timestamp_seconds > 180` fired at once, every restart.
    The alert counts good cycles (a counter, its reset taken by increase())."""
    metrics = Metrics(dry_run=False)
    registry = metrics.registry
    assert registry.get_sample_value("modbot_last_success_timestamp_seconds") == 0
    assert registry.get_sample_value("modbot_cycles_total", {"result": "ok"}) == 0
    expr = alerts()["ModbotNoGoodCycle"]
    assert "modbot_last_success_timestamp_seconds" not in expr, expr
    assert re.fullmatch(r'increase\(modbot_cycles_total\{result="ok"\}\[3m\]\) == 0', expr)
    metrics.cycle_done(1.0, [CycleStats()])
    assert registry.get_sample_value("modbot_cycles_total", {"result": "ok"}) == 1


def test_every_metric_an_alert_reads_is_served():
    metrics = Metrics(dry_run=False, labels=["csam"], actions=["remove"])
    served = {m.name for m in metrics.registry.collect()}
    served |= {f"{name}_total" for name in served}  # counters: the family lacks _total
    for name, expr in alerts().items():
        for metric in re.findall(r"\b(modbot_\w+)", expr):
            assert metric in served, (name, metric)


def test_an_address_not_of_this_host_is_not_called_a_busy_port():
    """--metrics-address 10.254.254.254 (not this host's): the hint said "another
    process on that port? choose another with --metrics-port"."""
    import socket

    import pytest

    from modbot.errors import SettingsError

    metrics = Metrics(dry_run=False)
    with pytest.raises(SettingsError) as raised:
        metrics.serve(0, "10.254.254.254")
    assert "not an address of this host" in str(raised.value)
    assert "--metrics-address or MODBOT_METRICS_ADDRESS" in str(raised.value)
    assert "another process" not in str(raised.value)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SettingsError) as raised:
            metrics.serve(busy.getsockname()[1], "127.0.0.1")
    assert "another process on that port? choose another with --metrics-port" in str(raised.value)
