"""`modbot run` as a daemon (scheduled cycles, SIGTERM) and `modbot healthcheck`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from support.bot import Bot, Lines, stop_daemon, wait_for
from support.policies import backlog, write_sweep_rules

import modbot.doctor
from fakelemmy.state import now
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.modes.cronbeat import once_cursor
from modbot.modes.daemon import (
    HEARTBEAT_CURSOR,
    SWEEP_REQUEST_CURSOR,
    Daemon,
    daemon_cursor,
    watch,
)
from modbot.modes.health import health
from modbot.store import Store, utc_iso

# The daemons here are dry runs: they keep their heartbeat and sweep request apart.
DRY_HEARTBEAT = daemon_cursor(HEARTBEAT_CURSOR, dry_run=True)
DRY_SWEEP_REQUEST = daemon_cursor(SWEEP_REQUEST_CURSOR, dry_run=True)


def request_sweep(state_path, since=None) -> None:
    store = Store(state_path)
    try:
        store.set_cursor(
            DRY_SWEEP_REQUEST,
            json.dumps({"requested_at": utc_iso(), "since": utc_iso(since) if since else None}),
        )
    finally:
        store.close()


def heartbeat(state_path) -> dict:
    store = Store(state_path)
    try:
        return json.loads(store.get_cursor(DRY_HEARTBEAT))
    finally:
        store.close()


def test_two_scheduled_cycles_then_sigterm_exits_cleanly_with_consistent_state(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    old = backlog(lemmy, photos, posts=12, days_old=3)
    fresh = lemmy.add_post(
        cast.pics, cast.bob, name="new", url=lemmy.add_remote_file("new.jpg", photos["chelsea"])
    )
    rules = write_sweep_rules(
        tmp_path, lemmy, tiny_checkpoint, known_bad=old["bad_hashes"], poll_every="1s"
    )
    bot = Bot(lemmy, tmp_path, rules)
    # As if the cron job had fired: the sweep runs in slices after the polls.
    request_sweep(bot.state, since=now() - timedelta(days=30))

    daemon = bot.start("run", "--dry-run", "--report", "run.html")
    err = Lines(daemon.stderr)
    wait_for(lambda: err.count(" cycle 1: ") == 1, what="the first cycle")
    later = lemmy.add_post(
        cast.pics,
        cast.alice,
        name="between cycles",
        url=lemmy.add_remote_file("later.jpg", photos["astronaut"]),
    )
    wait_for(
        lambda: any(r["item"]["id"] == later.id for r in bot.decisions()),
        what="the post made between cycles",
    )
    wait_for(lambda: err.count(" cycle ") >= 2, what="two cycles")
    check = bot("healthcheck")
    assert check.stdout.startswith("ok: last good cycle")

    stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    log = err.text()
    assert "SIGTERM received" in log and "stopped after" in log
    cycle_lines = [line for line in log.splitlines() if " cycle " in line and "items" in line]
    assert len(cycle_lines) >= 2
    assert "Running job" not in log, "one line per cycle at the default level"
    assert "sweep finished" in log, "the requested sweep ran between polls"

    assert lemmy.mutating_requests() == [], "a dry run changes nothing"
    records = bot.decisions()
    per_item = Counter(
        (r["item"]["kind"], r["item"]["id"]) for r in records if r["item"]["kind"] != "upload"
    )
    expected = (
        {("post", i) for i in old["posts"]}
        | {("comment", i) for i in old["comments"]}
        | {("post", fresh.id), ("post", later.id)}
    )
    assert set(per_item) == expected and max(per_item.values()) == 1
    assert {r["run_id"] for r in records} == {records[0]["run_id"]}

    beat = heartbeat(bot.state)
    assert beat["stopped_at"] and beat["cycles"] >= 2 and beat["dry_run"] is True
    store = Store(bot.state)
    try:
        assert store.get_cursor(DRY_SWEEP_REQUEST) is None
        assert store.get_cursor(HEARTBEAT_CURSOR) is None, "never the live daemon's"
        assert store.get_cursor("dry-run:sweep_position") is None
    finally:
        store.close()
    stopped = bot("healthcheck", rc=1)
    assert "the daemon stopped at" in stopped.stderr
    page = (tmp_path / "run.html").read_text()
    assert "DRY RUN" in page and "known abusive image" in page and "<img" not in page


def test_sighup_reads_the_rules_again_before_the_next_cycle(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    """The admin edits rules.yaml (or a hash list) and sends SIGHUP: the next cycle acts
    by it, with no restart. A file with a typo, or one that changes the classifier, is
    not taken: the log says why and the daemon goes on by the rules it has."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    data = photos["chelsea"]
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
    bot = Bot(lemmy, tmp_path, rules)

    def post(name: str) -> int:
        url = lemmy.add_remote_file(f"{name}.jpg", data)
        return lemmy.add_post(cast.pics, cast.bob, name=name, url=url).id

    def decided(post_id: int) -> dict:
        wait_for(
            lambda: any(r["item"]["id"] == post_id for r in bot.decisions()),
            what=f"post {post_id} decided",
        )
        return next(r for r in bot.decisions() if r["item"]["id"] == post_id)

    before = post("before")
    daemon = bot.start("run", "--dry-run")
    err = Lines(daemon.stderr)

    def hangup(expect: str) -> None:
        seen = err.count(expect)
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: err.count(expect) > seen, what=expect)

    try:
        assert decided(before)["rule"] is None
        # the admin lists the file as known abusive, polls less often, and says so
        (tmp_path / "known-bad.txt").write_text(hashlib.sha256(data).hexdigest() + "\n")
        good = rules.read_text().replace("poll_every: 1s", "poll_every: 2s")
        rules.write_text(good)
        hangup("rules reloaded from")
        assert "daemon: poll every 2s" in err.text()
        assert decided(post("after"))["rule"] == "known abusive image"

        # a typo: not taken, the log says where; the daemon acts by the rules it has
        rules.write_text(good.replace("remove: ", "remvoe: ", 1))
        hangup("rules NOT reloaded")
        assert "remvoe" in err.text() and "is not valid" in err.text()
        assert decided(post("typo"))["rule"] == "known abusive image"

        # the model cannot change under a running daemon: the whole file is refused
        (tmp_path / "known-bad.txt").write_text("")
        rules.write_text(good.replace("batch_size: 8", "batch_size: 4"))
        hangup("restart modbot to apply them")
        assert decided(post("model"))["rule"] == "known abusive image"
        assert daemon.poll() is None
    finally:
        stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    assert lemmy.mutating_requests() == [], "a dry run changes nothing"


