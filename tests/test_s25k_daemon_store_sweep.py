"""The daemon walks pict-rs' whole store on `schedule.store_sweep_cron`, as `modbot sweep
--store` does: a running instance holds the state's lock, so a store sweep by hand
exits 75, and only the daemon can reach the files no Lemmy listing shows (uploads never
posted, of deleted accounts, older than the media list) without being stopped. Its
request is in the state file (as the cron job writes it); it runs in slices between
polls, after the backlog sweep requested before it, never beside it."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from support.bot import Bot, Lines, sha, stop_daemon, wait_for
from support.policies import BAD, backlog, bad_image, write_sweep_rules

from fakelemmy.state import now
from modbot.config.policy import load_policy
from modbot.modes.daemon import (
    STORE_SWEEP_REQUEST_CURSOR,
    SWEEP_REQUEST_CURSOR,
    Daemon,
    daemon_cursor,
)
from modbot.store import Store, utc_iso


def request(state, cursor: str, *, dry_run: bool, at: datetime, **extra) -> None:
    """As if the daemon's cron job had fired at ``at``."""
    store = Store(state)
    try:
        value = json.dumps({"requested_at": utc_iso(at), **extra})
        store.set_cursor(daemon_cursor(cursor, dry_run), value)
    finally:
        store.close()


def cursor(state, name: str) -> str | None:
    store = Store(state)
    try:
        return store.get_cursor(name)
    finally:
        store.close()


def file_decisions(bot: Bot) -> dict[str, dict]:
    return {d["image"]["sha256"]: d for d in bot.decisions() if d["item"]["kind"] == "file"}


def statuses(decision: dict) -> dict[str, str]:
    return {a["action"]: a["status"] for a in decision["actions"]}


def store_scene(lemmy, photos):
    """Files only a walk of the store reaches: alice's upload never posted, older than
    the poll's lookback and the backlog sweep's window; bob's upload of a deleted
    account (Lemmy lists it no more); and an admin's old upload of a flagged image."""
    cast, old = lemmy.cast, now() - timedelta(days=60)
    alices = lemmy.add_upload(cast.alice, bad_image(1), published=old)
    ghost = lemmy.add_upload(cast.bob, bad_image(2))
    ghost.listed = False
    admins = lemmy.add_upload(cast.admin, photos[BAD], published=old)
    flagged = [sha(bad_image(1)), sha(bad_image(2)), sha(photos[BAD])]
    return alices, ghost, admins, flagged


def test_the_live_daemon_purges_a_never_posted_upload_from_the_store_and_runs_on(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    alices, ghost, admins, flagged = store_scene(lemmy, photos)
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=flagged, poll_every="1s")
    bot = Bot(lemmy, tmp_path, rules)
    request(bot.state, STORE_SWEEP_REQUEST_CURSOR, dry_run=False, at=datetime.now(UTC))

    daemon = bot.start("run")
    err = Lines(daemon.stderr)
    try:
        wait_for(lambda: err.count("store sweep finished") == 1, timeout=180, what="the walk")
        cycles = err.count(" cycle ")
        wait_for(lambda: err.count(" cycle ") > cycles, what="a poll after the walk")
        assert daemon.poll() is None, "the daemon walked the store without stopping"
        by_hand = bot("sweep", "--store", rc=75)  # the daemon holds the state's lock
        assert "another" in (by_hand.stderr + by_hand.stdout).lower()
    finally:
        stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    log = err.text()
    assert "store sweep '0 5 * * 0' UTC" in log  # the default, said at start

    assert not lemmy.image_exists(alices.alias) and not lemmy.image_exists(ghost.alias)
    purged = [r.query.get("alias") for r in lemmy.requests if r.path == "/internal/purge"]
    assert sorted(purged) == sorted([alices.alias, ghost.alias])  # each once
    decided = file_decisions(bot)
    assert statuses(decided[flagged[0]])["purge_image"] == "done"
    assert statuses(decided[flagged[0]])["ban"] == "done" and lemmy.person(cast.alice.id).banned
    assert decided[flagged[0]]["rule"] == "known abusive image"
    assert statuses(decided[flagged[1]])["purge_image"] == "done"
    # the admin's upload: decided, recorded, spared
    assert lemmy.image_exists(admins.alias)
    assert decided[flagged[2]]["exempt"] == "the author is an admin"
    assert not any(a["status"] == "done" for a in decided[flagged[2]]["actions"])
    assert cursor(bot.state, STORE_SWEEP_REQUEST_CURSOR) is None  # the walk is over
    assert cursor(bot.state, "live:store_sweep") is None


def test_a_dry_run_daemon_walks_the_store_after_the_backlog_and_changes_nothing(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy = fake_lemmy
    alices, ghost, admins, flagged = store_scene(lemmy, photos)
    old = backlog(lemmy, photos, posts=6, days_old=3)
    rules = write_sweep_rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        known_bad=[*flagged, *old["bad_hashes"]],
        poll_every="1s",
    )
    bot = Bot(lemmy, tmp_path, rules)
    # the backlog sweep was asked for first: it runs to its end, then the store's
    first = datetime.now(UTC) - timedelta(minutes=2)
    since = utc_iso(now() - timedelta(days=30))
    request(bot.state, SWEEP_REQUEST_CURSOR, dry_run=True, at=first, since=since)
    request(bot.state, STORE_SWEEP_REQUEST_CURSOR, dry_run=True, at=first + timedelta(minutes=1))

    daemon = bot.start("run", "--dry-run")
    err = Lines(daemon.stderr)
    try:
        wait_for(lambda: err.count("store sweep finished") == 1, timeout=180, what="the walk")
    finally:
        stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    assert lemmy.mutating_requests() == [], "a dry run changes nothing"

    lines = [line for line in err.text().splitlines() if " cycle " in line]
    backlog_done = next(i for i, line in enumerate(lines) if "| sweep finished" in line)
    store_slices = [i for i, line in enumerate(lines) if "| store sweep" in line]
    assert store_slices and min(store_slices) > backlog_done, lines  # one after the other
    decided = file_decisions(bot)
    for bad in flagged[:2]:
        assert statuses(decided[bad])["purge_image"] == "planned"
    assert decided[flagged[2]]["exempt"] == "the author is an admin"
    assert all(d["dry_run"] for d in decided.values())
    assert all(lemmy.image_exists(u.alias) for u in (alices, ghost, admins))
    # the dry run's request and position are its own: the live daemon's walk is untouched
    assert cursor(bot.state, daemon_cursor(STORE_SWEEP_REQUEST_CURSOR, True)) is None
    assert cursor(bot.state, STORE_SWEEP_REQUEST_CURSOR) is None


