"""`--log-format json` promises one JSON object a line, for a log collector: the line
that says why a command stops (a rules file with a mistake, Lemmy not reachable, a
bad MODBOT_METRICS_PORT) was printed as plain text, the one line a collector most
needs to parse. Run through the real entry point."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "LEMMY_URL": "http://127.0.0.1:9",
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        **env,
    }
    environ.pop("MODBOT_ENV_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def json_lines(stderr: str) -> list[dict]:
    """Every stderr line as JSON; a line that is not fails the test, naming it."""
    lines = []
    for line in stderr.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line under --log-format json: {line!r}") from None
    return lines


def test_a_rules_file_with_a_mistake_is_said_in_json_lines(tmp_path):
    rules = (ROOT / "rules.yaml").read_text().replace("  poll_every: ", "  pol_every: ", 1)
    (tmp_path / "rules.yaml").write_text(rules)
    (tmp_path / "hashes").symlink_to(ROOT / "hashes")
    done = modbot(tmp_path, "--log-format", "json", "run", "--once", "--rules", "rules.yaml")
    assert done.returncode == 1
    lines = json_lines(done.stderr)
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert any("unknown key 'pol_every'" in line["message"] for line in errors), lines
    assert any(
        line["message"].startswith("modbot run: rules.yaml is not valid; not starting")
        for line in errors
    ), lines
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)


def test_lemmy_not_reachable_is_said_in_a_json_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once it is closed
    done = modbot(
        tmp_path,
        "run",
        "--once",
        "--dry-run",
        "--rules",
        str(ROOT / "rules.yaml"),
        "--log-format",
        "json",
        LEMMY_URL=f"http://127.0.0.1:{port}",
    )
    assert done.returncode == 1
    lines = json_lines(done.stderr)
    assert any(
        line["level"] == "ERROR" and f"127.0.0.1:{port} refused the connection" in line["message"]
        for line in lines
    ), lines


def test_a_bad_metrics_port_is_said_in_a_json_line(tmp_path):
    done = modbot(
        tmp_path,
        "--log-format",
        "json",
        "run",
        "--rules",
        str(ROOT / "rules.yaml"),
        MODBOT_METRICS_PORT="abc",
    )
    assert done.returncode == 1
    lines = json_lines(done.stderr)
    assert [line["message"] for line in lines if line["level"] == "ERROR"] == [
        "modbot run: MODBOT_METRICS_PORT must be a port number (0-65535), got 'abc'"
    ], lines


def test_text_format_keeps_the_plain_line(tmp_path):
    done = modbot(tmp_path, "run", "--rules", str(ROOT / "rules.yaml"), MODBOT_METRICS_PORT="abc")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "modbot run: MODBOT_METRICS_PORT must be a port number (0-65535), got 'abc'"
    )