def test_sigterm_during_run_once_finishes_the_batch_and_exits_0(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    """`systemctl stop` while a `run --once` from a timer is banning someone: as --help
    says, the batch in hand is finished and recorded, then it exits 0."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    data = photos["chelsea"]
    rules = write_sweep_rules(
        tmp_path, lemmy, tiny_checkpoint, known_bad=[hashlib.sha256(data).hexdigest()]
    )
    post = lemmy.add_post(
        cast.pics, cast.bob, name="bad", url=lemmy.add_remote_file("bad.jpg", data)
    )
    lemmy.delay("/api/v3/user/ban", 3.0, times=1)
    bot = Bot(lemmy, tmp_path, rules)
    child = bot.start("run", "--once")
    wait_for(lambda: any(r.path == "/api/v3/user/ban" for r in lemmy.requests), what="the ban")
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err[-3000:]
    assert "SIGTERM received" in err and f"run {bot.decisions()[0]['run_id']} (live)" in out
    (record,) = [r for r in bot.decisions() if r["item"]["id"] == post.id]
    assert record["rule"] == "known abusive image"
    assert {a["action"]: a["status"] for a in record["actions"]}["ban"] == "done"
    assert sum(r.path == "/api/v3/user/ban" for r in lemmy.requests) == 1


@pytest.fixture
def unhandled_signals():
    """The names of the signals that reach the test process's own handlers: standing in
    for the default ones, which end a `modbot run` process that left them unhandled."""
    reached: list[str] = []

    def record(signum, frame):
        reached.append(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, record) for sig in (signal.SIGTERM, signal.SIGHUP)}
    yield reached
    for sig, handler in old.items():
        signal.signal(sig, handler)


def in_process_config(lemmy, tmp_path, rules):
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    return settings, load_policy(rules)


def sigterm_when(condition, done: threading.Event) -> None:
    """SIGTERM to this process once ``condition()`` holds, unless ``done`` first."""

    def wait() -> None:
        while not done.wait(0.05):
            if condition():
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=wait, daemon=True).start()


def test_sighup_while_the_daemon_starts_reads_the_rules_before_the_first_cycle(
    fake_lemmy, photos, tiny_checkpoint, tmp_path, monkeypatch, caplog, unhandled_signals
):
    """`systemctl reload` while the daemon logs in and loads the model (minutes for a big
    model on a CPU) does not end it: its first cycle acts by the rules file read again."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    data = photos["chelsea"]
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
    post = lemmy.add_post(cast.pics, cast.bob, name="x", url=lemmy.add_remote_file("x.jpg", data))
    settings, policy = in_process_config(lemmy, tmp_path, rules)
    connect_first = modbot.doctor.connect_first

    def edited_while_logging_in(pipeline):
        (tmp_path / "known-bad.txt").write_text(hashlib.sha256(data).hexdigest() + "\n")
        os.kill(os.getpid(), signal.SIGHUP)
        connect_first(pipeline)

    monkeypatch.setattr(modbot.doctor, "connect_first", edited_while_logging_in)
    done = threading.Event()
    sigterm_when(lambda: "cycle 1: " in caplog.text, done)
    try:
        with caplog.at_level(logging.INFO):
            status = watch(settings, policy, once=False, dry_run=True, report=None, lock_wait=None)
    finally:
        done.set()
    assert unhandled_signals == []
    assert status == 0
    assert "SIGHUP received while starting" in caplog.text
    assert "rules reloaded from" in caplog.text
    bot = Bot(lemmy, tmp_path, rules)
    (record,) = [r for r in bot.decisions() if r["item"]["id"] == post.id]
    assert record["rule"] == "known abusive image"


@pytest.mark.parametrize("once", [False, True], ids=["daemon", "once"])
def test_sigterm_while_starting_stops_there_with_0(
    once, fake_lemmy, tiny_checkpoint, tmp_path, monkeypatch, caplog, unhandled_signals
):
    """SIGTERM while `modbot run` starts (login, model): nothing is in hand, so it ends
    there, with 0 and a line saying so; no cycle, no heartbeat saying one ran."""
    lemmy = fake_lemmy
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
    settings, policy = in_process_config(lemmy, tmp_path, rules)
    connect_first = modbot.doctor.connect_first

    def stopped_while_logging_in(pipeline):
        connect_first(pipeline)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(modbot.doctor, "connect_first", stopped_while_logging_in)
    done = threading.Event()
    ran = ("cycle 1: ", "cycle: ")  # the daemon's first cycle, the --once one
    sigterm_when(lambda: any(line in caplog.text for line in ran), done)  # not stopped
    try:
        with caplog.at_level(logging.INFO):
            status = watch(settings, policy, once=once, dry_run=False, report=None, lock_wait=None)
    finally:
        done.set()
    assert unhandled_signals == []
    assert status == 0
    assert "SIGTERM received while starting: stopped before the first cycle" in caplog.text
    assert not any(line in caplog.text for line in ran)
    store = Store(settings.state_path)
    try:
        assert store.decisions() == []
        assert store.get_cursor(once_cursor(False)) is None
        assert store.get_cursor(HEARTBEAT_CURSOR) is None
    finally:
        store.close()
    assert lemmy.mutating_requests() == []


def test_a_cron_request_sweeps_in_slices_after_the_poll(
    fake_lemmy, photos, tiny_checkpoint, tmp_path, monkeypatch
):
    from modbot.config.policy import load_policy
    from modbot.config.settings import Settings
    from modbot.pipeline import Pipeline

    lemmy = fake_lemmy
    old = backlog(lemmy, photos, posts=70, days_old=2)  # more than one page
    rules = write_sweep_rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        known_bad=old["bad_hashes"],
        sweep_cron='"0 4 * * *"',
        sweep_since="7d",
    )
    bot = Bot(lemmy, tmp_path, rules)
    settings = Settings.from_env(bot.env)
    policy = load_policy(rules)
    with Pipeline(settings, policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)
        daemon.cycle()  # a poll reads one page back: the older posts are the sweep's job
        polled = {r["item"]["id"] for r in bot.decisions() if r["item"]["kind"] == "post"}
        assert polled < set(old["posts"])
        daemon.request_sweep()
        request = json.loads(pipeline.store.get_cursor(DRY_SWEEP_REQUEST))
        since = datetime.fromisoformat(request["since"].replace("Z", "+00:00"))
        assert abs(datetime.now(UTC) - timedelta(days=7) - since) < timedelta(minutes=1)
        daemon.request_sweep()  # a second request while one is pending changes nothing
        assert json.loads(pipeline.store.get_cursor(DRY_SWEEP_REQUEST)) == request
        # A slice has half the poll interval: one is enough here, unless the machine is
        # slow (a loaded CI); then each cycle's slice carries on where the last one ended.
        for _ in range(30):
            daemon.cycle()
            if pipeline.store.get_cursor(DRY_SWEEP_REQUEST) is None:
                break
        assert pipeline.store.get_cursor(DRY_SWEEP_REQUEST) is None
    posts = Counter(r["item"]["id"] for r in bot.decisions() if r["item"]["kind"] == "post")
    assert set(posts) == set(old["posts"]) and max(posts.values()) == 1
    assert health(bot.state).ok


