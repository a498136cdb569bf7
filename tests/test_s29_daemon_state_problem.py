"""A daemon cycle that fails on the state file (a full disk, a failing one) says what to
do, as `run --once` does (`modbot.store.database_problem`): before, the log and the
heartbeat's last_error read "OperationalError: database or disk is full", every cycle,
with no advice."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import timedelta
from types import SimpleNamespace

from modbot.modes.daemon import Daemon
from modbot.modes.health import HEARTBEAT_CURSOR
from modbot.pipeline import CycleStats
from modbot.store import Store


def test_a_cycle_failing_on_a_full_disk_says_to_free_space(tmp_path, caplog):
    store = Store(tmp_path / "state.sqlite3")

    class Pipeline:
        dry_run, run_id = False, "test"

        def __init__(self) -> None:
            self.store = store

        def poll_once(self, stop: object, progress: object = None) -> CycleStats:
            raise sqlite3.OperationalError("database or disk is full")

    policy = SimpleNamespace(schedule=SimpleNamespace(poll_every=timedelta(minutes=1)))
    daemon = Daemon(Pipeline(), policy)
    caplog.set_level(logging.ERROR, logger="modbot")
    daemon.cycle()
    (line,) = [r.getMessage() for r in caplog.records if "cycle 1 failed" in r.getMessage()]
    assert "is full" in line and "Free space" in line and str(store.path) in line, line
    beat = json.loads(store.get_cursor(HEARTBEAT_CURSOR))
    assert "Free space" in beat["last_error"]
    store.close()
