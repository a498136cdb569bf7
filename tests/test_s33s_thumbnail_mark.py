"""A post's seen mark and its thumbnail: the same thumbnail under another URL form is not
a new look, and a thumbnail that came after an older modbot marked the post is checked.

The mark held a digest of the thumbnail's URL as sent (a61ad26). Lemmy writes the same
thumbnail in several forms: 0.19's ``/pictrs/image/<alias>`` and 1.0's
``/api/v4/image/<alias>``; a remote image behind 0.19's ``/api/v3/image_proxy?url=``, 1.0's
``/api/v4/image/proxy?url=...&max_size=...``, or linked directly (``image_mode``). A rewrite
of every thumbnail's form (an upgrade, a setting) decided every such post again. And a post
an earlier modbot marked by its time alone stayed seen when its thumbnail came after.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from support.bot import sha
from support.policies import BAD

from fakelemmy import hostile
from fakelemmy.state import now

CLEAN = "china"  # not on the list

REPORT = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {report: "known abusive image"}
"""


def _thumbnail_decisions(pipeline, post_id: int) -> list[dict]:
    return [
        d
        for d in pipeline.store.decisions()
        if d["item"]["id"] == post_id and d["image"]["location"] == "thumbnail"
    ]


def test_a_stored_thumbnail_under_another_url_form_is_not_decided_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[CLEAN])
    post = lemmy.add_post(
        cast.pics, cast.bob, name="p", url="https://remote.example/a", thumbnail_url=thumb.url
    )
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    assert pipeline.poll_once(deep=True).items_seen == 1
    assert len(_thumbnail_decisions(pipeline, post.id)) == 1

    # the same pict-rs file, as 1.0 writes its link (and with 0.19's format query)
    post.thumbnail_url = f"{lemmy.url}/api/v4/image/{thumb.alias}"
    assert pipeline.poll_once(deep=True).items_seen == 0
    post.thumbnail_url = f"{lemmy.url}/pictrs/image/{thumb.alias}?format=webp&thumbnail=256"
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert pipeline.sweep().items_seen == 0
    assert len(_thumbnail_decisions(pipeline, post.id)) == 1

    # another file is another thumbnail: decided
    other = lemmy.add_thumbnail(photos[BAD], post=post)
    assert other.alias != thumb.alias
    assert pipeline.poll_once(deep=True).items_seen == 1
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", post.id)]


def test_a_proxied_thumbnail_under_another_proxy_form_is_not_decided_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    original = lemmy.add_remote_file("og.jpg", photos[CLEAN])
    article = lemmy.add_remote_file("article.html", hostile.html_page(), content_type="text/html")
    post = lemmy.add_post(
        cast.pics,
        cast.bob,
        name="an article",
        url=article,
        thumbnail_url=lemmy.proxy_url(original),
        published=now() - timedelta(minutes=1),
    )
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    assert pipeline.poll_once(deep=True).items_seen == 1
    assert len(_thumbnail_decisions(pipeline, post.id)) == 1

    for form in (
        f"{lemmy.url}/api/v4/image/proxy?url={quote(original, safe='')}&max_size=512",
        f"{lemmy.url}/api/v3/image_proxy?url={quote(original, safe='')}",
        original,  # image_mode None: the remote image itself
    ):
        post.thumbnail_url = form
        assert pipeline.poll_once(deep=True).items_seen == 0, form
    assert pipeline.sweep().items_seen == 0
    assert len(_thumbnail_decisions(pipeline, post.id)) == 1


def test_a_mark_of_the_url_as_sent_still_counts_after_the_upgrade(
    fake_lemmy, photos, tiny, pipeline_for
):
    """A mark the last modbot kept (a digest of the URL as sent) is not a new look."""
    from modbot.model import post_version

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[CLEAN])
    post = lemmy.add_post(
        cast.pics, cast.bob, name="p", url="https://remote.example/a", thumbnail_url=thumb.url
    )
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    assert pipeline.poll_once(deep=True).items_seen == 1
    stamp = pipeline.client.post(post.id).updated.split(" ", 1)[0]
    pipeline.store.mark_seen(pipeline.source.scope, "post", post.id, post_version(stamp, thumb.url))
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert pipeline.sweep().items_seen == 0


@pytest.mark.both_lemmys
def test_a_thumbnail_that_came_after_an_older_modbot_marked_the_post_is_checked(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    article = lemmy.add_remote_file("article.html", hostile.html_page(), content_type="text/html")
    post = lemmy.add_post(
        cast.pics, cast.bob, name="an article", url=article, published=now() - timedelta(minutes=1)
    )
    post.thumbnail_url, post.url_content_type = None, None  # read before Lemmy's task ran
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REPORT)
    assert pipeline.poll_once(deep=True).items_seen == 1
    # as a modbot before thumbnail marks kept it: the time alone
    stamp = pipeline.client.post(post.id).updated.split(" ", 1)[0]
    pipeline.store.mark_seen(pipeline.source.scope, "post", post.id, stamp)

    lemmy.add_thumbnail(photos[BAD], post=post)  # then Lemmy's task stored the thumbnail
    post.url_content_type = "text/html"
    second = pipeline.poll_once(deep=True)
    thumbnails = _thumbnail_decisions(pipeline, post.id)
    assert thumbnails and thumbnails[-1]["image"]["sha256"] == sha(photos[BAD]), second.summary()
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", post.id)]
    assert pipeline.poll_once(deep=True).items_seen == 0
    assert pipeline.sweep().items_seen == 0
