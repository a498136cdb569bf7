"""Lemmy purges a post's comments with the post (0.19 and 1.0: the comments' rows go with
it). A rule's `purge_item` of a post an admin had commented under ("reported, looking at
it") purged the admin's comment too, and the record said only "purge post N": modbot
acted on an admin. Now the post's comments are read first, and when one is an admin's the
purge is skipped, saying which and why; the rule's other actions (the removal, the ban)
go on. A post with no admin's comment is purged as before, its record saying how many
comments went with it."""

from __future__ import annotations

import pytest
from support.bot import Bot, sha

from fakelemmy import FakeLemmy, hostile
from fakelemmy.scenarios import standard_cast
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import Store

RULES = """
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: known abusive image
    priority: 100
    if: {{hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_item: true
      ban: {{scope: site, duration: permanent, reason: "known abusive image"}}
"""


@pytest.mark.parametrize("admin_commented", [True, False])
def test_a_post_an_admin_commented_under_is_not_purged(
    fake_lemmy, tmp_path, tiny_checkpoint, admin_commented
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = hostile.jpeg(color=(205, 21, 94))
    (tmp_path / "known-bad.txt").write_text(f"{sha(bad)}\n")
    (tmp_path / "rules.yaml").write_text(RULES.format(checkpoint=tiny_checkpoint))
    upload = lemmy.add_upload(cast.alice, bad)
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=upload.url)
    lemmy.add_comment(post, cast.bob, content="what is this")
    if admin_commented:
        theirs = lemmy.add_comment(post, cast.admin, content="reported, looking at it")
    bot = Bot(lemmy, tmp_path, tmp_path / "rules.yaml")
    bot("run", "--once")

    purged = [r for r in lemmy.mutating_requests() if r.path == "/api/v3/admin/purge/post"]
    assert bool(purged) is not admin_commented
    assert lemmy.post(post.id).removed and lemmy.person(cast.alice.id).banned
    (record,) = [d for d in bot.decisions() if d["item"]["kind"] == "post"]
    (purge,) = [a for a in record["actions"] if a["action"] == "purge_item"]
    if admin_commented:
        assert not lemmy.comment(theirs.id).purged
        assert purge["status"] == "skipped"
        assert f"comment {theirs.id}" in purge["detail"] and "an admin's" in purge["detail"]
        assert "never acted on" in purge["detail"]
    else:
        assert purge["status"] == "done"
        # what went with it, said
        assert purge["detail"] == f"purge post {post.id} with its 1 comment (Lemmy purges them too)"


def _purge_outcome(lemmy, tmp_path, post) -> object:
    """The executor's purge_item of ``post``, live, in-process."""
    cast = lemmy.cast
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(
            client,
            store,
            run_id="r1",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        target = Target(kind="post", id=post.id, author_id=cast.alice.id)
        (outcome,) = executor.execute(target, [PlannedAction("purge_item", "why", {}, "a rule")])
        return outcome
    finally:
        client.close()
        store.close()


def test_an_admins_comment_on_a_later_page_is_found(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="busy")
    theirs = lemmy.add_comment(post, cast.admin, content="looking at it")
    for n in range(60):  # newer: the admin's is on the second page
        lemmy.add_comment(post, cast.bob, content=f"comment {n}")
    outcome = _purge_outcome(lemmy, tmp_path, post)
    assert outcome.status == "skipped" and f"comment {theirs.id} is an admin's" in outcome.detail
    assert not lemmy.post(post.id).purged


def test_more_comments_than_lemmy_lists_leave_the_post_unpurged(tmp_path):
    """0.19.14 serves 10 pages: the comments past them could hold an admin's."""
    with FakeLemmy(version="0.19.14") as lemmy:
        lemmy.cast = cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="very busy")
        for n in range(501):
            lemmy.add_comment(post, cast.bob, content=f"comment {n}")
        outcome = _purge_outcome(lemmy, tmp_path, post)
        assert outcome.status == "skipped", outcome
        assert "more than modbot can read (10 pages)" in outcome.detail
        assert not lemmy.post(post.id).purged
