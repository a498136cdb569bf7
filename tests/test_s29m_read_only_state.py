"""`modbot audit` and `modbot healthcheck` read a state file on a filesystem mounted
read-only: an audit sidecar's volume mounted `:ro`, a backup copy on a read-only disk.

Before: both failed with "cannot open the state file ... (unable to open database file):
check that modbot's user can write it": SQLite's read-only connection could not make the
-shm it reads a WAL database with. Now such a file is read as it is (no other process
can be writing it: a writer keeps its -wal and -shm beside it), and a state a live writer
is writing through another mount is read with what its -wal holds. Needs mounts: skipped
where this process may not mount."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.model import utc_iso
from modbot.modes.health import HEARTBEAT_CURSOR
from modbot.store import Store


def decision(item_id: int) -> dict:
    return {
        "run_id": "r1",
        "decided_at": f"2026-01-0{item_id}T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": item_id, "author_id": 5},
        "image": {"url": f"https://x.example/{item_id}.png"},
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": "removed"}],
    }


def record(store: Store, item_id: int) -> None:
    store.add_decision(decision(item_id))
    beat = {"last_ok": utc_iso(datetime.now(UTC)), "poll_every": 60, "cycles": item_id}
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(beat))


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def read_only_view(tmp_path):
    """(a writable folder, the same folder seen through a read-only bind mount)."""
    disk, view = tmp_path / "disk", tmp_path / "view"
    disk.mkdir()
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(disk), str(view)], capture_output=True).returncode:
        pytest.skip("cannot mount a filesystem here (needs CAP_SYS_ADMIN)")
    try:
        mount("-o", "remount,bind,ro", str(view))
        yield disk, view
    finally:
        subprocess.run(["umount", str(view)], check=False)


def fingerprint(path: Path) -> tuple:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_a_state_left_on_a_read_only_mount_is_audited_and_health_checked(
    read_only_view, capsys, monkeypatch
):
    disk, view = read_only_view
    store = Store(disk / "modbot.sqlite3")
    record(store, 1)
    store.close()  # modbot stopped: the -wal and -shm went with it
    assert sorted(p.name for p in disk.iterdir()) == ["modbot.sqlite3"]
    state = view / "modbot.sqlite3"
    before = fingerprint(state)
    monkeypatch.setenv("MODBOT_STATE", str(state))

    assert main(["audit"]) == 0
    out, err = capsys.readouterr()
    assert "post:1" in out and "remove:done" in out, (out, err)
    assert main(["audit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"][0]["item"]["id"] == 1
    assert main(["healthcheck"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: last good cycle"), (out, err)
    assert fingerprint(state) == before
    assert sorted(p.name for p in disk.iterdir()) == ["modbot.sqlite3"]


def test_a_live_writers_state_seen_read_only_is_read_with_its_wal(read_only_view, capsys):
    """An audit sidecar beside the running bot: what the bot recorded a moment ago (in
    the -wal, not yet in the file) is listed; reading the file alone would miss it."""
    disk, view = read_only_view
    store = Store(disk / "modbot.sqlite3")
    try:
        record(store, 1)
        record(store, 2)
        assert (disk / "modbot.sqlite3-wal").stat().st_size > 0
        state = str(view / "modbot.sqlite3")
        assert main(["audit", "--state", state]) == 0
        out = capsys.readouterr().out
        assert "post:1" in out and "post:2" in out, out
        assert main(["healthcheck", "--state", state]) == 0
        assert "(2 cycles" in capsys.readouterr().out
    finally:
        store.close()


def test_a_wal_that_cannot_be_read_on_a_read_only_mount_is_said_not_skipped(read_only_view, capsys):
    """A killed bot's -wal without its -shm (a copy that left the -shm out): SQLite
    cannot read the -wal on a read-only filesystem. Reading the file alone would list
    the records without the newest and call a dead bot's heartbeat what it was: refused,
    saying what to do."""
    disk, _ = read_only_view
    killed = (
        "import os, sys; from modbot.store import Store; "
        "s = Store(sys.argv[1]); s.set_cursor('x', '1'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", killed, str(disk / "modbot.sqlite3")], check=True)
    (disk / "modbot.sqlite3-shm").unlink()
    assert (disk / "modbot.sqlite3-wal").stat().st_size > 0
    state = str(read_only_view[1] / "modbot.sqlite3")
    for command in (["audit"], ["healthcheck"]):
        assert main([*command, "--state", state]) == 1
        said = capsys.readouterr().err
        assert f"{state}-wal" in said and "read-only" in said, said
        assert "check that modbot's user can write it" not in said, said


def test_undo_of_a_state_on_a_read_only_mount_names_the_mount(read_only_view, capsys):
    """`modbot undo --yes` opens the writable store; on a read-only mount it names the
    mount, not SQLite's "unable to open". Its preview only reads the state (it writes
    nothing, not even a login): it lists what --yes would do."""
    disk, view = read_only_view
    store = Store(disk / "modbot.sqlite3")
    record(store, 1)
    store.close()
    state = str(view / "modbot.sqlite3")
    assert main(["undo", "1", "--state", state]) == 0
    assert "would restore post 1 (#1)" in capsys.readouterr().out
    assert main(["undo", "1", "--yes", "--state", state]) == 1
    said = capsys.readouterr().err
    assert "mounted read-only" in said and "unable to open database file" not in said, said
