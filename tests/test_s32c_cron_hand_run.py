"""`modbot healthcheck` after `modbot run --once` by hand beside cron: the hand run a few
seconds after cron's must not shrink the limit to a few seconds (unhealthy until cron's
next run), nor drop the interval cron's `--every` gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modbot.modes.cronbeat import health, record_once
from modbot.store import Store

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def beat(state, runs: list[tuple[timedelta, timedelta | None]]) -> None:
    """Successful runs at T0 + each offset, each with its `--every` (None: not given)."""
    store = Store(state)
    try:
        for offset, every in runs:
            record_once(store, run_id="r", dry_run=False, every=every, now=T0 + offset)
    finally:
        store.close()


def test_a_hand_run_after_cron_keeps_the_usual_interval(tmp_path):
    state = tmp_path / "state.sqlite3"
    cron = [(i * 10 * MINUTE, None) for i in range(4)]  # cron every 10 minutes, no --every
    beat(state, [*cron, (30 * MINUTE + timedelta(seconds=5), None)])  # by hand, 5 s later
    # a minute after the hand run: cron's next run is 9 minutes away, nothing is wrong
    ok, message = health(state, now=T0 + 31 * MINUTE)
    assert ok, message
    assert "limit 1800s" in message and "median" in message
    # cron stopped: unhealthy once 3 of its intervals have passed, not later
    ok, message = health(state, now=T0 + 61 * MINUTE)
    assert not ok and "limit 1800s" in message


def test_the_first_two_runs_seconds_apart_give_a_floor_not_seconds(tmp_path):
    state = tmp_path / "state.sqlite3"
    beat(state, [(timedelta(0), None), (timedelta(seconds=4), None)])
    ok, message = health(state, now=T0 + 2 * MINUTE)
    assert ok, message
    assert "limit 180s" in message and "--every" in message
    ok, message = health(state, now=T0 + 4 * MINUTE)
    assert not ok and "limit 180s" in message and "--every" in message


def test_a_hand_run_without_every_keeps_crons_every(tmp_path):
    state = tmp_path / "state.sqlite3"
    every = 10 * MINUTE
    beat(state, [(timedelta(0), every), (10 * MINUTE, every), (10 * MINUTE + MINUTE, None)])
    ok, message = health(state, now=T0 + 25 * MINUTE)
    assert ok and "limit 1800s: 3 x --every" in message, message
    ok, message = health(state, now=T0 + 42 * MINUTE)
    assert not ok and "limit 1800s: 3 x --every" in message


def test_gaps_not_written_by_modbot_are_said_not_a_traceback(tmp_path):
    import json

    state = tmp_path / "state.sqlite3"
    beat(state, [(timedelta(0), None), (10 * MINUTE, None)])
    store = Store(state)
    written = json.loads(store.get_cursor("once:heartbeat"))
    store.set_cursor("once:heartbeat", json.dumps({**written, "gaps": ["ten minutes"]}))
    store.close()
    ok, message = health(state, now=T0 + 11 * MINUTE)
    assert not ok and "gaps is not a list of seconds" in message and "unreadable" in message


def test_every_given_up_in_crons_line_is_not_kept_for_good(tmp_path):
    # R: `run --once --every 1m` each minute, then cron moved to `run --once` each 10
    # minutes: the old 1-minute --every held for good (unhealthy, "3 x --every")
    state = tmp_path / "state.sqlite3"
    runs = [(i * MINUTE, MINUTE) for i in range(3)]
    runs += [(2 * MINUTE + i * 10 * MINUTE, None) for i in range(1, 5)]
    beat(state, runs)
    ok, message = health(state, now=T0 + 47 * MINUTE)  # 5 minutes after the last run
    assert ok, message
    assert "--every" not in message.split("limit", 1)[1].split(")", 1)[0], message
