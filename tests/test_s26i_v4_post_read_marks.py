"""Lemmy 1.0's `GET /api/v4/post` marks the post read for a logged-in reader (and stores
its comment count: api_crud/src/post/read.rs), as 0.19's does (1b0983e): a change on the
instance, in dry runs too. modbot reads a post by id without the login first (a
visitor's read marks nothing, and the view is the same); only a post a visitor is not
shown (404 `not_found`: removed, deleted without comments, in a private community; any
post of a private instance) is read logged in, and that one is marked read."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy import LemmyClient, LemmyClientV4

ON_1_0 = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def client(lemmy, **kw):
    kind = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    return kind(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, **kw)


def post_reads(lemmy) -> list[str | None]:
    """Who read a post by id: None for a visitor, else the account's name."""
    path = lemmy.api_path("/api/v3/post")
    return [r.user for r in lemmy.requests if r.path == path]


@ON_1_0
def test_the_fake_1_0_shows_a_visitor_what_lemmy_does(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast

    def status(post) -> int:
        return httpx.get(f"{lemmy.url}/api/v4/post", params={"id": post.id}).status_code

    deleted = lemmy.add_post(cast.pics, cast.alice, name="deleted, with a comment")
    lemmy.add_comment(deleted, cast.bob, content="a reply")
    lemmy.post(deleted.id).deleted = True
    alone = lemmy.add_post(cast.pics, cast.alice, name="deleted, no comment")
    lemmy.post(alone.id).deleted = True
    removed = lemmy.add_post(cast.pics, cast.alice, name="removed")
    lemmy.post(removed.id).removed = True
    # PostView::read: a deleted post stays shown while it has comments
    assert (status(deleted), status(alone), status(removed)) == (200, 404, 404)
    assert lemmy.read_marking_requests() == []


@pytest.mark.both_lemmys
@pytest.mark.parametrize("dry_run", [False, True])
def test_reading_a_shown_post_by_id_marks_nothing_read(fake_lemmy, dry_run):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    c = client(lemmy, read_only=dry_run)
    item = c.post(post.id)
    assert (item.id, item.removed) == (post.id, False)
    assert item.author is not None and item.author.id == cast.alice.id
    assert post_reads(lemmy) == [None]
    assert lemmy.read_marking_requests() == [] and lemmy.mutating_requests() == []
    assert lemmy.post(post.id).read_by == set()


@pytest.mark.both_lemmys
def test_only_a_post_a_visitor_is_not_shown_is_read_logged_in(fake_lemmy, caplog):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    lemmy.post(post.id).removed = True
    c = client(lemmy, read_only=True)
    assert c.post(post.id).removed and c.post(post.id).removed
    assert post_reads(lemmy) == [None, "modbot"] * 2
    assert lemmy.post(post.id).read_by == {cast.bot.id}
    said = [r for r in caplog.records if "marks it read for the bot's account" in r.message]
    assert len(said) == 1, "a dry run says so, once"
    # a post that is not there is gone for both reads, as before
    with pytest.raises(LemmyError) as gone:
        client(lemmy).post(10_000)
    assert gone.value.status in (400, 404)


@ON_1_0
def test_a_private_1_0_instance_is_read_logged_in_after_its_first_refusal(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.state.site.private_instance = True
    first = lemmy.add_post(cast.pics, cast.alice, name="one")
    second = lemmy.add_post(cast.pics, cast.alice, name="two")
    c = client(lemmy)
    assert c.post(first.id).id == first.id and c.post(second.id).id == second.id
    # a visitor is refused once (instance_is_private), remembered; Lemmy marks both read
    assert post_reads(lemmy) == [None, "modbot", "modbot"]
    assert len(lemmy.read_marking_requests()) == 2
