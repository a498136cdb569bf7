"""The state file through the CLI: a file modbot cannot use is a clear error naming it
(exit 1, no traceback), and the file that holds the login token is owner-only."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from modbot.store import Store


def modbot(tmp_path: Path, state: Path, *args: str) -> subprocess.CompletedProcess:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    env = {
        **os.environ,
        "LEMMY_URL": "http://127.0.0.1:9",
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(state),
        "MODBOT_RULES": str(rules),
    }
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def a_real_state(path: Path) -> Path:
    store = Store(path)
    for i in range(3000):  # a few hundred pages, as after some days of work
        store.set_cursor(f"c{i}", "x" * 300)
    store.close()
    return path


def refused(done: subprocess.CompletedProcess, *says: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    for text in says:
        assert text in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize(
    "command",
    [
        ("run", "--once"),
        ("sweep", "--dry-run"),
        ("report", "--out", "r.json"),
        ("run", "--reset-safety-valve"),
    ],
)
def test_a_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path, command):
    state = tmp_path / "state.sqlite3"
    state.write_bytes(b"this is not a database, it is a text file\n" * 100)
    done = modbot(tmp_path, state, *command)
    refused(
        done,
        str(state),
        "not a usable SQLite database",
        "sqlite3 FILE .recover",
        "forgets which actions it did",
    )
    assert state.read_bytes().startswith(b"this is not"), "left as it was"


def test_a_truncated_state_is_named_with_what_to_do(tmp_path):
    state = a_real_state(tmp_path / "state.sqlite3")
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])
    refused(modbot(tmp_path, state, "run", "--once"), str(state), "corrupt, truncated")
    health = modbot(tmp_path, state, "healthcheck")
    refused(health, str(state), "not a usable SQLite database")


def test_a_directory_or_a_path_under_a_file_is_refused(tmp_path):
    folder = tmp_path / "state-dir"
    folder.mkdir()
    refused(
        modbot(tmp_path, folder, "run", "--once"),
        f"the state file {folder} is a directory",
        "MODBOT_STATE",
    )
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    under = a_file / "state.sqlite3"
    refused(modbot(tmp_path, under, "run", "--once"), str(a_file), "not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_state_or_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        refused(
            modbot(tmp_path, locked / "state.sqlite3", "run", "--once"),
            str(locked),
            "cannot write in",
        )
    finally:
        locked.chmod(0o700)
    state = a_real_state(tmp_path / "state.sqlite3")
    state.chmod(0o400)
    refused(modbot(tmp_path, state, "run", "--once"), str(state), "not readable and writable")


def test_the_state_and_its_wal_and_shm_are_made_owner_only_at_every_start(tmp_path):
    state = a_real_state(tmp_path / "state.sqlite3")
    # A reader keeps the -wal and -shm in place, as a running daemon does.
    holder = sqlite3.connect(state)
    holder.execute("SELECT count(*) FROM cursors").fetchone()
    try:
        side = [state.with_name(state.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in side)
        for path in (state, *side):
            path.chmod(0o644)
        done = modbot(tmp_path, state, "run", "--reset-safety-valve")
        assert done.returncode == 0, done.stderr
        for path in (state, *side):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        holder.close()
    # a state created afresh is owner-only from the start (by a run, which creates it
    # before it connects; --reset-safety-valve creates none: there is nothing to reset)
    fresh = tmp_path / "new" / "state.sqlite3"
    assert modbot(tmp_path, fresh, "run", "--once").returncode == 1  # no Lemmy on port 9
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
