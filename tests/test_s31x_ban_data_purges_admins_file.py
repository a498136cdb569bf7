"""Lemmy 0.19.0 to 0.19.10: a site ban's `remove_data` purges from pict-rs the file of
each image post of the banned person (its link and thumbnail), whoever uploaded it. A
post of alice's showing an admin's upload (the same URL) so took the admin's file with
her ban, and neither the ban's record nor the admins' message said so (they named only
alice's own uploads). Now both name it; 0.19.11+ and 1.0 purge no such file: nothing is
said there. The fake's 0.19 is 0.19.9."""

import pytest
from support.bot import sha
from support.policies import BAD

BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: true, reason: "known abusive"}
"""


def actions_of(pipeline, post):
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    return {a["action"]: a for a in record["actions"]}


@pytest.mark.both_lemmys
def test_a_ban_removing_data_says_it_purges_the_admins_upload_her_post_shows(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # the admin's upload, of the bytes the rule matches (evidence, say), in their post
    evidence = lemmy.add_upload(cast.admin, photos[BAD])
    lemmy.add_post(cast.pics, cast.admin, name="evidence", url=evidence.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)  # the admin's post: recorded, never acted on
    post = lemmy.add_post(cast.pics, cast.alice, name="again", url=evidence.url)
    pipeline.poll_once(deep=True)
    ban = actions_of(pipeline, post)["ban"]
    assert ban["status"] == "done" and lemmy.person(cast.alice.id).banned
    old = lemmy.v4 is None  # 0.19.9
    assert lemmy.image_exists(evidence.alias) is not old  # what Lemmy did
    said = evidence.alias in ban["detail"]
    assert said is old, ban["detail"]
    told = [
        m.content
        for m in lemmy.private_messages
        if m.recipient_id == cast.admin.id and evidence.alias in m.content
    ]
    assert len(told) == old, told
    if old:
        assert "admin" in ban["detail"].split(evidence.alias, 1)[1], ban["detail"]
        assert "remove_data" in told[0] and "](" not in told[0], told[0]
