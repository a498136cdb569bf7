"""The fake Lemmy counts a post's comments as Lemmy does: deleted and removed ones left
out (0.19's `post_aggregates.comments` and 1.0's `post.comments`, kept by triggers that
count only what `r.is_counted` admits: neither deleted nor removed), while the time of
the newest comment stays where the last counted insert put it. Against 0.19 and 1.0."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from fakelemmy.state import now

pytestmark = pytest.mark.both_lemmys


def post_view(lemmy, post_id: int) -> dict:
    r = httpx.get(f"{lemmy.url}{lemmy.api_path('/api/v3/post')}", params={"id": post_id})
    assert r.status_code == 200, r.text
    return r.json()["post_view"]


def count_and_newest(lemmy, post_id: int) -> tuple[int, str | None]:
    view = post_view(lemmy, post_id)
    if lemmy.api_version == "v3":
        return view["counts"]["comments"], view["counts"]["newest_comment_time"]
    return view["post"]["comments"], view["post"].get("newest_comment_time_at")


def test_deleted_and_removed_comments_are_not_counted_but_were_the_newest(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(hours=1)
    post = lemmy.add_post(cast.pics, cast.bob, name="p", published=start)
    kept = lemmy.add_comment(post, cast.alice, published=start + timedelta(minutes=1))
    gone = lemmy.add_comment(post, cast.alice, published=start + timedelta(minutes=2))
    hidden = lemmy.add_comment(post, cast.alice, published=start + timedelta(minutes=3))
    count, newest_before = count_and_newest(lemmy, post.id)
    assert count == 3
    with lemmy.state.lock:
        lemmy.state.comments[gone.id].deleted = True  # by its author
        lemmy.state.comments[hidden.id].removed = True  # by a moderator
    count, newest = count_and_newest(lemmy, post.id)
    assert count == 1, "only the comment neither deleted nor removed is counted"
    assert newest == newest_before, "a later delete or remove does not move it back"
    with lemmy.state.lock:
        lemmy.state.comments[kept.id].removed = True
    assert count_and_newest(lemmy, post.id) == (0, newest_before)
