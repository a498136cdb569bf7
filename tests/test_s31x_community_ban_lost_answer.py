"""A community ban whose answer was lost (a proxy's page after Lemmy banned them) is
asked about before it is sent again: the item says whether its author is banned from its
community, but not whether anyone else is (the uploader of its image, `ban: {uploader:
true}`), so the uploader's ban was sent a second time, a second modlog line (and a later
end) for one action. Now the community's modlog says: its newest line on the person is
modbot's ban with the end modbot sent."""

import time

import pytest
from support.bot import sha
from support.policies import BAD

BAN = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: community, duration: 7d, uploader: true, reason: "known abusive"}
"""


def ban_of(pipeline, post):
    """The ban of the post's last decision."""
    *_, record = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
    return ban


@pytest.mark.both_lemmys
def test_the_uploaders_community_ban_is_not_sent_twice_after_a_lost_answer(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.bob, name="look", url=upload.url)
    path = lemmy.api_path("/api/v3/community/ban_user")
    seen = []

    def lose_the_uploaders(body):
        seen.append(body)
        return "<html>502 Bad Gateway</html>" if len(seen) == 2 else body

    lemmy.tamper(path, lose_the_uploaders)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    lemmy.tamper(path, None)
    assert (cast.pics.id, cast.alice.id) in lemmy.community_bans  # Lemmy did ban her
    assert ban_of(pipeline, post)["status"] == "failed"

    # the item is looked at again, ten minutes later: a new ban would end later
    pipeline.executor.clock = lambda: time.time() + 600
    pipeline.poll_once(deep=True)
    bans = [r for r in lemmy.requests if r.path == path and r.method == "POST"]
    who = [r.json["person_id"] for r in bans]
    assert who.count(cast.bob.id) == 1, who
    assert who.count(cast.alice.id) == 1, f"the uploader's ban was sent again: {who}"
    ban = ban_of(pipeline, post)
    assert ban["status"] == "done", ban
    assert "Lemmy shows it done" in ban["detail"], ban
