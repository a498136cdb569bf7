"""`modbot run --reset-safety-valve` pointed at no state file (run from another folder
than the daemon's, whose ./.env and ./modbot.sqlite3 it then misses) says so and
creates nothing. Before, it created an empty state there and said "the safety valve
was not tripped": the admin believed the bot acted again while the daemon stayed in
report-only mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modbot.store import Store


def reset(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", "run", "--reset-safety-valve"],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reset_without_a_state_file_says_so_and_creates_none(tmp_path):
    daemon = tmp_path / "srv"
    daemon.mkdir()
    state = daemon / "modbot.sqlite3"
    store = Store(state)
    store.trip_valve("more than 20 destructive actions within an hour")
    store.close()
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    env = {"LEMMY_URL": "http://127.0.0.1:9", "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": "pw"}
    done = reset(elsewhere, {**env, "MODBOT_STATE": ""})  # unset: ./modbot.sqlite3
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "no state file at" in done.stderr and "modbot.sqlite3" in done.stderr, done.stderr
    assert "MODBOT_STATE" in done.stderr
    assert "not tripped" not in done.stdout
    assert list(elsewhere.iterdir()) == [], "no state file created"

    # where the daemon runs, the reset works as before
    done = reset(daemon, {**env, "MODBOT_STATE": str(state)})
    assert done.returncode == 0, done.stderr
    assert "safety valve reset" in done.stdout
    store = Store(state)
    assert store.valve_tripped() is None
    store.close()
