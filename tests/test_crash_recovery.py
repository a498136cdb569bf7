"""kill -9 at any moment loses nothing and repeats nothing: real `modbot run --once`
processes SIGKILLed against the fake Lemmy, then restarted."""

from __future__ import annotations

import random
import signal
import time

import pytest
from support.acting import Scenario, fake_lemmy
from support.bot import wait_for

from fakelemmy.state import iso
from modbot.model import post_version
from modbot.store import Store

# Lemmy answers each action after a while: the process is killed with requests in flight.
ACTION_PATHS = [
    ("lemmy", "/api/v3/post/remove"),
    ("lemmy", "/api/v3/user/ban"),
    ("lemmy", "/api/v3/post/report"),
    ("lemmy", "/api/v3/private_message"),
    ("pictrs", "/internal/purge"),
]


@pytest.fixture
def scenario(tmp_path, tiny_checkpoint):
    lemmy = fake_lemmy()
    try:
        yield Scenario(lemmy, tmp_path, tiny_checkpoint)
    finally:
        lemmy.stop()


def kill(child) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)


def sent_ok(s: Scenario, path: str) -> list:
    return [r for r in s.lemmy.requests if r.path == path and r.status == 200]


@pytest.mark.parametrize("took", [True, False], ids=["ban-took-effect", "ban-never-arrived"])
def test_killed_between_the_remove_and_the_ban_the_ban_is_done_once_at_restart(scenario, took):
    """The post is removed (so hidden from post/list), the process is killed while the ban
    is on its way: at restart the ban is looked up (the person read by id) and sent only
    if Lemmy did not do it; the remove is not repeated; the decision says which action
    was done when, none "interrupted"."""
    s = scenario
    rules = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
      report: "known abusive image"
"""
    s.write_rules(rules)
    (post,) = s.add_bad_posts(1)
    s.lemmy.delay("/api/v3/user/ban", 3.0, times=1)
    if not took:  # Lemmy fails it after the delay: the ban never takes effect
        s.lemmy.fail_next("/api/v3/user/ban", status=502)
    child = s.start("run", "--once")
    wait_for(
        lambda: any(r.path == "/api/v3/user/ban" for r in s.lemmy.requests),
        what="the ban on its way",
    )
    kill(child)
    # the report went first (Lemmy takes none on a removed post), then the removal
    assert s.lemmy.post(post.id).removed and len(s.lemmy.reports) == 1
    first = s.decisions()
    assert first == [], "killed before the item was recorded"
    wait_for(lambda: all(r.status is not None for r in s.lemmy.requests), what="Lemmy done")
    assert s.lemmy.person(post.creator_id).banned is took

    again = s.run("run", "--once")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "ended without releasing it" in again.stderr  # the dead process's lock
    assert "stopped while acting on it; carrying on" in again.stderr
    assert s.lemmy.person(post.creator_id).banned and len(s.lemmy.reports) == 1
    assert len(sent_ok(s, "/api/v3/post/remove")) == 1
    assert len(sent_ok(s, "/api/v3/user/ban")) == 1, "the ban took effect once"
    bans = [r for r in s.lemmy.requests if r.path == "/api/v3/user/ban"]
    assert len(bans) == (1 if took else 2)
    assert any(r.path == "/api/v3/user" for r in s.lemmy.requests), "it asked Lemmy"

    (record,) = [r for r in s.decisions() if r["item"]["kind"] == "post"]
    run_id = again.stdout.split()[1]
    assert record["run_id"] != run_id and record["resumed_by"] == run_id
    actions = {a["action"]: a for a in record["actions"]}
    assert {a["status"] for a in actions.values()} == {"done"}, record["actions"]
    assert record["decided_at"] <= actions["report"]["done_at"] <= actions["remove"]["done_at"]
    assert actions["remove"]["done_at"] <= actions["ban"]["done_at"]
    if took:
        assert "Lemmy shows it done" in actions["ban"]["detail"]
    else:
        assert "after modbot restarted" in actions["ban"]["detail"]
    assert "after modbot restarted" not in actions["report"]["detail"]
    # nothing is left half done, and the item counts as looked at
    store = Store(s.state)
    try:
        assert store.journal_entries() == [] and store.claims_left() == []
        shown = s.lemmy.post(post.id)
        marked = post_version(iso(shown.published), shown.thumbnail_url)
        assert store.is_seen("live", "post", post.id, marked)
    finally:
        store.close()


NOTIFY_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      notify_admins: "known abusive image"
"""


@pytest.mark.parametrize("took", [True, False], ids=["message-went", "message-never-arrived"])
def test_killed_while_messaging_the_admins_on_1_0_they_get_one_message(
    tmp_path, tiny_checkpoint, took
):
    """A notice in flight when the bot was killed is looked up among the bot's sent
    messages (1.0 lists them with its private-message notifications; a live run turns
    the bot account's show_bot_accounts on, or Lemmy hides them from it): not sent again
    when it went, sent when it never arrived. Either way the admin has one message and
    the decision says it was done."""
    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast

    path = "/api/v4/private_message"
    with FakeLemmy(
        version="1.0", rate_limit=None, login_rate_limit=None, image_rate_limit=None
    ) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        s = Scenario(lemmy, tmp_path, tiny_checkpoint, rules=NOTIFY_ONLY)
        (post,) = s.add_bad_posts(1)
        lemmy.delay(path, 3.0, times=1)
        if not took:  # Lemmy fails it after the delay: the message never goes
            lemmy.fail_next(path, status=502)
        child = s.start("run", "--once")
        wait_for(lambda: any(r.path == path for r in lemmy.requests), what="the message")
        kill(child)
        wait_for(lambda: all(r.status is not None for r in lemmy.requests), what="Lemmy done")
        assert len(lemmy.private_messages) == (1 if took else 0)

        again = s.run("run", "--once")
        assert again.returncode == 0, again.stderr[-3000:]
        to_admin = [m for m in lemmy.private_messages if m.recipient_id == lemmy.cast.admin.id]
        assert len(to_admin) == 1, "one message, however the first run ended"
        sends = [r for r in lemmy.requests if r.path == path]
        assert [r.status for r in sends] == ([200] if took else [502, 200])
        if took:
            assert "Lemmy shows it done" in again.stderr
        (record,) = [r for r in s.decisions() if r["item"] == {**r["item"], "id": post.id}]
        (notice,) = record["actions"]
        assert notice["action"] == "notify_admins" and notice["status"] == "done", notice


