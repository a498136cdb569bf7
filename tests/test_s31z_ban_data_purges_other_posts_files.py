"""Lemmy 0.19.0 to 0.19.10: a site ban's `remove_data` purges from pict-rs the files of
every image post of the banned person (`purge_image_posts_for_person`: each post whose
link is a pict-rs image, its link and thumbnail), whoever uploaded them. The ban's record
and the admins' message named such a file of an admin's or the site's only among the
person's avatar, banner and the post being decided; an earlier post of theirs linking an
admin's upload lost the admin's file unsaid. Now the person's posts modbot recorded are
read from its state and such files named too ("post N's link"). 1.0 purges none: nothing
is said there. The fake's 0.19 is 0.19.9."""

import pytest
from support.bot import sha
from support.policies import BAD

BAN = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
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


@pytest.mark.both_lemmys
def test_a_ban_removing_data_names_the_admins_file_an_earlier_post_of_hers_links(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # the admin's upload, in their post; alice's earlier post links it (nothing wrong)
    shared = lemmy.add_upload(cast.admin, photos["chelsea"])
    lemmy.add_post(cast.pics, cast.admin, name="cat", url=shared.url)
    earlier = lemmy.add_post(cast.pics, cast.alice, name="look, a cat", url=shared.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(shared.alias)
    # then her post the rule bans her for, her own upload
    own = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=own.url)
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert ban["status"] == "done" and lemmy.person(cast.alice.id).banned
    old = lemmy.v4 is None  # 0.19.9
    assert lemmy.image_exists(shared.alias) is not old  # what Lemmy did
    said = shared.alias in ban["detail"]
    assert said is old, ban["detail"]
    told = [
        m.content
        for m in lemmy.private_messages
        if m.recipient_id == cast.admin.id and shared.alias in m.content
    ]
    assert len(told) == old, told
    if old:
        where = ban["detail"].split(shared.alias, 1)[1]
        assert where.startswith(f" (post {earlier.id}'s link, an admin's"), ban["detail"]
        assert "remove_data" in told[0], told[0]
