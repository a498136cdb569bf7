"""`modbot run --metrics-address ADDRESS` without a port (neither --metrics-port nor
MODBOT_METRICS_PORT) is refused as a usage error, as --metrics-port with --once is: the
metrics are off without a port, and before, the daemon started without them and without
a word, so Prometheus' scrape failed and nothing said why. The address from the
environment alone (a shared .env) stays quiet, as the port from it does for --once."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("once", [[], ["--once"]], ids=["daemon", "once"])
def test_metrics_address_without_a_port_is_a_usage_error(tmp_path, monkeypatch, capsys, once):
    monkeypatch.chdir(tmp_path)  # nothing to read: the command line alone is wrong
    monkeypatch.delenv("MODBOT_METRICS_PORT", raising=False)
    argv = ["--env-file", "/dev/null", "run", *once, "--metrics-address", "0.0.0.0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("modbot run: --metrics-address "), err
    if once:
        assert "with --once the process ends after one cycle" in err
    else:
        assert "give --metrics-port PORT (or MODBOT_METRICS_PORT) too" in err


def test_the_address_from_the_environment_alone_is_no_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODBOT_METRICS_PORT", raising=False)
    monkeypatch.setenv("MODBOT_METRICS_ADDRESS", "0.0.0.0")
    for key in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    # it goes on to the settings (none here: that is what it says)
    assert main(["--env-file", "/dev/null", "run"]) == 1
    assert "--metrics-address" not in capsys.readouterr().err
