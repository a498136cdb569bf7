"""A link post's thumbnail that Lemmy stores after the bot read the post is checked.

Lemmy fetches a federated post's link metadata in a background task after storing the
post (0.19.9 ``apub/src/objects/post.rs``, 1.0 ``apub/objects/src/objects/post.rs``:
``spawn_try_task(generate_post_link_metadata(...))``), and that task sets
``thumbnail_url`` without touching ``updated``. A poll that read the post in between saw
it without its thumbnail and marked it seen by its ``updated``: the thumbnail that came a
second later, stored in the instance's pict-rs, was never looked at, by polls or sweeps.
"""

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
def test_a_thumbnail_stored_after_the_post_was_read_is_checked(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    article = lemmy.add_remote_file("article.html", hostile.html_page(), content_type="text/html")
    post = lemmy.add_post(
        cast.pics, cast.bob, name="an article", url=article, published=now() - timedelta(minutes=1)
    )
    # read before Lemmy's metadata task ran: no thumbnail, no content type yet
    post.thumbnail_url, post.url_content_type = None, None
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)

    first = pipeline.poll_once(deep=True)
    assert first.items_seen == 1, first.summary()
    assert lemmy.reports == []

    # the task ends: the thumbnail is stored and set, `updated` left as it was
    lemmy.add_thumbnail(photos[BAD], post=post)
    post.url_content_type = "text/html"

    second = pipeline.poll_once(deep=True)
    thumbnails = [
        d
        for d in pipeline.store.decisions()
        if d["item"]["id"] == post.id and d["image"]["location"] == "thumbnail"
    ]
    assert thumbnails and thumbnails[-1]["image"]["sha256"] == sha(photos[BAD]), second.summary()
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", post.id)], second.summary()

    # decided once: the next polls and a sweep hand it out no more
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert pipeline.sweep().items_seen == 0
    assert len(lemmy.reports) == 1


def test_a_post_marked_seen_before_marks_held_the_thumbnail_stays_seen(
    fake_lemmy, photos, tiny, pipeline_for
):
    """A state file of an earlier modbot marks a post seen by its time alone: after the
    upgrade it is not decided again (every post of the lookback, and of the next sweep,
    would be), while an edit still is."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[BAD])
    post = lemmy.add_post(
        cast.pics, cast.bob, name="p", url="https://remote.example/a", thumbnail_url=thumb.url
    )
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    assert pipeline.poll_once(deep=True).items_seen == 1
    source = pipeline.source
    stamp = pipeline.client.post(post.id).updated.split(" ", 1)[0]  # the time as sent
    pipeline.store.mark_seen(source.scope, "post", post.id, stamp)  # as modbot kept it before
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert pipeline.sweep().items_seen == 0
    lemmy.edit_post(post.id, body="edited")
    assert pipeline.poll_once(deep=True).items_seen == 1
    assert len(lemmy.reports) == 1
