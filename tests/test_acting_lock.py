"""One acting process per state file: real `modbot` processes started together on one
state against the fake Lemmy, counting every request that changes something."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from support.acting import Scenario, fake_lemmy
from support.bot import wait_for


@pytest.fixture
def scenario(tmp_path, tiny_checkpoint):
    lemmy = fake_lemmy()
    try:
        yield Scenario(lemmy, tmp_path, tiny_checkpoint)
    finally:
        lemmy.stop()


def assert_each_action_sent_once(s: Scenario) -> None:
    for action in ("remove", "ban", "report", "purge_image"):
        assert s.sent(action) == s.expected(action), action
    assert all(s.messages_about(p) == 1 for p in s.posts), "each post told to the admin once"


@pytest.mark.slow
def test_two_runs_at_once_act_once_the_second_names_the_first(scenario):
    """Three `run --once` started together on one state (a cron job overlapping another,
    two containers): one acts; one without --wait exits at once (75) naming the holder;
    the one with --wait runs after it and finds nothing left to do."""
    s = scenario
    s.add_bad_posts(30)
    s.lemmy.delay("/api/v3/post/remove", 0.05)  # the first is still acting when the others try
    plain = [s.start("run", "--once") for _ in range(2)]
    waiting = s.start("run", "--once", "--wait", "10m")
    outs = [p.communicate(timeout=300) for p in plain]
    codes = sorted(p.returncode for p in plain)
    _wait_out, wait_err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, wait_err[-3000:]
    assert 75 in codes and set(codes) <= {0, 75}, (codes, [e[-2000:] for _, e in outs])
    refused = next(err for p, (_, err) in zip(plain, outs) if p.returncode == 75)
    assert "another modbot process is acting on the state file " + str(s.state) in refused
    assert "pid " in refused and " on host " in refused and " since 20" in refused
    assert "--wait" in refused and "Traceback" not in refused
    if 0 in codes:  # the --wait one came second: it waited, saying for whom
        assert "waiting for the other modbot process acting on" in wait_err
    assert_each_action_sent_once(s)
    assert all(s.lemmy.post(p.id).removed for p in s.posts)


def test_claims_are_atomic_across_processes_and_the_valve_counts_them_all(tmp_path):
    """Below the lock: two processes claiming the same actions at once (as two modbots
    on a state the lock cannot guard would) never both get one, and the valve's limit
    holds for the two together."""
    state = tmp_path / "state.sqlite3"
    code = textwrap.dedent(f"""
        import sys, time
        from modbot.store import Store
        store = Store({str(state)!r})
        start = float(sys.argv[2])
        while time.time() < start:
            pass
        got = []
        for i in range(60):
            claim = store.claim_action("remove", f"post:{{i}}", sys.argv[1], "remove",
                                       valve_limit=20, valve_since=0.0, valve_reason="limit")
            if claim.outcome == "claimed":
                got.append(i)
                store.record_action("remove", f"post:{{i}}", "done", "remove", sys.argv[1])
        print(",".join(map(str, got)))
    """)
    start = time.time() + 2.0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"run{n}", repr(start)], stdout=subprocess.PIPE, text=True
        )
        for n in range(2)
    ]
    claimed = [child.communicate(timeout=60)[0].strip() for child in children]
    assert all(child.returncode == 0 for child in children)
    ids = [int(i) for text in claimed for i in text.split(",") if i]
    assert len(ids) == len(set(ids)) == 20, claimed
    from modbot.store import Store

    store = Store(state)
    try:
        assert store.valve_tripped()["reason"] == "limit"
    finally:
        store.close()


@pytest.mark.slow
def test_a_dry_run_beside_the_daemon_neither_acts_nor_waits_nor_disturbs_it(
    tmp_path, tiny_checkpoint
):
    """While the live daemon is acting (a ban in flight, its item's journal entry
    written), a `modbot report` and a dry-run daemon run on the same state: they are not
    blocked, send nothing, do not record the daemon's item in hand (as theirs or as
    interrupted), and the dry-run daemon's heartbeat never stands in for the live one's."""
    lemmy = fake_lemmy()
    s = Scenario(lemmy, tmp_path, tiny_checkpoint, timeout="300s")  # a ban held in flight
    daemon = None
    try:
        s.list_bad(6)
        first = s.add_bad_posts(1)
        log = (s.directory / "daemon.log").open("w")
        daemon = s.start("run", stdout=subprocess.DEVNULL, stderr=log)
        wait_for(lambda: s.run("healthcheck").returncode == 0, what="the first cycle")
        lemmy.hold("/api/v3/user/ban")
        posts = first + s.add_bad_posts(5)
        wait_for(lambda: sum(s.sent("ban").values()) == 2, what="the next ban in flight")
        report = s.start("report", "--since", "7d", "--out", "report.json")
        dry_daemon = s.start("run", "--dry-run", stdout=subprocess.DEVNULL)
        _, err = report.communicate(timeout=180)
        assert report.returncode == 0, err[-3000:]
        dry_log = []
        for line in dry_daemon.stderr:  # its first cycle, then SIGTERM
            dry_log.append(line)
            if " cycle 1: " in line:
                break
        dry_daemon.send_signal(signal.SIGTERM)
        dry_log.append(dry_daemon.communicate(timeout=60)[1])
        assert dry_daemon.returncode == 0, "".join(dry_log)[-3000:]
        health = s.run("healthcheck", "--max-age", "1h")
        assert health.returncode == 0, health.stderr  # not "the daemon stopped at ..."
        assert sum(s.sent("ban").values()) == 2, "the daemon's ban is still in flight"
        lemmy.release("/api/v3/user/ban")
        wait_for(
            lambda: all(lemmy.person(p.creator_id).banned for p in posts), what="the daemon's bans"
        )
        wait_for(
            lambda: any(
                r["item"]["id"] == posts[-1].id and not r["dry_run"] for r in s.decisions()
            ),
            what="the last decision",
        )
    finally:
        lemmy.release("/api/v3/user/ban")
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            log.close()
        lemmy.stop()
    assert daemon.returncode == 0, (s.directory / "daemon.log").read_text()[-3000:]
    assert_each_action_sent_once(s)
    live = [r for r in s.decisions() if not r["dry_run"]]
    # one decision per post, each action done by the daemon (before, a dry run recorded
    # the daemon's item in hand a second time, as "interrupted")
    assert sorted(r["item"]["id"] for r in live if r["item"]["kind"] == "post") == sorted(
        p.id for p in posts
    )
    assert {a["status"] for r in live for a in r["actions"]} <= {"done", "skipped"}
    assert len({r["run_id"] for r in live}) == 1
    dry = [r for r in s.decisions() if r["dry_run"]]
    assert dry and {a["status"] for r in dry for a in r["actions"]} <= {"planned", "skipped"}
    from modbot.store import Store

    store = Store(s.state)
    try:
        beat = json.loads(store.get_cursor("daemon:heartbeat"))
        assert beat["dry_run"] is False and beat["run_id"] == live[0]["run_id"]
        assert json.loads(store.get_cursor("dry-run:daemon:heartbeat"))["dry_run"] is True
    finally:
        store.close()


def test_the_lock_holds_when_the_state_is_named_through_a_symlink(tmp_path):
    """One state file named two ways (a symlink in a compose file, the real path in a
    cron job) is one state: the second acting process is refused, naming the first, as
    for the same path."""
    from modbot.errors import StateLocked
    from modbot.statelock import StateLock

    real = tmp_path / "data" / "modbot.sqlite3"
    real.parent.mkdir()
    real.touch()
    link = tmp_path / "state.sqlite3"
    link.symlink_to(real)
    with StateLock(real, command="modbot run"):
        with pytest.raises(StateLocked) as refused:
            StateLock(link).acquire()
        message = str(refused.value)
        assert "another modbot process is acting on the state file " + str(link) in message
        assert f"pid {os.getpid()} on host " in message and "(modbot run)" in message
    with StateLock(link), pytest.raises(StateLocked):  # and the other way round
        StateLock(real).acquire()


def test_one_undo_at_a_time_also_through_a_symlink(tmp_path):
    """`modbot undo` runs one at a time per state, whichever name the state is given."""
    from modbot.errors import StateLocked
    from modbot.store import Store
    from modbot.undo import undo_lock

    real = tmp_path / "data" / "modbot.sqlite3"
    real.parent.mkdir()
    link = tmp_path / "state.sqlite3"
    link.symlink_to(real)
    by_real, by_link = Store(real), Store(link)
    try:
        with undo_lock(by_real), pytest.raises(StateLocked):
            undo_lock(by_link).acquire()
    finally:
        by_real.close()
        by_link.close()
