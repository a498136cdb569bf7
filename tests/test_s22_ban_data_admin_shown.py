"""A site ban with `remove_data`: Lemmy deletes every upload of the banned person, not
only the one the rule matched. The ban's record names each other upload of theirs that
an admin shows (the site's sidebar, an admin's post), before the ban is sent."""

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
def test_a_ban_removing_data_names_the_other_uploads_admins_show(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    sidebar = lemmy.add_upload(cast.alice, photos["astronaut"])  # hers, in the sidebar
    lemmy.site.sidebar = f"Welcome ![rules]({sidebar.url})"
    shown = lemmy.add_upload(cast.alice, photos["china"])  # hers, in an admin's post
    lemmy.add_post(cast.pics, cast.admin, name="look", url=shown.url)
    unshown = lemmy.add_upload(cast.alice, photos["chelsea"])  # hers, nobody else's
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)  # the admin's post: recorded
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline.poll_once(deep=True)
    ban = actions_of(pipeline, post)["ban"]
    assert ban["status"] == "done"
    detail = ban["detail"]
    assert sidebar.alias in detail and "sidebar" in detail.split(sidebar.alias, 1)[1]
    assert shown.alias in detail and "admin" in detail.split(shown.alias, 1)[1]
    assert unshown.alias not in detail and bad.alias not in detail
    # what Lemmy did: 1.0 (as 0.19.11+) deletes every upload of theirs, as the record
    # says; 0.19.9 (the fake's 0.19) purges only their avatar's, banner's and image
    # posts' files, which the record says too
    assert lemmy.image_exists(sidebar.alias) is (lemmy.v4 is None)
    # the 0.19 releases' difference, said once, and on 0.19 only
    assert detail.count("this Lemmy, 0.19.9, purges instead") == (lemmy.v4 is None)
    # and the admins are told, once (the same ban for another item says nothing more)
    (message,) = [m.content for m in lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert "remove_data" in message and sidebar.alias in message and shown.alias in message
    assert "](" not in message, message  # names, never an image or a link to one


@pytest.mark.both_lemmys
def test_a_ban_without_remove_data_or_of_no_shown_upload_says_nothing_more(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_upload(cast.alice, photos["chelsea"])  # hers, nobody else's
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    ban = actions_of(pipeline, post)["ban"]
    assert ban["status"] == "done" and ban["detail"].endswith("removing their content")


@pytest.mark.both_lemmys
def test_a_ban_removing_data_names_the_matched_upload_the_site_shows(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_upload(cast.alice, photos[BAD])  # hers, made the site's icon
    lemmy.site.icon = bad.url
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=BAN)
    pipeline.poll_once(deep=True)
    ban = actions_of(pipeline, post)["ban"]
    assert ban["status"] == "done"
    assert bad.alias in ban["detail"] and "site icon" in ban["detail"].split(bad.alias, 1)[1]
