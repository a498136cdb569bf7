"""The backlog walk through one post's comments: to their end where Lemmy pages on, with
a warning where it stops serving pages, each comment once while new ones arrive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_s25a_removed_post_comments import _client

from fakelemmy.state import now
from modbot.lemmy.api import MAX_PAGE, PAGE
from modbot.source import Source
from modbot.store import Store

MANY = MAX_PAGE * PAGE + 3  # more than 100 pages of 50


def _walk(lemmy, tmp_path) -> tuple[list[int], list[str]]:
    told: list[str] = []
    client = _client(lemmy)
    try:
        source = Source(
            client, Store(tmp_path / "state.sqlite3"), scope="t", uploads=False, warn=told.append
        )
        comments = [i.id for batch in source.walk() for i in batch if i.kind == "comment"]
    finally:
        client.close()
    return comments, told


def _many_comments(lemmy, count: int) -> tuple[object, list[int]]:
    cast = lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="busy thread")
    start = now() - timedelta(days=1)
    ids = [
        lemmy.add_comment(post, cast.bob, content="c", published=start + timedelta(seconds=i)).id
        for i in range(count)
    ]
    return post, ids


@pytest.mark.slow
def test_1_0_walk_reads_every_comment_of_a_post_with_more_than_100_pages(tmp_path):
    """1.0 pages comments by cursor, with no page limit: the walk read 100 pages (5,000
    comments) of one post and left the rest unread, without a word."""
    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast

    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        _, ids = _many_comments(lemmy, MANY)
        comments, told = _walk(lemmy, tmp_path)
    assert sorted(comments) == sorted(ids)
    assert not [t for t in told if "comments of post" in t]


@pytest.mark.slow
def test_0_19_walk_says_which_post_has_more_comments_than_lemmy_lists(fake_lemmy, tmp_path):
    """0.19 serves no page past 100: the newest 5,000 comments of a post are read, and
    the walk says so (it said nothing: a thread's oldest images went unchecked unseen)."""
    post, ids = _many_comments(fake_lemmy, MANY)
    comments, told = _walk(fake_lemmy, tmp_path)
    assert sorted(comments) == sorted(ids[-MAX_PAGE * PAGE :])
    assert [t for t in told if f"comments of post {post.id}" in t] == [
        f"comments of post {post.id}: Lemmy lists no more than its newest "
        f"{MAX_PAGE * PAGE}; the older ones were not read"
    ]


@pytest.mark.both_lemmys
def test_a_comment_arriving_while_a_post_s_comments_are_read_leaves_each_once(fake_lemmy, tmp_path):
    """0.19 pages comments by number, newest first: a comment posted between two pages
    pushes the last one of the first page onto the second, and the walk handed that
    comment out twice in one batch (the pipeline drops an item repeated across
    batches only)."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post, ids = _many_comments(lemmy, PAGE + 10)
    path = lemmy.api_path("/api/v3/comment/list")
    arrived: list[int] = []

    def a_reply_arrives(body):
        arrived.append(lemmy.add_comment(post, cast.alice, content="late").id)
        return body

    lemmy.tamper(path, a_reply_arrives, times=1)  # after the first page is made
    comments, _ = _walk(lemmy, tmp_path)
    assert len(comments) == len(set(comments)), "each comment handed out once"
    assert set(ids) <= set(comments)
