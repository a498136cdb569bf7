"""Lemmy 0.19's `GET /post` marks the post read for a logged-in reader (and stores its
comment count: api_crud/src/post/read.rs): a change on the instance, which also hides the
post from the bot's listings while its `show_read_posts` is off. The fake does so; modbot
reads a post by id without the login first (a visitor's read marks nothing), logged in
only for a post a visitor is not shown (removed, deleted), which nothing else in 0.19
shows: that one is marked read, a dry run saying so."""

from __future__ import annotations

import httpx
import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy.v3 import LemmyClient


def login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=f"{lemmy.url}/api/v3", timeout=10)
    r = c.post("/user/login", json={"username_or_email": name, "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def removed_by_mod(lemmy, post) -> None:
    r = login(lemmy, "mod").post(
        "/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"}
    )
    assert r.status_code == 200, r.text


def client(lemmy, **kw) -> LemmyClient:
    return LemmyClient(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, **kw)


def test_the_fake_0_19_marks_a_post_read_for_a_logged_in_reader_only(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    assert httpx.get(f"{lemmy.url}/api/v3/post", params={"id": post.id}).status_code == 200
    assert lemmy.read_marking_requests() == [] and lemmy.post(post.id).read_by == set()
    assert login(lemmy, "modbot").get("/post", params={"id": post.id}).status_code == 200
    assert [r.path for r in lemmy.read_marking_requests()] == ["/api/v3/post"]
    assert lemmy.post(post.id).read_by == {cast.bot.id}
    # and a read post is then left out of a listing that hides read posts
    listed = login(lemmy, "modbot").get(
        "/post/list", params={"type_": "All", "sort": "New", "show_read": "false"}
    )
    assert post.id not in [v["post"]["id"] for v in listed.json()["posts"]]


def test_reading_a_post_by_id_marks_nothing_read(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    c = client(lemmy)
    item = c.post(post.id)
    assert (item.id, item.removed) == (post.id, False)
    assert item.author is not None and item.author.id == cast.alice.id
    assert lemmy.read_marking_requests() == [] and lemmy.mutating_requests() == []


def test_only_a_post_a_visitor_is_not_shown_is_read_logged_in(fake_lemmy, caplog):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    removed_by_mod(lemmy, post)
    lemmy.clear_requests()
    c = client(lemmy, read_only=True)
    assert c.post(post.id).removed and c.post(post.id).removed
    assert [r.user for r in lemmy.requests if r.path == "/api/v3/post"] == [None, "modbot"] * 2
    assert lemmy.post(post.id).read_by == {cast.bot.id}
    said = [r for r in caplog.records if "marks it read for the bot's account" in r.message]
    assert len(said) == 1, "a dry run says so, once"
    # a purged post is gone for both reads (couldnt_find_post), as before
    with pytest.raises(LemmyError) as gone:
        client(lemmy).post(10_000)
    assert gone.value.error == "couldnt_find_post"


def test_a_dry_run_sweep_on_0_19_marks_only_a_removed_post_read(fake_lemmy, photos, tiny, tmp_path):
    """The sweep reads the posts moderators removed (from the modlog) by id, and a post
    to look at again: none that a visitor sees is marked read."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    shown = lemmy.add_post(cast.pics, cast.bob, name="shown", url=remote_photo(lemmy, photos, BAD))
    removed = lemmy.add_post(cast.pics, cast.bob, name="gone", url=remote_photo(lemmy, photos, BAD))
    removed_by_mod(lemmy, removed)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    lemmy.clear_requests()
    done = bot("sweep", "--dry-run", "--all")
    assert lemmy.mutating_requests() == []
    marked = [r.query for r in lemmy.read_marking_requests()]
    assert marked == [{"id": str(removed.id)}]
    assert "marks it read for the bot's account" in done.stderr
    assert lemmy.post(shown.id).read_by == set()
