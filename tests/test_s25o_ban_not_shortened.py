"""A site ban never shortens a ban already there: an admin banned the person for longer
(permanently, say) before modbot saw an older post of theirs. Sending the rule's shorter
ban would replace the admin's (Lemmy keeps one end per person) and unban them early."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fakelemmy.state import now
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

THREE_DAYS = 3 * 86400


@pytest.fixture
def make(fake_lemmy, tmp_path):
    made = []

    def build(*, dry_run=False):
        kind = LemmyClientV4 if fake_lemmy.v4 is not None else LemmyClient
        client = kind(
            fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, read_only=dry_run
        )
        store = Store(tmp_path / "state.sqlite3")
        cast = fake_lemmy.cast
        executor = Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=dry_run,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


def ban(seconds):
    return PlannedAction(
        "ban", "known abusive", {"scope": "site", "duration_seconds": seconds}, "r"
    )


def target_of(post, author):
    return Target(kind="post", id=post.id, author_id=author.id, community_id=post.community_id)


def bans_sent(lemmy):
    return [r.json for r in lemmy.requests if r.path == lemmy.api_path("/api/v3/user/ban")]


@pytest.mark.both_lemmys
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_permanent_ban_an_admin_made_is_not_replaced_by_a_shorter_one(fake_lemmy, make, dry_run):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    alice = lemmy.person(cast.alice.id)
    alice.banned, alice.ban_expires = True, None  # an admin banned her for good
    (outcome,) = make(dry_run=dry_run).execute(target_of(post, cast.alice), [ban(THREE_DAYS)])
    assert outcome.status == "skipped", outcome
    assert "already banned from the site permanently" in outcome.detail
    assert bans_sent(lemmy) == []
    assert alice.banned and alice.ban_expires is None


def test_a_longer_ban_is_kept_and_a_shorter_one_is_lengthened_as_the_rule_says(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bob_post = lemmy.add_post(cast.pics, cast.bob)
    alice_post = lemmy.add_post(cast.pics, cast.alice)
    bob, alice = lemmy.person(cast.bob.id), lemmy.person(cast.alice.id)
    bob.banned, bob.ban_expires = True, now() + timedelta(days=30)
    alice.banned, alice.ban_expires = True, now() + timedelta(hours=1)
    executor = make()
    (kept,) = executor.execute(target_of(bob_post, cast.bob), [ban(THREE_DAYS)])
    assert kept.status == "skipped" and "already banned from the site until" in kept.detail
    assert bob.ban_expires > now() + timedelta(days=29)
    (lengthened,) = executor.execute(target_of(alice_post, cast.alice), [ban(THREE_DAYS)])
    assert lengthened.status == "done", lengthened
    assert [b["person_id"] for b in bans_sent(lemmy)] == [cast.alice.id]
    assert alice.ban_expires.timestamp() >= time.time() + THREE_DAYS - 60