def test_healthcheck_says_why_it_fails(tmp_path):
    state = tmp_path / "state.sqlite3"
    missing = subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck", "--state", str(state)],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "no state file" in missing.stderr
    assert not state.exists(), "a healthcheck creates nothing"

    store = Store(state)
    now_ = datetime.now(UTC)
    beat = {
        "poll_every": 60,
        "cycles": 5,
        "run_id": "r",
        "last_ok": utc_iso(now_ - timedelta(minutes=2)),
        "last_error": None,
        "stopped_at": None,
    }
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(beat))
    store.close()
    assert health(state, now=now_).ok
    late = health(state, now=now_ + timedelta(minutes=2))
    assert not late.ok and "240s ago (limit 180s)" in late.message
    assert health(state, now=now_ + timedelta(minutes=2), max_age=timedelta(minutes=10)).ok

    store = Store(state)
    beat.update(last_ok=utc_iso(now_ - timedelta(hours=1)), last_error="LemmyError: HTTP 502")
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps(beat))
    store.close()
    cli = subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck"],
        capture_output=True,
        text=True,
        env={"MODBOT_STATE": str(state), "PATH": ""},
    )
    assert cli.returncode == 1 and "last error: LemmyError: HTTP 502" in cli.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck", "--state", str(state), "--max-age", "2h"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")


