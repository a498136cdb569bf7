"""A thumbnail that came after the post was read is decided even when its file is known.

Guards the seen mark against a "same time, another thumbnail digest: seen unless the file
was never fetched" rule (proposed for marks of 0.19's thumbnail URLs read on 1.0; Lemmy
1.0 sends a post's ``thumbnail_url`` as 0.19 stored it, no migration rewrites it, so those
marks still match, ``test_s33s_thumbnail_mark``). A mark of ``thumbnail:none`` and a
thumbnail that came since has that shape: spam posts linking one site share its og:image,
which the bot fetched (and reported) for the first of them; the later post, read before
Lemmy's metadata task stored its thumbnail, must be decided with it, not taken as seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import sha
from support.policies import BAD

from fakelemmy import hostile
from fakelemmy.state import now

REPORT = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {report: "known abusive image"}
"""


@pytest.mark.both_lemmys
def test_a_later_thumbnail_of_a_file_already_fetched_is_decided(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    og = lemmy.add_remote_file("og.jpg", photos[BAD])  # image_mode None: linked as is
    article = lemmy.add_remote_file("article.html", hostile.html_page(), content_type="text/html")
    first = lemmy.add_post(
        cast.pics,
        cast.bob,
        name="spam",
        url=article,
        thumbnail_url=og,
        published=now() - timedelta(minutes=2),
    )
    second = lemmy.add_post(
        cast.pics, cast.bob, name="spam again", url=article, published=now() - timedelta(minutes=1)
    )
    # the second read before Lemmy's metadata task ran: no thumbnail yet
    second.thumbnail_url, second.url_content_type = None, None
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    pipeline.poll_once(deep=True)
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", first.id)]

    second.thumbnail_url, second.url_content_type = og, "text/html"  # the task ran
    later = pipeline.poll_once(deep=True)
    assert later.items_seen == 1, later.summary()
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [
        ("post", first.id),
        ("post", second.id),
    ], later.summary()
