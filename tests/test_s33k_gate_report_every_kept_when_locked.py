"""The admins are told of the files the gate decided without a verdict at most every
`gate.report_every` (README), the time of the last report kept in the state file. When
another process held that file locked past its busy timeout as the report went, the
report was sent but its time was not written: every check after it (each 2 s) found
the old time, and each new such file brought the admins another private message, for as
long as the lock was held. Now the time of a report sent is kept in memory too, and the
state file's refusal is said, not taken for a failed report."""

from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Settings
from modbot.modes import gate as gate_mode
from modbot.store import Store


@pytest.mark.slow  # (two reports to Lemmy, each paced as the gate paces them: ~13 s)
def test_a_report_whose_time_the_locked_state_refused_still_waits_report_every(
    fake_lemmy, tmp_path, caplog
):
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    path = tmp_path / "state.sqlite3"
    store = Store(path, busy_timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        earlier = gate_mode.AdminReports(store, every_s=3600.0, settings=settings)
        earlier.note("allowed_without_verdict", "timeout", "a" * 64)
        earlier.flush()  # an earlier run's report: the bot's login is kept in the state file
        assert len(fake_lemmy.private_messages) == 1
        store.set_cursor(earlier.CURSOR, repr(time.time() - 7200))  # two hours ago
        # the gate started again; another process writes, for long
        reports = gate_mode.AdminReports(store, every_s=3600.0, settings=settings)
        holder.execute("BEGIN IMMEDIATE")
        # a file, then more while the lock is held
        for n in range(4):
            reports.note("allowed_without_verdict", "timeout", f"{n:064x}")
            # (before, each raised; the gate's report thread went on after it)
            with contextlib.suppress(sqlite3.Error):
                reports.flush()
        # the first of them was told (its time not written); before, each of the others
        # was too (5 messages in all); report_every holds them back
        assert len(fake_lemmy.private_messages) == 2
        assert sum(reports.pending.values()) == 3
        assert "its time was not written" in caplog.text
    finally:
        holder.close()
        store.close()
