"""Lemmy (0.19 and 1.0) purges a post's link from pict-rs with the post, the whole file.
A post linking the site's icon (an image only an admin sets, whoever uploaded the file),
decided before the site's own images were recorded, was purged by `purge_item`, and the
site's icon with it: `purge_image` and `delete_image` read the site right before acting
(`GET /site`), `purge_item` only looked at what the bot had recorded. Now it reads the
site as they do, and the purge is skipped, saying so."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD

RULE = """
  - name: unwanted image in a post
    if: {hash_list: known-bad, type: post}
    then:
      purge_item: true
"""


@pytest.mark.both_lemmys
@pytest.mark.parametrize("shows", ["icon", "sidebar"])
def test_purging_a_post_linking_the_sites_image_is_skipped(
    fake_lemmy, photos, tiny, pipeline_for, shows
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # stored without an uploader Lemmy lists (as before 0.19 recorded uploaders)
    image = lemmy.add_thumbnail(photos[BAD])
    if shows == "sidebar":
        lemmy.site.sidebar = f"Welcome ![rules]({image.url})"
    else:
        lemmy.site.icon = image.url
    post = lemmy.add_post(cast.pics, cast.alice, name="our logo", url=image.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=RULE)
    pipeline.sweep()
    assert lemmy.image_exists(image.alias), f"the site's {shows} was purged with the post"
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path]
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if r["item"]["kind"] == "post" and r["item"]["id"] == post.id
    ]
    (purge,) = record["actions"]
    assert purge["status"] == "skipped", purge
    assert "site" in purge["detail"] and "never acted on" in purge["detail"], purge
