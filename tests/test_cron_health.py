"""`modbot healthcheck` for the cron way (`modbot run --once` from cron or a systemd
timer): each run records its own heartbeat, and the check reads whichever of the
daemon's and this one was written last, with its own freshness rule."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from support.bot import Bot
from support.policies import write_rules
from support.systemd import modbot_args, the, unit

from modbot.model import utc_iso
from modbot.modes.cronbeat import health, record_once
from modbot.modes.health import HEARTBEAT_CURSOR
from modbot.store import Store


def healthcheck(state, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_once_from_cron_is_healthy_then_stale_and_a_failed_run_says_why(
    fake_lemmy,
    tiny,
    tmp_path,
):
    good = tmp_path / "good"
    good.mkdir()
    bot = Bot(fake_lemmy, good, write_rules(good, fake_lemmy, tiny))
    bot("run", "--once", "--every", "10m")
    ok = healthcheck(bot.state)
    assert ok.returncode == 0, ok.stderr
    assert "ok: last good `modbot run --once`" in ok.stdout and "3 x --every" in ok.stdout
    time.sleep(1.2)
    stale = healthcheck(bot.state, "--max-age", "1s")
    assert stale.returncode == 1
    assert re.search(
        r"the last good `modbot run --once` was \d+s ago \(limit 1s: --max-age\)", stale.stderr
    )

    failing = tmp_path / "failing"
    failing.mkdir()
    wrong = Bot(fake_lemmy, failing, write_rules(failing, fake_lemmy, tiny), password="wrong")
    assert wrong("run", "--once", check=False).returncode == 1
    failed = healthcheck(wrong.state)
    assert failed.returncode == 1
    assert "no `modbot run --once` has succeeded yet; last error: " in failed.stderr
    assert "incorrect_login" in failed.stderr or "password" in failed.stderr


def beat(state, *, runs: list[tuple[datetime, str]], every=None, dry_run=False) -> None:
    store = Store(state)
    try:
        for when, error in runs:
            record_once(store, run_id="r", dry_run=dry_run, error=error, every=every, now=when)
    finally:
        store.close()


def test_freshness_rules_of_run_once(tmp_path):
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    first = tmp_path / "first.sqlite3"
    beat(first, runs=[(t0, "")])
    ok, message = health(first, now=t0 + timedelta(days=3))
    assert ok and "interval is not known yet" in message

    observed = tmp_path / "observed.sqlite3"
    beat(observed, runs=[(t0, ""), (t0 + timedelta(minutes=5), "")])
    assert health(observed, now=t0 + timedelta(minutes=19))[0]
    ok, message = health(observed, now=t0 + timedelta(minutes=21))
    assert not ok and "limit 900s: 3 x the time between its last two runs" in message

    every = tmp_path / "every.sqlite3"
    minutes = timedelta(minutes=1)
    beat(every, runs=[(t0, ""), (t0 + minutes, ""), (t0 + 2 * minutes, "boom")], every=10 * minutes)
    ok, message = health(every, now=t0 + 20 * minutes)
    assert ok and "last error: boom" in message  # the last good run is recent enough
    ok, message = health(every, now=t0 + 40 * minutes)
    assert not ok and "(limit 1800s: 3 x --every); last error: boom" in message

    dry = tmp_path / "dry.sqlite3"
    beat(dry, runs=[(t0, "")], dry_run=True)
    assert "`modbot run --dry-run --once`" in health(dry, now=t0 + minutes)[1]


def test_the_newer_of_the_daemon_and_run_once_is_checked(tmp_path):
    """Switched from the daemon to cron: the stopped daemon is history."""
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    daemon = {"poll_every": 60, "cycles": 9, "run_id": "d", "last_ok": utc_iso(t0)}
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps({**daemon, "stopped_at": utc_iso(t0)}))
    store.close()
    assert not health(state, now=t0 + timedelta(minutes=1))[0]  # the daemon stopped
    beat(state, runs=[(t0 + timedelta(hours=1), "")], every=timedelta(minutes=10))
    ok, message = health(state, now=t0 + timedelta(hours=1, minutes=5))
    assert ok and "run --once" in message
    # back to the daemon: its newer heartbeat is the one checked
    store = Store(state)
    later = utc_iso(t0 + timedelta(hours=2))
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps({**daemon, "last_ok": later, "stopped_at": None}))
    store.close()
    ok, message = health(state, now=t0 + timedelta(hours=2, minutes=1))
    assert ok and "cycles" in message


def test_a_dry_run_beside_a_stuck_live_bot_does_not_make_it_healthy(tmp_path):
    """Dry runs may run beside the live bot (README): their heartbeats are their own and
    count only where no live one was ever recorded."""
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    now = t0 + timedelta(hours=1)
    daemon = {"poll_every": 60, "cycles": 9, "run_id": "d", "last_ok": utc_iso(t0)}
    stuck = tmp_path / "daemon.sqlite3"  # the live daemon's last good cycle: an hour ago
    store = Store(stuck)
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(daemon))
    store.close()
    beat(stuck, runs=[(now - timedelta(seconds=5), "")], dry_run=True)
    ok, message = health(stuck, now=now)
    assert not ok and message == "the last good cycle was 3600s ago (limit 180s)"
    done = healthcheck(stuck)
    assert done.returncode == 1 and "the last good cycle was" in done.stderr

    cron = tmp_path / "cron.sqlite3"  # live runs from cron, stale; a dry-run daemon beside
    beat(cron, runs=[(t0, "")], every=timedelta(minutes=10))
    store = Store(cron)
    store.set_cursor("dry-run:" + HEARTBEAT_CURSOR, json.dumps({**daemon, "last_ok": utc_iso(now)}))
    store.close()
    ok, message = health(cron, now=now)
    assert not ok and "the last good `modbot run --once` was 3600s ago" in message

    dry = tmp_path / "dry.sqlite3"  # only dry runs ever: theirs is checked
    beat(dry, runs=[(now - timedelta(seconds=5), "")], dry_run=True)
    ok, message = health(dry, now=now)
    assert ok and "run --dry-run --once" in message


def test_nothing_recorded_names_both_ways(tmp_path):
    state = tmp_path / "state.sqlite3"
    Store(state).close()
    done = healthcheck(state)
    assert done.returncode == 1
    assert "no daemon cycle recorded yet" in done.stderr and "run --once" in done.stderr


def test_the_shipped_timer_and_its_every_agree():
    """modbot-once.service tells healthcheck the interval modbot-once.timer starts it at."""
    calendar = the(unit("modbot-once.timer")["Timer"], "OnCalendar")
    step = re.fullmatch(r"\*:0/(\d+)", calendar)
    assert step, calendar
    args = modbot_args(unit("modbot-once.service")["Service"])
    assert args.every == timedelta(minutes=int(step.group(1)))


def test_a_heartbeat_from_the_future_is_no_proof_of_life(tmp_path):
    """A clock that jumped back, or a state file from a machine ahead of this one: a last
    good cycle "in an hour" would keep a dead bot healthy for that hour and more."""
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    daemon = tmp_path / "daemon.sqlite3"
    store = Store(daemon)
    beat_ = {"poll_every": 60, "cycles": 9, "run_id": "d", "last_ok": utc_iso(t0)}
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(beat_))
    store.close()
    assert health(daemon, now=t0 - timedelta(seconds=30))[0]  # a little skew is no alarm
    ok, message = health(daemon, now=t0 - timedelta(hours=1))
    assert not ok and "3600s after this machine's time" in message and "clock" in message
    ok, message = health(daemon, now=t0 - timedelta(hours=1), max_age=timedelta(days=1))
    assert not ok and "after this machine's time" in message

    cron = tmp_path / "cron.sqlite3"
    beat(cron, runs=[(t0, ""), (t0 + timedelta(minutes=10), "")], every=timedelta(minutes=10))
    assert health(cron, now=t0 + timedelta(minutes=10))[0]
    ok, message = health(cron, now=t0 - timedelta(days=2))
    assert not ok and "`modbot run --once`" in message and "after this machine's time" in message


def test_max_age_is_honoured_for_the_daemon_and_under_a_second_refused(tmp_path, capsys):
    """`--max-age` the same on both ways: a limit of 0 was taken for none given on the
    daemon's (its 3 poll intervals instead), while `run --once`'s honoured it."""
    import pytest

    from modbot.cli import main
    from modbot.modes.health import health as daemon_health

    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    daemon = {"poll_every": 60, "cycles": 9, "run_id": "d", "last_ok": utc_iso(t0)}
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(daemon))
    store.close()
    later = t0 + timedelta(seconds=10)
    assert daemon_health(state, now=later).ok  # 3 x 60s
    stale = daemon_health(state, max_age=timedelta(0), now=later)
    assert not stale.ok and "(limit 0s)" in stale.message
    assert not health(state, max_age=timedelta(seconds=5), now=later)[0]
    for tiny_age in ("0s", "0.0000001s", "0.5s"):  # the last parsed as timedelta(0)
        with pytest.raises(SystemExit) as usage:
            main(["healthcheck", "--state", str(state), "--max-age", tiny_age])
        assert usage.value.code == 2, tiny_age
        assert "--max-age" in capsys.readouterr().err