@pytest.mark.slow
@pytest.mark.timeout(600)  # 12 bot processes: about 120 s on a busy 2-core machine
def test_kill_9_at_random_moments_loses_nothing_and_sends_nothing_twice(scenario):
    """Rounds of new known-bad posts, each `run --once` killed at a random moment of its
    work (before, between and during the requests of its actions); after a final clean
    run every action the rule calls for was done exactly once, each decision recorded
    once, and the audit's statuses are what Lemmy shows."""
    s, rng = scenario, random.Random(8)
    for server, path in ACTION_PATHS:
        s.lemmy.delay(path, 0.15, server=server)
    # 0: during the cycle's reads and downloads; k: after the k-th action was sent. Each
    # moment once, in a random order (a round is a bot process, seconds of start-up: 24
    # random draws took twice as long and still missed some of these moments)
    moments = [*range(11), 0]
    rng.shuffle(moments)
    rounds, killed = len(moments), 0
    for k in moments:
        s.add_bad_posts(2)
        before = len(s.lemmy.requests)
        mutations_before = len(s.lemmy.mutating_requests())
        child = s.start("run", "--once", stdout=None, stderr=None)
        try:
            wait_for(
                # (called at once, in this round: the defaults only say so)
                lambda child=child, mutations_before=mutations_before, k=k, before=before: (
                    child.poll() is not None
                    or (
                        len(s.lemmy.mutating_requests()) - mutations_before >= k
                        if k
                        else any(r.path == "/api/v3/post/list" for r in s.lemmy.requests[before:])
                    )
                ),
                timeout=120,
                what="the moment to kill",
            )
            time.sleep(rng.uniform(0, 0.3))
        finally:
            if child.poll() is None:
                killed += 1
            kill(child)
    assert killed >= rounds * 2 // 3, "most runs were killed mid-way"
    for server, path in ACTION_PATHS:
        s.lemmy.delay(path, 0, server=server)
    wait_for(lambda: all(r.status is not None for r in s.lemmy.requests), what="Lemmy done")
    final = s.run("run", "--once")
    assert final.returncode == 0, final.stderr[-3000:]

    # every action the rule calls for, done exactly once; nothing sent twice
    for action in ("remove", "ban", "report", "purge_image"):
        assert s.sent(action) == s.expected(action), action
    assert all(s.messages_about(p) == 1 for p in s.posts), "each post told to the admin once"
    assert all(
        s.lemmy.post(p.id).removed
        and s.lemmy.person(p.creator_id).banned
        and not s.lemmy.image_exists(s.aliases[p.id])
        for p in s.posts
    )

    # every decision recorded once, each action in it done, and when
    records = [r for r in s.decisions() if r["item"]["kind"] == "post"]
    assert sorted(r["item"]["id"] for r in records) == sorted(p.id for p in s.posts)
    for record in records:
        actions = {a["action"]: a for a in record["actions"]}
        assert set(actions) == {"remove", "purge_image", "ban", "report", "notify_admins"}
        assert {a["status"] for a in actions.values()} == {"done"}, record
        assert all(record["decided_at"] <= a["done_at"] for a in actions.values()), record
    store = Store(s.state)
    try:
        assert store.journal_entries() == [] and store.claims_left() == []
    finally:
        store.close()


def test_a_journal_entry_of_a_newer_modbot_is_kept_and_nothing_is_acted_on(scenario):
    """Downgraded with an item in flight: the entry's format is one this modbot cannot
    carry on. It refuses to act (exit 1, saying what to do) and keeps the entry for the
    modbot that wrote it, rather than dropping the item's decision and actions."""
    s = scenario
    (post,) = s.add_bad_posts(1)
    entry = {
        "version": 99,
        "runs": ["newer-run"],
        "item": {"kind": "post", "id": post.id, "updated": ""},
        "records": [{"run_id": "newer-run", "rule": "known abusive image", "plan": {}}],
    }
    store = Store(s.state)
    try:
        store.journal_put(f"post:{post.id}", "newer-run", entry)
    finally:
        store.close()

    done = s.run("run", "--once")
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"post:{post.id}" in done.stderr and "newer modbot" in done.stderr
    assert "upgrade" in done.stderr, done.stderr[-3000:]
    assert not [r for r in s.lemmy.requests if r.method == "POST" and "login" not in r.path]
    store = Store(s.state)
    try:
        assert store.journal_entries() == [(f"post:{post.id}", "newer-run", entry)]
        assert store.decisions() == []
    finally:
        store.close()
