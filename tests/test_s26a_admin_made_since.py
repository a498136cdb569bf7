"""Never act on an admin, also one made admin since modbot last read the site's admin
list (it is read again every few minutes): right before it removes, purges or bans,
modbot reads the list afresh. Before, a person made admin in that window was banned as
the uploader of an image someone else posted, and their post removed and banned for."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

UPLOADER_BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, uploader: true, reason: "known abusive"}
"""


def bans_of(lemmy, person_id: int) -> list[dict]:
    path = lemmy.api_path("/api/v3/user/ban")
    return [r.json for r in lemmy.requests if r.path == path and r.json["person_id"] == person_id]


def actions_of(pipeline, post) -> dict[str, dict]:
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    return {a["action"]: a for a in record["actions"]}


@pytest.mark.both_lemmys
def test_an_uploader_made_admin_since_the_list_was_read_is_not_banned(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=UPLOADER_BAN)
    pipeline.poll_once(deep=True)  # the admins read: carol is none
    upload = lemmy.add_upload(carol, photos[BAD])
    lemmy.person(carol.id).admin = True  # an admin makes her one (a minute later, say)
    post = lemmy.add_post(cast.pics, cast.alice, name="look", url=upload.url)
    pipeline.poll_once(deep=True)  # within the session's check interval
    assert bans_of(lemmy, carol.id) == [], "no ban is sent for an admin"
    assert not lemmy.person(carol.id).banned
    ban = actions_of(pipeline, post)["ban"]
    assert "the uploader is an admin: never acted on" in ban["detail"], ban
    # the poster, no admin, is banned as the rule says
    assert lemmy.person(cast.alice.id).banned and lemmy.post(post.id).removed


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
            # the admins as the session read them, before alice was made one
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


PLAN = [
    PlannedAction("remove", "known abusive", {}, "r"),
    PlannedAction("ban", "known abusive", {"scope": "site", "duration_seconds": None}, "r"),
]


@pytest.mark.both_lemmys
@pytest.mark.parametrize("dry_run", [False, True])
def test_an_author_made_admin_after_their_post_was_read_is_not_acted_on(fake_lemmy, make, dry_run):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    # the post was read while alice was no admin (its creator_is_admin false) ...
    target = Target(kind="post", id=post.id, author_id=cast.alice.id, community_id=cast.pics.id)
    executor = make(dry_run=dry_run)
    lemmy.person(cast.alice.id).admin = True  # ... and she is one now
    outcomes = executor.execute(target, PLAN)
    assert [(o.action, o.status) for o in outcomes] == [
        ("remove", "skipped"),
        ("ban", "skipped"),
    ], outcomes
    assert all("is an admin" in o.detail for o in outcomes), outcomes
    assert lemmy.mutating_requests() == []
    assert not lemmy.post(post.id).removed and not lemmy.person(cast.alice.id).banned


@pytest.mark.both_lemmys
def test_no_admin_list_right_before_acting_sends_nothing_and_tries_again(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, author_id=cast.alice.id, community_id=cast.pics.id)
    executor = make()
    executor.client.retries = 0  # Lemmy down: the proxy's 503, given up on at once
    lemmy.fail_next(lemmy.api_path("/api/v3/site"), status=503)
    outcomes = executor.execute(target, PLAN)
    assert [(o.action, o.status, o.retry) for o in outcomes] == [
        ("remove", "failed", True),
        ("ban", "failed", True),
    ], outcomes
    assert "could not read the instance's admins" in outcomes[0].detail
    assert lemmy.mutating_requests() == []
    # Lemmy answers again: the next cycle acts
    outcomes = executor.execute(target, PLAN)
    assert [(o.action, o.status) for o in outcomes] == [("remove", "done"), ("ban", "done")]
    assert lemmy.post(post.id).removed and lemmy.person(cast.alice.id).banned
