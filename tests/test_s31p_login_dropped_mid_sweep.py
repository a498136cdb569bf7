"""A login Lemmy drops in the middle of a long `modbot sweep` (a password changed, the
sessions revoked) is noticed within the session check's interval, as the daemon's polls
notice it, not never: before, a sweep checked the login once, as it started, and read
the rest of the backlog as an anonymous visitor, to whom Lemmy (1.0) hides the comments in
NSFW communities: an abusive image in one was passed over for good (the walk moved on)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import remote_photo, sha
from support.policies import BAD

from fakelemmy.state import now


@pytest.mark.both_lemmys
def test_a_login_dropped_mid_sweep_is_noticed_and_the_rest_read_as_the_bot(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    day = now() - timedelta(days=2)
    # the oldest page of the walk: a post in the NSFW community, an abusive comment on it
    nsfw_post = lemmy.add_post(cast.nsfw, cast.alice, name="nsfw", published=day)
    comment = lemmy.add_comment(
        nsfw_post,
        cast.bob,
        content=f"![x]({remote_photo(lemmy, photos, BAD)})",
        published=day + timedelta(minutes=1),
    )
    for i in range(50):  # a page of newer posts before it
        lemmy.add_post(
            cast.pics, cast.alice, name=f"post {i}", published=day + timedelta(hours=1, minutes=i)
        )
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], session_check_every=timedelta(0))
    read = pipeline.client.posts
    pages_read = []

    def posts(*args, **kwargs):  # the login dropped once the first page is read
        page = read(*args, **kwargs)
        pages_read.append(page)
        if len(pages_read) == 1:
            assert lemmy.invalidate_tokens("modbot") == 1
        return page

    pipeline.client.posts = posts
    pipeline.sweep(None)
    assert len(pages_read) >= 2
    assert lemmy.comment(comment.id).removed
