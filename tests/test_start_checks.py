"""What an admin sees at start: a wrong LEMMY_URL said at once in its own words (before
the version question's retries), and the log as JSON lines on request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from fakelemmy import FakeLemmy


def run_once(tmp_path, url: str, *extra: str, password: str = "pw"):
    env = {
        **os.environ,
        "LEMMY_URL": url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": password,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
    }
    rules = os.path.join(os.path.dirname(__file__), "..", "rules.yaml")
    return subprocess.run(
        [sys.executable, "-m", "modbot", "run", "--once", "--dry-run", "--rules", rules, *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_refused_port_is_said_at_once_without_retries(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once it is closed
    done = run_once(tmp_path, f"http://127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"127.0.0.1:{port} refused the connection: nothing listens there" in done.stderr
    assert "retry" not in done.stderr and "nodeinfo" not in done.stderr, done.stderr


def test_log_lines_as_json_on_request(tmp_path):
    with FakeLemmy() as lemmy:
        lemmy.add_person("modbot", admin=True, bot_account=True, password="right")
        done = run_once(tmp_path, lemmy.url, "--log-format", "json", password="wrong-pw-123")
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)
    assert any(
        line["logger"] == "modbot.lemmy" and line["message"].startswith("Lemmy API v3")
        for line in lines
    ), lines
    assert "wrong-pw-123" not in done.stderr + done.stdout
