"""A site ban with `remove_data` removes every community the banned person is the first
(top) moderator of, with everyone else's posts in it (Lemmy 0.19.6+ and 1.0). modbot
sends the ban as the rule says, and says so: the ban's record names those communities,
read before the ban is sent, and the admins are told once per person; a dry run plans it
as "would remove", reading only."""

import pytest
from support.bot import sha
from support.policies import BAD

BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: true, reason: "known abusive"}
"""


def ban_of(pipeline, post):
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
    return ban


def messages_to_admin(lemmy):
    return [m.content for m in lemmy.private_messages if m.recipient_id == lemmy.cast.admin.id]


def leading(lemmy):
    """alice leads "alices" (a post of the admin's in it), is second in "mods"."""
    cast = lemmy.cast
    led = lemmy.add_community("alices", moderators=[cast.alice.id, cast.mod.id])
    lemmy.add_post(led, cast.admin, name="everyone's post")
    second = lemmy.add_community("mods", moderators=[cast.mod.id, cast.alice.id])
    return led, second


@pytest.mark.both_lemmys
def test_the_ban_names_the_communities_it_removes_and_the_admins_are_told_once(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    led, second = leading(lemmy)
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    again = lemmy.add_post(cast.nsfw, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    (ban,) = [b for b in (ban_of(pipeline, post), ban_of(pipeline, again)) if b["status"] == "done"]
    detail = ban["detail"]
    assert "/c/alices`" in detail and "first moderator" in detail, detail
    assert "/c/mods" not in detail
    assert lemmy.community(led.id).removed  # what Lemmy did, as the record says
    assert not lemmy.community(second.id).removed
    (told,) = [m for m in messages_to_admin(lemmy) if "first moderator" in m]
    assert "/c/alices`" in told and "remove_data" in told and "/c/mods" not in told
    assert "](" not in told, told  # names, never a link


@pytest.mark.both_lemmys
def test_a_dry_run_plans_it_as_would_remove_and_changes_nothing(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    led, _ = leading(lemmy)
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN, dry_run=True)
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert ban["status"] == "planned"
    assert "would also remove" in ban["detail"] and "/c/alices`" in ban["detail"], ban["detail"]
    assert lemmy.mutating_requests() == []
    assert not lemmy.community(led.id).removed


@pytest.mark.both_lemmys
def test_a_ban_without_remove_data_or_of_no_leader_says_nothing_of_communities(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_community("mods", moderators=[cast.mod.id, cast.alice.id])  # not the first
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert ban["status"] == "done" and ban["detail"].endswith("removing their content")
    assert not [m for m in messages_to_admin(lemmy) if "communit" in m]


def test_a_community_name_is_escaped_in_the_admins_message(fake_lemmy, photos, tiny, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    evil = lemmy.add_community(
        "evil", moderators=[cast.bob.id], local=False, instance="remote.example"
    )
    evil.name = "evil](http://x.example/)"  # a remote community's name: Lemmy's checks are not here
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.bob, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    (told,) = [m for m in messages_to_admin(lemmy) if "first moderator" in m]
    assert f"`https://remote.example/c/{evil.name}`" in told, told  # a code span: inert


@pytest.mark.both_lemmys
def test_when_lemmy_does_not_say_which_the_record_says_so_and_the_ban_goes(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    led, _ = leading(lemmy)
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    lemmy.fail_next(lemmy.api_path("/api/v3/community"), times=1, status=404, error="not_found")
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert ban["status"] == "done", ban  # the rule asked for it: sent as it says
    assert "every community they are the first moderator of" in ban["detail"]
    assert "could not read which" in ban["detail"]
    assert lemmy.community(led.id).removed


def test_at_most_max_moderated_communities_are_read_and_the_rest_counted():
    from modbot.lemmy.api import MAX_MODERATED, communities_led
    from modbot.model import Community

    n = MAX_MODERATED + 5
    moderates = [{"community": {"id": i}, "moderator": {"id": 7}} for i in range(n)]
    moderates += [None, {"community": {"id": "x"}}, {"community": {"id": 99, "removed": True}}]
    read = []

    def moderators_of(community_id):
        read.append(community_id)
        first = 7 if community_id % 2 else 8  # she leads the odd ones
        return [{"community": {"id": community_id}, "moderator": {"id": first}}]

    led = communities_led(7, moderates, moderators_of, lambda own: Community(id=own["id"]))
    assert read == list(range(MAX_MODERATED))  # a removed one is not read, nor a malformed one
    assert [c.id for c in led.communities] == list(range(1, MAX_MODERATED, 2))
    assert led.unread == 5
