"""`gate.budget` against what pict-rs and Lemmy wait for an upload. pict-rs gives the
gate PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT (30 s by default) and Lemmy 0.19 gives
pict-rs pictrs.upload_timeout (30 s by default; 10 s before 0.19) for the whole upload,
pict-rs' own work on the file included. Before, a budget of 25 s (or one of 10 s with
either timeout set to 10) started without a word: slow uploads failed at Lemmy while
the gate still decided, and gate.on_timeout's answer was never heard. Now `modbot gate`
refuses a budget not under `--upload-timeout` (exit 2, the numbers and what to set)
and warns at start of one within 10 s of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.worker import dead_url

SECRET = "gate-secret-0123456789abcdef"


def rules(directory: Path, budget: str) -> Path:
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, allow_random_weights: true,
             remote: ["{dead_url()}"]}}
gate: {{budget: {budget}}}
rules: []
""")
    return path


def gate(directory: Path, budget: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "MODBOT_GATE_SECRET": SECRET,
        "MODBOT_RULES": str(rules(directory, budget)),
        "MODBOT_STATE": str(directory / "state.sqlite3"),
        "MODBOT_CLASSIFIER_TOKEN": "t" * 32,
    }
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        env.pop(name, None)
    command = ["gate", "--listen", "127.0.0.1:0", "--port-file", str(directory / "port")]
    return subprocess.Popen(
        [sys.executable, "-m", "modbot", *command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def started_output(directory: Path, budget: str) -> str:
    """What a gate that starts says, until it is stopped."""
    process = gate(directory, budget)
    try:
        deadline = time.monotonic() + 120
        while not (directory / "port").exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def test_a_budget_not_under_the_upload_timeout_is_refused_with_what_to_set(tmp_path):
    process = gate(tmp_path, "10s", "--upload-timeout", "10")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output
    assert "gate.budget 10s is not under the 10s pict-rs and Lemmy wait" in output
    assert "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT" in output
    assert "pictrs.upload_timeout" in output and "not starting" in output
    assert not (tmp_path / "port").exists()


def test_a_budget_close_to_the_timeout_is_warned_of_and_the_default_is_not(tmp_path):
    close = tmp_path / "close"
    close.mkdir()
    output = started_output(close, "25s")
    assert "gate.budget 25s leaves less than 10s under the 30s" in output
    assert "Set gate.budget to 20s or less" in output
    fine = tmp_path / "fine"
    fine.mkdir()
    assert "gate.budget" not in started_output(fine, "10s")
