"""kill -9 of a live `modbot sweep` while it acts loses nothing and repeats nothing.

The kill tests of tests/test_crash_recovery.py kill `run --once`; a sweep walks the
backlog from a position of its own (moved only once the batches before it are
recorded) and carries on the journal at its start as a run does. Here a real sweep is
killed twice while its actions are in flight (Lemmy answering slowly), then run to the
end: every action is sent once, every post decided once, the walk resumed and done."""

from __future__ import annotations

import signal

import pytest
from support.acting import RULES, Scenario, fake_lemmy
from support.bot import wait_for

from modbot.store import Store

# Without notify_admins: an item waiting for the admins' message is recorded (marked
# seen) only once it goes, and the walk's removed-posts phase decides it again meanwhile
# (a defect of its own, reported to pipeline.py's owner); the moments here are the
# actions' and the walk's position's.
ACTING = RULES.replace('      notify_admins: "known abusive image"\n', "")
assert ACTING != RULES

SLOW = [
    ("lemmy", "/api/v3/post/remove"),
    ("lemmy", "/api/v3/user/ban"),
    ("lemmy", "/api/v3/post/report"),
    ("pictrs", "/internal/purge"),
]


@pytest.mark.slow
def test_a_sweep_killed_while_acting_resumes_and_acts_once(tmp_path, tiny_checkpoint):
    lemmy = fake_lemmy()
    try:
        s = Scenario(lemmy, tmp_path, tiny_checkpoint, rules=ACTING)
        s.add_bad_posts(8)
        for server, path in SLOW:
            lemmy.delay(path, 0.2, server=server)
        for k in (3, 9):  # after the 3rd changing request, then the 9th (the next run's)
            before = len(lemmy.mutating_requests())
            child = s.start("sweep", "--all", stdout=None, stderr=None)
            wait_for(
                lambda before=before, k=k, child=child: (
                    child.poll() is not None or len(lemmy.mutating_requests()) - before >= k
                ),
                what="the sweep acting",
            )
            assert child.poll() is None, "the sweep ended before it was killed"
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
        for server, path in SLOW:
            lemmy.delay(path, 0, server=server)
        wait_for(lambda: all(r.status is not None for r in lemmy.requests), what="Lemmy done")
        final = s.run("sweep", "--all")
        assert final.returncode == 0, final.stderr[-3000:]
        assert " (live) done: " in final.stdout, final.stdout
        assert "resuming the interrupted sweep" in final.stderr
    finally:
        lemmy.stop()

    for action in ("remove", "ban", "report", "purge_image"):
        assert s.sent(action) == s.expected(action), action
    bad = {p.id for p in s.posts}
    records = [r for r in s.decisions() if r["item"]["kind"] == "post" and r["item"]["id"] in bad]
    assert sorted(r["item"]["id"] for r in records) == sorted(bad)
    for record in records:
        assert {a["status"] for a in record["actions"]} == {"done"}, record
    store = Store(s.state)
    try:
        assert store.journal_entries() == [] and store.claims_left() == []
    finally:
        store.close()
