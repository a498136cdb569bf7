"""`delete_image` and `purge_image` never take the file the site's icon, banner or sidebar
shows (only an admin sets those, whoever uploaded the file): also when a user's post
shows that very alias (an image linked by its URL) and is decided before the site's own
images are, so the post's decision is the one that would act on the file."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD

RULE = """
  - name: unwanted image in a post
    if: {hash_list: known-bad, type: post}
    then:
      ACTION: true
"""

WHAT = {
    "icon": "the site icon",
    "banner": "the site banner",
    "sidebar": "an image in the site sidebar",
}


@pytest.mark.both_lemmys
@pytest.mark.parametrize("action", ["delete_image", "purge_image"])
@pytest.mark.parametrize("shows", ["icon", "banner", "sidebar"])
def test_a_post_showing_the_sites_image_does_not_take_it(
    fake_lemmy, photos, tiny, pipeline_for, shows, action
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # stored without an uploader Lemmy lists (as before 0.19 recorded uploaders)
    image = lemmy.add_thumbnail(photos[BAD])
    if shows == "sidebar":
        lemmy.site.sidebar = f"Welcome ![rules]({image.url})"
    else:
        setattr(lemmy.site, shows, image.url)
    post = lemmy.add_post(cast.pics, cast.alice, name="our logo", body=f"![logo]({image.url})")
    rules = RULE.replace("ACTION", action)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules)
    pipeline.sweep()
    assert lemmy.image_exists(image.alias), f"the site's {shows} was taken"
    assert not [r for r in lemmy.mutating_requests() if r.server == "pictrs" or "image" in r.path]
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if r["item"]["kind"] == "post" and r["item"]["id"] == post.id
    ]
    assert record["actions"] == [
        {
            "action": action,
            "status": "skipped",
            "detail": f"the file is {WHAT[shows]} too: an admin's image: never acted on",
        }
    ], record["actions"]


@pytest.mark.parametrize("action", ["delete_image", "purge_image"])
def test_another_image_in_a_post_is_still_taken(fake_lemmy, photos, tiny, pipeline_for, action):
    """The site shows another image: the post's goes, after one read of the site."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.site.icon = lemmy.add_thumbnail(photos["china"]).url
    image = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.alice, name="look", body=f"![x]({image.url})")
    rules = RULE.replace("ACTION", action)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules)
    pipeline.sweep()
    assert not lemmy.image_exists(image.alias)
