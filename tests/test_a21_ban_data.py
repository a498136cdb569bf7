"""A site ban with `remove_data`: Lemmy deletes the banned person's uploads, also one an
admin shows. modbot's own purge spares it; the ban's record says what Lemmy takes with it."""

import pytest
from support.bot import sha
from support.policies import BAD

BAN_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      purge_image: true
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
def test_a_ban_removing_data_says_it_takes_an_upload_an_admin_shows(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.admin, name="what we remove", url=upload.url)
    post = lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN_AND_PURGE)
    pipeline.poll_once(deep=True)
    actions = actions_of(pipeline, post)
    assert actions["purge_image"]["status"] == "skipped"  # modbot never purges it
    ban = actions["ban"]
    assert ban["status"] == "done"
    assert f"Lemmy also deletes their uploads, {upload.alias} among them" in ban["detail"]
    assert "admin" in ban["detail"].split(upload.alias, 1)[1]
    assert not lemmy.image_exists(upload.alias)  # what Lemmy did, as the record says


@pytest.mark.both_lemmys
def test_a_ban_removing_data_of_an_upload_nobody_spares_says_nothing_more(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN_AND_PURGE)
    pipeline.poll_once(deep=True)
    ban = actions_of(pipeline, post)["ban"]
    assert ban["status"] == "done" and ban["detail"].endswith("removing their content")