def _sweep_times(tmp_path, cron: str, count: int = 3) -> list[str]:
    """When the daemon's sweep job fires, from Wednesday 2025-01-01, for `sweep_cron`."""
    from types import SimpleNamespace

    from apscheduler.schedulers.background import BackgroundScheduler

    from modbot.config.policy import load_policy

    (tmp_path / "rules.yaml").write_text(f'schedule: {{sweep_cron: "{cron}"}}\nrules: []\n')
    policy = load_policy(tmp_path / "rules.yaml")
    scheduler = BackgroundScheduler(timezone=UTC)  # never started: only asked when
    Daemon(SimpleNamespace(store=None, dry_run=True), policy)._schedule_sweep(scheduler)
    trigger, at, fired = scheduler.get_job("sweep").trigger, datetime(2025, 1, 1, tzinfo=UTC), []
    for _ in range(count):
        at = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
        fired.append(at.strftime("%a %d %H:%M"))
    return fired


def test_sweep_cron_weekdays_are_cron_s_own(tmp_path):
    # cron counts weekdays from Sunday (0 and 7); APScheduler's from_crontab from Monday
    assert _sweep_times(tmp_path, "0 4 * * 0", 2) == ["Sun 05 04:00", "Sun 12 04:00"]
    assert _sweep_times(tmp_path, "0 4 * * 7", 1) == ["Sun 05 04:00"]
    assert _sweep_times(tmp_path, "0 4 * * 1-5", 6) == [
        "Wed 01 04:00",
        "Thu 02 04:00",
        "Fri 03 04:00",
        "Mon 06 04:00",
        "Tue 07 04:00",
        "Wed 08 04:00",
    ]
    assert _sweep_times(tmp_path, "30 2 * * */3", 3) == [
        "Wed 01 02:30",
        "Sat 04 02:30",
        "Sun 05 02:30",
    ]
    assert _sweep_times(tmp_path, "0 4 * * 5-7,1", 4) == [
        "Fri 03 04:00",
        "Sat 04 04:00",
        "Sun 05 04:00",
        "Mon 06 04:00",
    ]
    assert _sweep_times(tmp_path, "0 4 * * SAT,sun", 2) == ["Sat 04 04:00", "Sun 05 04:00"]
    assert _sweep_times(tmp_path, "0 4 * * *", 2) == ["Wed 01 04:00", "Thu 02 04:00"]


def test_sweep_cron_lines_cron_reads_otherwise_are_refused(tmp_path):
    from modbot.config.policy import load_policy
    from modbot.errors import PolicyError

    for cron, why in [
        ("0 4 * * 8", "unknown weekday '8'"),
        ("0 4 * * fri-mon", "fri-mon"),
        ("0 4 1 * 1", "either"),  # cron: the 1st OR a Monday; APScheduler would AND them
    ]:
        (tmp_path / "rules.yaml").write_text(f'schedule: {{sweep_cron: "{cron}"}}\nrules: []\n')
        try:
            load_policy(tmp_path / "rules.yaml")
        except PolicyError as exc:
            (problem,) = exc.problems
            assert problem.line == 1 and problem.message.startswith(
                f"schedule.sweep_cron: bad cron line '{cron}': "
            ), problem
            assert why in problem.message, problem
        else:
            raise AssertionError(f"{cron!r} was taken")
