"""`modbot audit | less` left open (the pager reads a screenful, then the pipe is full
and the audit waits on its write) held one SQLite read transaction for as long as the
pager stayed open: the running daemon could not reset its -wal, which grew with every
item it recorded (120 MB over 3,000 items in a try, GBs over a day on a busy instance).
Now the records are read a page at a time, each page its own read: while the audit
waits on its reader, nothing of the state is held. Through `modbot.cli.main`, the
writer checkpointing as the daemon does, with no wait."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store


def record(item_id: int) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-01-01T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": item_id, "author_id": 5},
        "image": {"url": f"https://x.example/{item_id}.png", "sha256": "ab" * 32},
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {item_id}"}],
    }


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        with store.transaction():
            for item_id in range(1, 41):
                store.add_decision(record(item_id))
    finally:
        store.close()
    monkeypatch.setenv("MODBOT_STATE", str(path))
    return path


class PausedPager(io.StringIO):
    """stdout whose reader stops after a few writes: while it is stopped, the daemon
    records an item and checkpoints its -wal (busy timeout 0: a reader in the way is
    said at once)."""

    def __init__(self, path: Path, after: int) -> None:
        super().__init__()
        self.path, self.after, self.writes = path, after, 0
        self.checkpoint: tuple | None = None
        self.wal_size: int | None = None

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes == self.after:
            store = Store(self.path)
            try:
                store.add_decision(record(1000))
            finally:
                store.close()
            daemon = sqlite3.connect(self.path, timeout=0)
            try:
                daemon.execute("PRAGMA busy_timeout = 0")
                self.checkpoint = tuple(
                    daemon.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                )
            finally:
                daemon.close()
            wal = self.path.with_name(self.path.name + "-wal")
            self.wal_size = wal.stat().st_size if wal.exists() else 0
        return super().write(text)


@pytest.mark.parametrize("flags", [[], ["--json"], ["--limit", "30"], ["--json", "--limit", "30"]])
def test_a_paused_audit_holds_no_read_of_the_state(state, monkeypatch, flags):
    # a daemon has the state open meanwhile (its -wal stays while it does)
    daemon = Store(state)
    try:
        pager = PausedPager(state, after=5)
        monkeypatch.setattr("sys.stdout", pager)
        assert main(["audit", *flags]) == 0
        assert pager.checkpoint is not None
        busy = pager.checkpoint[0]
        assert busy == 0, f"the audit held a read while its reader waited: {pager.checkpoint}"
        assert pager.wal_size == 0
        out = pager.getvalue()
        listed = [i for i in range(1, 41) if f"post:{i} " in out or f"/{i}.png" in out]
        assert listed == list(range(1 if "--limit" not in flags else 11, 41))
    finally:
        daemon.close()


def test_every_record_is_listed_once_across_pages(state, capsys, monkeypatch):
    monkeypatch.setattr("modbot.audit.PAGE", 7)
    assert main(["audit"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in lines] == [str(i) for i in range(1, 41)]
    assert main(["audit", "--limit", "15"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in lines] == [str(i) for i in range(26, 41)]
    assert main(["audit", "--json", "--limit", "9", "--item", "post:3"]) == 0
    assert '"id": 3' in capsys.readouterr().out