def test_without_pictrs_access_the_daemon_says_the_store_sweep_is_off(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy = fake_lemmy
    _alices, ghost, _admins, flagged = store_scene(lemmy, photos)
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=flagged, poll_every="1s")
    bot = Bot(lemmy, tmp_path, rules, pictrs=False)
    # a request left from a run with pict-rs access: kept, not walked
    request(bot.state, STORE_SWEEP_REQUEST_CURSOR, dry_run=False, at=datetime.now(UTC))

    daemon = bot.start("run")
    err = Lines(daemon.stderr)
    try:
        wait_for(lambda: err.count(" cycle ") >= 3, what="three cycles")
    finally:
        stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    log = err.text()
    off = [line for line in log.splitlines() if "store sweep off" in line]
    assert len(off) == 1, log[-3000:]  # once, at start, and why
    assert "set PICTRS_URL and PICTRS_API_KEY" in off[0] and " INFO " in off[0]
    assert "ERROR" not in log and "Traceback" not in log
    assert not any(r.path.startswith("/internal/") for r in lemmy.requests)
    assert lemmy.image_exists(ghost.alias) and file_decisions(bot) == {}
    assert cursor(bot.state, STORE_SWEEP_REQUEST_CURSOR) is not None


def test_a_daemon_killed_mid_walk_carries_on_with_it_after_a_restart(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    old = now() - timedelta(days=60)
    files = [lemmy.add_upload(cast.alice, bad_image(10 + i), published=old) for i in range(5)]
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
    bot = Bot(lemmy, tmp_path, rules)
    request(bot.state, STORE_SWEEP_REQUEST_CURSOR, dry_run=False, at=datetime.now(UTC))
    held = f"/pictrs/image/{files[2].alias}"
    lemmy.hold(held)
    first = bot.start("run")
    try:
        wait_for(
            lambda: any(r.path == held for r in lemmy.requests) and len(file_decisions(bot)) >= 4,
            timeout=180,
            what="the walk under way",
        )
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        lemmy.release(held)
    before = {d["image"]["alias"] for d in file_decisions(bot).values()}
    assert files[2].alias not in before
    assert cursor(bot.state, STORE_SWEEP_REQUEST_CURSOR) is not None  # still asked for
    assert cursor(bot.state, "live:store_sweep") is not None  # and where it was

    lemmy.clear_requests()
    again = bot.start("run")
    err = Lines(again.stderr)
    try:
        wait_for(lambda: err.count("store sweep finished") == 1, timeout=180, what="the walk")
    finally:
        stop_daemon(again, err)
    assert "resuming the interrupted store sweep" in err.text()
    decided = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    assert sorted(d["image"]["alias"] for d in decided) == sorted(f.alias for f in files)
    fetched = {r.path.rsplit("/", 1)[-1] for r in lemmy.requests if r.path.startswith("/pictrs/")}
    assert fetched == {files[2].alias}  # what the killed daemon finished is not done again
    assert cursor(bot.state, STORE_SWEEP_REQUEST_CURSOR) is None


def _fires(tmp_path, schedule: str, pictrs: bool) -> dict[str, str]:
    """When each of the daemon's sweep jobs first fires after Wednesday 2025-01-01."""
    from apscheduler.schedulers.background import BackgroundScheduler

    (tmp_path / "rules.yaml").write_text(f"schedule: {{{schedule}}}\nrules: []\n")
    policy = load_policy(tmp_path / "rules.yaml")
    settings = SimpleNamespace(can_purge_by_alias=pictrs)
    pipeline = SimpleNamespace(store=None, dry_run=False, settings=settings)
    scheduler = BackgroundScheduler(timezone=UTC)  # never started: only asked when
    Daemon(pipeline, policy)._schedule_sweep(scheduler)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return {
        job.id: job.trigger.get_next_fire_time(None, at).strftime("%a %d %H:%M")
        for job in scheduler.get_jobs()
    }


def test_the_store_sweep_is_requested_weekly_by_default_and_off_without_pictrs(tmp_path):
    assert _fires(tmp_path, "", pictrs=True) == {
        "sweep": "Wed 01 04:00",
        "store_sweep": "Sun 05 05:00",
    }
    assert _fires(tmp_path, 'store_sweep_cron: "30 1 * * 3"', pictrs=True)["store_sweep"] == (
        "Wed 01 01:30"
    )
    assert _fires(tmp_path, "", pictrs=False) == {"sweep": "Wed 01 04:00"}
    assert _fires(tmp_path, "store_sweep_cron: off", pictrs=True) == {"sweep": "Wed 01 04:00"}
