"""pict-rs keeps one file for identical bytes: purging a post's image by its alias
purges the site's icon, banner or sidebar image too when it is the same file. modbot
never purges a file the site shows (only an admin sets those), as it never purges an
admin's upload."""

import pytest
from support.bot import sha
from support.policies import BAD

PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      purge_image: true
"""


def actions_of(pipeline, post):
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    return {a["action"]: a for a in record["actions"]}


@pytest.mark.parametrize("where", ["icon", "sidebar"])
def test_a_post_showing_the_sites_image_bytes_never_purges_them(
    fake_lemmy, photos, tiny, pipeline_for, where
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    site = lemmy.add_thumbnail(photos[BAD])  # no uploader known
    if where == "icon":
        lemmy.site.icon = site.url
    else:
        lemmy.site.sidebar = f"Welcome ![rules]({site.url})"
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE)
    pipeline.sweep()  # the site's images: recorded (an admin's, never acted on)
    bobs = lemmy.add_upload(cast.bob, photos[BAD])  # the same bytes: the same file
    post = lemmy.add_post(cast.pics, cast.bob, url=bobs.url)
    pipeline.poll_once(deep=True)
    purge = actions_of(pipeline, post)["purge_image"]
    assert purge["status"] == "skipped", purge
    assert lemmy.image_exists(site.alias)
