"""A heartbeat in the state file that is not one modbot wrote (broken JSON, a list, a
time that does not parse): `modbot healthcheck` says so and exits 1, without a
traceback; the daemon and `run --once` write a fresh one over it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from modbot.cli import main
from modbot.modes.cronbeat import ONCE_CURSOR, record_once
from modbot.modes.health import HEARTBEAT_CURSOR, read_heartbeat
from modbot.store import Store

BROKEN = {
    "half-written JSON": '{"last_ok": "2026-',
    "not an object": "[1, 2]",
    "a time that is not one": '{"last_ok": "yesterday", "poll_every": 60}',
    "a time without its zone": '{"last_ok": "2026-01-01T00:00:00", "poll_every": 60}',
    "an interval that is not seconds": '{"last_ok": "2026-01-01T00:00:00Z", "poll_every": "1m"}',
}


def _state(tmp_path, cursor: str, value: str):
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    store.set_cursor(cursor, value)
    store.close()
    return path


@pytest.mark.parametrize("cursor", [HEARTBEAT_CURSOR, ONCE_CURSOR])
@pytest.mark.parametrize("what", sorted(BROKEN))
def test_healthcheck_says_the_heartbeat_is_unreadable(tmp_path, capsys, cursor, what):
    path = _state(tmp_path, cursor, BROKEN[what])
    assert main(["healthcheck", "--state", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"the heartbeat '{cursor}' in the state file is unreadable" in err, err
    assert "Traceback" not in err


def test_an_unreadable_heartbeat_is_written_afresh(tmp_path, caplog):
    path = _state(tmp_path, ONCE_CURSOR, BROKEN["half-written JSON"])
    store = Store(path)
    try:
        store.set_cursor(HEARTBEAT_CURSOR, BROKEN["not an object"])
        assert read_heartbeat(store) is None  # the daemon's next one replaces it
        assert "unreadable" in caplog.text
        record_once(store, run_id="r1", dry_run=False, now=datetime.now(UTC))
        beat = json.loads(store.get_cursor(ONCE_CURSOR))
    finally:
        store.close()
    assert beat["runs"] == 1 and beat["last_ok"]


def test_healthcheck_changes_nothing_in_the_file_it_is_given(tmp_path, capsys):
    """`--state` naming another program's SQLite file (a typo, a wrong volume): the
    check says so and leaves the file as it was (no modbot tables, same mode)."""
    import sqlite3

    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    other.chmod(0o644)
    before = other.read_bytes()
    assert main(["healthcheck", "--state", str(other)]) == 1
    assert "is an SQLite file but no modbot state file" in capsys.readouterr().err
    assert other.read_bytes() == before and other.stat().st_mode & 0o777 == 0o644


def test_healthcheck_reads_a_live_state_while_the_bot_holds_it(tmp_path, capsys):
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        record_once(store, run_id="r1", dry_run=False, now=datetime.now(UTC))
        assert main(["healthcheck", "--state", str(path)]) == 0
    finally:
        store.close()
    assert "ok: the first `modbot run --once` succeeded" in capsys.readouterr().out
