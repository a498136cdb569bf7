"""Lemmy (0.19 and 1.0) purges a post's link and thumbnail from pict-rs with the post: the
whole file, every alias of it. When an exempt item (a moderator's post, `exempt.moderators`)
shows that file, `purge_image` spares it ("the file is spared"); `purge_item` of another
person's post linking the same upload took it all the same, so the exempt post lost its
image. Now the purge of the post is skipped, saying so, as for an admin's upload, and the
rule's other actions go on."""

import pytest
from support.bot import sha
from support.policies import BAD

# No `moderators_exempt: false`: moderators are exempt (exempt.moderators: true).
PURGE = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      purge_item: true
      ban: {scope: site, duration: 7d, reason: "known abusive image"}
"""


def actions_of(pipeline, kind, item_id):
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == (kind, item_id)
    ]
    return {a["action"]: a for a in record["actions"]}


@pytest.mark.both_lemmys
def test_purge_item_spares_the_file_an_exempt_post_shows(fake_lemmy, photos, tiny, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    mine = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(upload.alias)
    # alice posts the moderator's upload (its URL)
    theirs = lemmy.add_post(cast.pics, cast.alice, name="again", url=upload.url)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(upload.alias), "purging alice's post purged the exempt post's file"
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path]
    actions = actions_of(pipeline, "post", theirs.id)
    purge = actions["purge_item"]
    assert purge["status"] == "skipped", purge
    assert "the file is spared" in purge["detail"] and f"post {mine.id}" in purge["detail"], purge
    assert actions["ban"]["status"] == "done"  # the rule's other actions go on
    assert lemmy.person(cast.alice.id).banned
