"""A SIGHUP reload of the rules checks the new gate.budget against `--upload-timeout`,
as the start does. Before, `modbot gate --upload-timeout 15` refused to start with a
budget of 15 s, but took one on a reload without a word: every answer that took the
budget came after pict-rs and Lemmy had failed the upload. Now such a file is not
taken (the log says why, as for other rules that cannot be used; the gate decides by
the rules it had), and a budget within 10 s of the timeout is taken with the start's
warning."""

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

SECRET = "gate-secret-0123456789abcdef"


def write_rules(path: Path, budget: str, classifier: str) -> None:
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, allow_random_weights: true,
             remote: ["{classifier}"]}}
gate: {{budget: {budget}}}
rules:
  - name: csam at the door
    if: {{type: incoming, labels: [csam]}}
    then: {{reject: true}}
""")


def test_a_reload_refuses_a_budget_not_under_the_upload_timeout_and_keeps_the_old_rules(
    tmp_path,
):
    rules = tmp_path / "rules.yaml"
    classifier = dead_url()
    write_rules(rules, "4s", classifier)
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
            [sys.executable, "-m", "modbot", *command, "--upload-timeout", "15"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{int(port_file.read_text())}/healthz"

        def budget() -> float:
            return httpx.get(url, timeout=10).json()["budget_s"]

        def hangup(expect: str) -> None:
            seen = log.read_text().count(expect)
            process.send_signal(signal.SIGHUP)
            wait_for(lambda: log.read_text().count(expect) > seen, 30, expect)

        assert budget() == 4

        # a budget not under --upload-timeout: not taken, the log says why and what to set
        write_rules(rules, "15s", classifier)
        hangup("rules NOT reloaded")
        said = log.read_text()
        assert "gate.budget 15s is not under the 15s pict-rs and Lemmy wait" in said
        assert "Set gate.budget in the rules to 5s or less" in said
        assert "rules reloaded from" not in said
        assert budget() == 4

        # one within 10 s of it: taken, with the warning the start gives
        write_rules(rules, "8s", classifier)
        hangup("rules reloaded from")
        assert "gate.budget 8s leaves less than 10s under the 15s" in log.read_text()
        assert budget() == 8
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()
