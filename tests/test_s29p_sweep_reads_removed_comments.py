"""The sweep reads the comments of a post whose every comment was removed or deleted:
Lemmy's count of a post's comments leaves those out (0.19 `counts.comments`, 1.0
`post.comments`), so it says 0, yet the comments are there to a moderator, their images
too. A post that never had a comment costs no request for its comments. Against the
fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fakelemmy.state import now

pytestmark = pytest.mark.both_lemmys


def test_a_post_with_only_removed_or_deleted_comments_has_them_read(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=3)
    image = lemmy.add_remote_file("look.jpg", photos["chelsea"])
    removed_on = lemmy.add_post(cast.pics, cast.bob, name="removed", published=start)
    removed = lemmy.add_comment(
        removed_on, cast.alice, content=f"![x]({image})", published=start + timedelta(minutes=1)
    )
    deleted_on = lemmy.add_post(cast.pics, cast.bob, name="deleted", published=start)
    deleted = lemmy.add_comment(
        deleted_on, cast.alice, content=f"![x]({image})", published=start + timedelta(minutes=2)
    )
    silent = lemmy.add_post(cast.pics, cast.bob, name="never commented", published=start)
    with lemmy.state.lock:  # a moderator removed one, its author deleted the other
        lemmy.state.comments[removed.id].removed = True
        lemmy.state.comments[deleted.id].deleted = True
    pipeline = pipeline_for(lemmy)
    lemmy.clear_requests()

    pipeline.sweep(start - timedelta(days=1))

    decided = {(r["item"]["kind"], r["item"]["id"]) for r in pipeline.store.decisions()}
    assert ("comment", removed.id) in decided, "the removed comment was read and looked at"
    assert ("comment", deleted.id) in decided, "the deleted comment was read and looked at"
    asked = [
        r.query.get("post_id")
        for r in lemmy.requests
        if r.server == "lemmy" and r.path == lemmy.api_path("/api/v3/comment/list")
    ]
    assert str(removed_on.id) in asked and str(deleted_on.id) in asked, asked
    assert str(silent.id) not in asked, "a post that never had a comment is not asked"
