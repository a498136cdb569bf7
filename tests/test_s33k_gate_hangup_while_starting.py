"""SIGHUP is how an admin makes a running gate read rules.yaml again (README: "without
a restart, so uploads never meet a gate that is loading its model"). Sent while the gate
was still starting (loading its model, asking its workers: from seconds to minutes), it
found no handler yet and killed the gate without a word: every upload then failed until
the restart policy had started it again and the model loaded once more. The rules were
read before that wait, so an edit made during it would also have been missed. Now a
hangup while starting is kept, and the rules are read again once the gate answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

SECRET = "gate-secret-0123456789abcdef"


def test_a_hangup_while_the_gate_starts_reads_the_rules_once_it_answers(tmp_path):
    # a worker that takes the connection and never answers: the start waits for its
    # /v1/info (classifier.remote.timeout, 4 s), the gate's start in a few seconds
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen()
    worker = f"http://127.0.0.1:{hung.getsockname()[1]}"
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"classifier: {{remote: {{urls: ['{worker}'], timeout: 4s}}}}\nrules: []\n")
    port_file, log_path = tmp_path / "gate.port", tmp_path / "gate.log"
    env = {**os.environ, "MODBOT_GATE_SECRET": SECRET, "MODBOT_STATE": str(tmp_path / "s.db")}
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_RULES"):
        env.pop(name, None)
    command = ["gate", "--rules", str(rules), "--listen", "127.0.0.1:0"]
    with log_path.open("w") as log:
        gate = subprocess.Popen(
            [sys.executable, "-m", "modbot", *command, "--port-file", str(port_file)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        # the gate is in its start: past the rules, waiting for its worker
        while "LEMMY_URL is not set" not in log_path.read_text():
            assert gate.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        # the admin edits the rules (a rule at the door) and sends SIGHUP
        rules.write_text(
            rules.read_text().replace(
                "rules: []",
                "rules:\n  - name: new at the door\n    if: {type: incoming, labels: [csam]}\n"
                "    then: {reject: true}",
            )
        )
        gate.send_signal(signal.SIGHUP)
        while not port_file.exists():
            # before: killed by the signal (-1), without a line
            assert gate.poll() is None, (gate.returncode, log_path.read_text())
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{int(port_file.read_text())}/healthz"
        while "rules reloaded" not in log_path.read_text():
            assert gate.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        assert httpx.get(url, timeout=10).status_code in (200, 503)
        said = log_path.read_text()
        assert "SIGHUP while starting" in said, said
        assert "1 rules of type incoming" in said, said
    finally:
        if gate.poll() is None:
            gate.send_signal(signal.SIGTERM)
            gate.wait(timeout=60)
        hung.close()
    assert gate.returncode == 0, log_path.read_text()
