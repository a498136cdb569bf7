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
