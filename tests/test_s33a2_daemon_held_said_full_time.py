"""A daemon held back by Lemmy says the hold in full once, then a short line at most every
``HELD_SAID_EVERY`` naming when it was said in full. From the second short line on, that
time named the short line before it (each short line reset it), so an admin reading
"as said in full at 10:20" found no such message there."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import modbot.modes.daemon as daemon_mode
from modbot.lemmy.transport import Held
from modbot.modes.daemon import Daemon
from modbot.store import Store


class _Clock:
    """The time module, its monotonic clock moved on by ``ahead`` seconds."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead

    def __getattr__(self, name: str):
        return getattr(time, name)


def _wall(clock: _Clock) -> type[datetime]:
    """``datetime``, its clock moved on with ``clock``'s."""

    class Wall(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=clock.ahead)

    return Wall


def test_each_short_held_line_names_the_full_messages_time(tmp_path, caplog, monkeypatch):
    until = time.monotonic() + 7200
    hold = "login: rate limited: Lemmy takes logins again in 7200 s"

    def poll_once(**kwargs):
        raise Held(hold, until=until, error="rate_limit_error")

    clock = _Clock()
    monkeypatch.setattr(daemon_mode, "time", clock)
    monkeypatch.setattr(daemon_mode, "datetime", _wall(clock))
    store = Store(tmp_path / "state.sqlite3")
    pipeline = SimpleNamespace(
        store=store,
        dry_run=False,
        run_id="r1",
        poll_once=poll_once,
        cycle_stats=None,
        warnings=[],
    )
    schedule = SimpleNamespace(poll_every=timedelta(seconds=60), sweep_since=None)
    caplog.set_level(logging.INFO, logger="modbot")
    try:
        daemon = Daemon(pipeline, SimpleNamespace(schedule=schedule))
        for step in range(7):  # a cycle every 5 minutes: 0, 5, ... 30 minutes
            clock.ahead = step * 300.0
            daemon.cycle()
    finally:
        store.close()
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "modbot.daemon" and r.levelno >= logging.WARNING
    ]
    assert sum(hold in line for line in lines) == 1, lines  # in full once
    short = [line for line in lines if "still holds it back" in line]
    # at 10, 20 and 30 minutes (HELD_SAID_EVERY: 10 minutes since the last line)
    assert len(short) == 3, lines
    named = [re.search(r"as said in full at (\d\d):(\d\d):(\d\d) UTC", line) for line in short]
    assert all(named), short
    seconds = [int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) for m in named if m]
    # each names the full message, half an hour ago at the last: the same time (give or
    # take the test's own second), not 10 minutes before each
    for s in seconds[1:]:
        assert min((s - seconds[0]) % 86400, (seconds[0] - s) % 86400) <= 2, short
