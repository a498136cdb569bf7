"""Lemmy 0.19's site ban with `remove_data` removes every post of the person without a
modlog row per post (`remove_user_data`, api_common/src/utils.rs, 0.19.20), and
`post/list` hides removed posts from admins too: the backlog walk never reached them, nor
the images in their comments. GET /user, read by an admin, lists a person's removed posts
(db_views/src/post_view.rs: "only show removed posts to admin when viewing user
profile"); the modlog's site bans name the people. Posts their authors deleted and the
posts of deleted communities 0.19 lists to no one, admins included."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4
from modbot.source import Source
from modbot.store import Store


def _client(lemmy, who="modbot"):
    cls = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    return cls(lemmy.url, who, Secret(PASSWORD), requests_per_minute=0, read_only=True)


def _ban_with_data(lemmy, person_id):
    """An admin bans the person and removes their content, as through the web UI."""
    admin = _client(lemmy, "admin")
    admin.read_only = False
    try:
        admin.ban_site(person_id, "spam", expires=None, remove_data=True)
    finally:
        admin.close()


def _walked(lemmy, tmp_path, since=None):
    client = _client(lemmy)
    try:
        source = Source(client, Store(tmp_path / "s.sqlite3"), scope="t", uploads=False)
        return [
            (i.kind, i.id)
            for batch in source.walk(since)
            for i in batch
            if i.kind in ("post", "comment")
        ]
    finally:
        client.close()


@pytest.mark.both_lemmys
def test_a_walk_reads_the_posts_a_ban_removed_and_their_comments(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    kept = lemmy.add_post(cast.pics, cast.bob, name="kept")
    posts = [lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(3)]
    replies = [
        lemmy.add_comment(p, cast.bob, content="![x](https://img.example/x.png)") for p in posts
    ]
    _ban_with_data(lemmy, cast.alice.id)
    assert all(lemmy.post(p.id).removed for p in posts)
    walked = _walked(lemmy, tmp_path)
    for post, reply in zip(posts, replies):
        assert ("post", post.id) in walked and ("comment", reply.id) in walked
    assert ("post", kept.id) in walked
    assert len(walked) == len(set(walked)), "each once"


def test_get_user_lists_removed_posts_to_admins_only_and_deleted_ones_to_no_one(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    shown = lemmy.add_post(cast.pics, cast.alice, name="shown")
    removed = lemmy.add_post(cast.pics, cast.alice, name="removed")
    deleted = lemmy.add_post(cast.pics, cast.alice, name="deleted")
    gone = lemmy.add_community("gone")
    in_gone = lemmy.add_post(gone, cast.alice, name="in a deleted community")
    lemmy.state.posts[removed.id].removed = True
    lemmy.state.posts[deleted.id].deleted = True
    lemmy.state.communities[gone.id].deleted = True

    def listed(who):
        token = httpx.post(
            f"{lemmy.url}/api/v3/user/login",
            json={"username_or_email": who, "password": PASSWORD},
        ).json()["jwt"]
        r = httpx.get(
            f"{lemmy.url}/api/v3/user",
            params={"person_id": cast.alice.id, "sort": "New", "limit": 50},
            headers={"Authorization": f"Bearer {token}"},
        )
        return {v["post"]["id"] for v in r.json()["posts"]}

    assert listed("modbot") == {shown.id, removed.id}
    assert listed("mod") == {shown.id}, "a moderator is no admin"
    assert listed("alice") == {shown.id, deleted.id}, "a deleted post to its creator only"
    assert in_gone.id not in listed("admin")
