"""`modbot audit` and `modbot undo`'s preview read the state file and leave nothing
beside it. Before, SQLite's read-only connection made an empty -wal and -shm beside a
state that had none (no process had it open) and never removed them: they stayed after
every audit, as if a process had the state open. Now, when the reader may write the
state (the bot's user, root), a companion connection closing last removes them as
SQLite's last connection does; the file's bytes and mode are kept, a killed daemon's
-wal is not folded in, and beside a running daemon its -wal and -shm stay, read and
still written. (A reader of another user, who may read the file but not write it,
still leaves them: see the session's report.) Through `modbot.cli.main`."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store

SIDE = ("-wal", "-shm")


def record(item_id: int) -> dict:
    return {
        "run_id": "r1",
        "decided_at": f"2026-01-0{item_id}T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": item_id, "author_id": 5},
        "image": {"url": f"https://x.example/{item_id}.png"},
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {item_id}"}],
    }


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        store.add_decision(record(1))
    finally:
        store.close()
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODBOT_STATE", str(path))
    monkeypatch.chdir(tmp_path)
    assert not any(path.with_name(path.name + s).exists() for s in SIDE)
    return path


def beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "command", [["audit"], ["audit", "--json"], ["undo", "1"]], ids=["audit", "json", "preview"]
)
def test_reading_a_state_no_process_has_open_leaves_nothing_beside_it(state, capsys, command):
    before = digest(state)
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "post:1" in out or "post 1" in out, out
    assert beside(state) == [], "no -wal or -shm left beside the state"
    assert digest(state) == before


def test_beside_a_running_daemon_its_files_stay_and_it_writes_on(state, capsys):
    daemon = Store(state)
    try:
        daemon.add_decision(record(2))  # in its -wal, not yet in the file
        assert main(["audit"]) == 0
        assert "post:2" in capsys.readouterr().out, "what the daemon recorded a moment ago"
        assert beside(state) == ["state.sqlite3-shm", "state.sqlite3-wal"]
        daemon.add_decision(record(3))
    finally:
        daemon.close()
    assert main(["audit"]) == 0
    assert "post:3" in capsys.readouterr().out
    assert beside(state) == []


def test_a_killed_daemons_wal_is_left_as_it_is(state, capsys, tmp_path):
    import subprocess
    import sys

    killed = (
        "import os, sys; from modbot.store import Store; "
        "s = Store(sys.argv[1]); s.set_cursor('killed', 'in the wal'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", killed, str(state)], check=True)
    wal = state.with_name(state.name + "-wal")
    held = digest(state), digest(wal)
    assert main(["audit"]) == 0
    assert (digest(state), digest(wal)) == held, "nothing folded into the file"
    assert os.path.getsize(wal) > 0
