"""A community ban never shortens one the person has already in that community: a
moderator banned them for longer (permanently, say) before modbot saw an older post of
theirs. Lemmy (0.19 and 1.0) keeps one end per person and community, so sending the
rule's shorter ban would replace the moderator's and unban them early."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fakelemmy.scenarios import PASSWORD
from fakelemmy.state import now
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

THREE_DAYS = 3 * 86400


@pytest.fixture
def client_of(fake_lemmy):
    made = []

    def build(username: str, *, read_only: bool = False):
        kind = LemmyClientV4 if fake_lemmy.v4 is not None else LemmyClient
        client = kind(
            fake_lemmy.url,
            username,
            Secret(PASSWORD),
            requests_per_minute=0,
            read_only=read_only,
        )
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def make(fake_lemmy, client_of, tmp_path):
    stores = []

    def build(*, dry_run=False):
        store = Store(tmp_path / "state.sqlite3")
        stores.append(store)
        cast = fake_lemmy.cast
        return Executor(
            client_of("modbot", read_only=dry_run),
            store,
            run_id=f"run{len(stores)}",
            dry_run=dry_run,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )

    yield build
    for store in stores:
        store.close()


def moderator_bans(client_of, person, community, days: int | None) -> None:
    """The community's moderator bans ``person`` there, through Lemmy's API."""
    expires = None if days is None else int(time.time() + days * 86400)
    client_of("mod").ban_community(
        person.id, community.id, "spam", expires=expires, remove_data=False
    )


def ban(seconds: int, *, remove_data: bool = False) -> PlannedAction:
    params = {"scope": "community", "duration_seconds": seconds, "remove_data": remove_data}
    return PlannedAction("ban", "known abusive", params, "r")


def target_of(post, author) -> Target:
    return Target(kind="post", id=post.id, author_id=author.id, community_id=post.community_id)


def bots_bans(lemmy) -> list[dict]:
    path = lemmy.api_path("/api/v3/community/ban_user")
    return [r.json for r in lemmy.requests if r.path == path and r.user == "modbot"]


@pytest.mark.both_lemmys
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_moderators_permanent_community_ban_is_not_replaced_by_a_shorter_one(
    fake_lemmy, make, client_of, dry_run
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    moderator_bans(client_of, cast.alice, cast.pics, None)
    executor = make(dry_run=dry_run)
    (outcome,) = executor.execute(target_of(post, cast.alice), [ban(THREE_DAYS, remove_data=True)])
    assert outcome.status == "skipped", outcome
    assert f"already banned from community {cast.pics.id} permanently" in outcome.detail
    assert "never shortened (so their content is not removed by it)" in outcome.detail
    assert bots_bans(lemmy) == []
    assert lemmy.community_bans[(cast.pics.id, cast.alice.id)].expires is None
    assert not lemmy.post(post.id).removed


@pytest.mark.both_lemmys
def test_a_longer_community_ban_is_kept_and_a_shorter_one_is_lengthened(
    fake_lemmy, make, client_of
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    alice_post = lemmy.add_post(cast.pics, cast.alice)
    bob_post = lemmy.add_post(cast.pics, cast.bob)
    moderator_bans(client_of, cast.bob, cast.pics, 30)
    moderator_bans(client_of, cast.alice, cast.pics, 1)
    executor = make()
    (kept,) = executor.execute(target_of(bob_post, cast.bob), [ban(THREE_DAYS)])
    assert kept.status == "skipped", kept
    assert f"already banned from community {cast.pics.id} until" in kept.detail
    bobs = lemmy.community_bans[(cast.pics.id, cast.bob.id)]
    assert bobs.expires > now() + timedelta(days=29)
    (lengthened,) = executor.execute(target_of(alice_post, cast.alice), [ban(THREE_DAYS)])
    assert lengthened.status == "done", lengthened
    assert [b["person_id"] for b in bots_bans(lemmy)] == [cast.alice.id]
    alices = lemmy.community_bans[(cast.pics.id, cast.alice.id)]
    assert alices.expires.timestamp() >= time.time() + THREE_DAYS - 60


@pytest.mark.both_lemmys
def test_a_ban_in_another_community_or_one_lifted_does_not_hold_this_one_back(
    fake_lemmy, make, client_of
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    moderator_bans(client_of, cast.alice, cast.nsfw, None)  # another community's
    moderator_bans(client_of, cast.bob, cast.pics, None)
    client_of("mod").unban_community(
        cast.bob.id, cast.pics.id, "appeal granted", restore_data=False
    )
    bob_post = lemmy.add_post(cast.pics, cast.bob)
    executor = make()
    outcomes = [
        *executor.execute(target_of(post, cast.alice), [ban(THREE_DAYS)]),
        *executor.execute(target_of(bob_post, cast.bob), [ban(THREE_DAYS)]),
    ]
    assert [o.status for o in outcomes] == ["done", "done"], outcomes
    assert sorted(b["person_id"] for b in bots_bans(lemmy)) == sorted([cast.alice.id, cast.bob.id])
