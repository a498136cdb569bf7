"""`gate.budget` follows the upload timeout `modbot gate` is started with. Before, the
rules' schema held the budget under 30 s (pict-rs' and Lemmy's default timeouts)
whatever `--upload-timeout` said: an admin who raised both timeouts to 60 and started
`modbot gate --upload-timeout 60` with `gate.budget: 40s` (as check-rules' own warning
tells them to do) was refused ("not valid; not starting"), and a reload to such a
budget was not taken. Now the gate holds the budget under its --upload-timeout (refused
when not under it, warned of within 10 s of it, at start and on a reload);
`check-rules`, without a gate, keeps the documented 30 s default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.bot import wait_for
from support.worker import dead_url

from modbot.cli import main

SECRET = "gate-secret-0123456789abcdef"


def write_rules(path: Path, budget: str, classifier: str) -> None:
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, allow_random_weights: true,
             remote: ["{classifier}"]}}
gate: {{budget: {budget}}}
rules: []
""")


def test_a_gate_with_a_longer_upload_timeout_takes_a_budget_past_30s(tmp_path):
    rules = tmp_path / "rules.yaml"
    classifier = dead_url()
    write_rules(rules, "40s", classifier)
    log = tmp_path / "gate.log"
    env = {
        **os.environ,
        "MODBOT_GATE_SECRET": SECRET,
        "MODBOT_RULES": str(rules),
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_CLASSIFIER_TOKEN": "t" * 32,
    }
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        env.pop(name, None)
    port_file = tmp_path / "port"
    command = ["gate", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modbot", *command, "--upload-timeout", "60"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert process.poll() is None, log.read_text()  # before: not valid, exit 1
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        said = log.read_text()
        assert "budget 40s" in said and "gate.budget" not in said, said  # room: no warning
        url = f"http://127.0.0.1:{int(port_file.read_text())}/healthz"

        def budget() -> float:
            return httpx.get(url, timeout=10).json()["budget_s"]

        def hangup(expect: str) -> None:
            seen = log.read_text().count(expect)
            process.send_signal(signal.SIGHUP)
            wait_for(lambda: log.read_text().count(expect) > seen, 30, expect)

        assert budget() == 40

        # within 10 s of the gate's timeout: taken, with the gate's warning
        write_rules(rules, "55s", classifier)
        hangup("rules reloaded from")
        assert "gate.budget 55s leaves less than 10s under the 60s" in log.read_text()
        assert budget() == 55

        # not under it: not taken, in the gate's words (not the schema's 30 s)
        write_rules(rules, "60s", classifier)
        hangup("rules NOT reloaded")
        said = log.read_text()
        assert "gate.budget 60s is not under the 60s pict-rs and Lemmy wait" in said, said
        assert "less than 30s" not in said, said
        assert budget() == 55
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()


def test_check_rules_keeps_the_default_timeouts_bound(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "40s", dead_url())
    assert main(["check-rules", str(rules)]) == 1
    out = capsys.readouterr().out
    (problem,) = [line for line in out.splitlines() if "gate.budget:" in line]
    assert "give more than 0s and less than 30s" in problem, problem
    assert "modbot gate --upload-timeout" in problem, problem
