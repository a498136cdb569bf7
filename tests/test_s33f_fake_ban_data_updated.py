"""A ban's removal of a person's posts and comments sets their ``updated`` time.

Facts, LemmyNet/lemmy:
- 0.19.0-0.19.20, crates/db_schema/src/impls/post.rs ``update_removed_for_creator``
  (0.19.9: :139-160) sets ``removed`` and ``updated = now``; comment.rs's
  (:40-55) likewise. A site ban with ``remove_data`` (``remove_user_data``) runs both; a
  community ban's (``remove_user_data_in_community``, api_common/src/utils.rs:794-826)
  runs the post one and, for comments, ``Comment::update`` with ``removed`` alone (no
  ``updated``).
- 1.0.0-beta.1: ``update_removed_for_creator`` and ``..._and_community`` of posts and
  comments (db_schema/src/impls/post.rs:198-240, comment.rs:55-75) set ``updated_at``,
  on removal and restoration.
"""

from __future__ import annotations

import httpx

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast


def _login(lemmy, name: str, path: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(path, json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_0_19_ban_with_remove_data_sets_updated():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        comment = lemmy.add_comment(post, cast.alice)
        admin = _login(lemmy, "admin", "/api/v3/user/login")
        r = admin.post(
            "/api/v3/user/ban",
            json={"person_id": cast.alice.id, "ban": True, "remove_data": True},
        )
        assert r.status_code == 200, r.text
        view = admin.get("/api/v3/post", params={"id": post.id}).json()["post_view"]
        assert view["post"]["removed"] is True and "updated" in view["post"]
        (c,) = admin.get("/api/v3/comment/list", params={"post_id": post.id}).json()["comments"]
        assert c["comment"]["id"] == comment.id and "updated" in c["comment"]


def test_0_19_community_ban_with_remove_data_sets_the_posts_updated_only():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        lemmy.add_comment(post, cast.alice)
        mod = _login(lemmy, "mod", "/api/v3/user/login")
        r = mod.post(
            "/api/v3/community/ban_user",
            json={
                "community_id": cast.pics.id,
                "person_id": cast.alice.id,
                "ban": True,
                "remove_data": True,
            },
        )
        assert r.status_code == 200, r.text
        view = mod.get("/api/v3/post", params={"id": post.id}).json()["post_view"]
        assert view["post"]["removed"] is True and "updated" in view["post"]
        (c,) = mod.get("/api/v3/comment/list", params={"post_id": post.id}).json()["comments"]
        assert c["comment"]["removed"] is True and "updated" not in c["comment"]


def test_1_0_ban_with_remove_or_restore_data_sets_updated_at():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        lemmy.add_comment(post, cast.alice)
        other = lemmy.add_post(cast.nsfw, cast.alice, nsfw=True)
        admin = _login(lemmy, "admin", "/api/v4/account/auth/login")
        r = admin.post(
            "/api/v4/community/ban_user",
            json={
                "community_id": cast.pics.id,
                "person_id": cast.alice.id,
                "ban": True,
                "reason": "x",
                "remove_or_restore_data": True,
            },
        )
        assert r.status_code == 200, r.text
        view = admin.get("/api/v4/post", params={"id": post.id}).json()["post_view"]
        assert view["post"]["removed"] is True and "updated_at" in view["post"]
        (c,) = admin.get("/api/v4/comment/list", params={"post_id": post.id}).json()["items"]
        assert "updated_at" in c["comment"]
        assert lemmy.post(other.id).updated is None  # another community's: untouched
        r = admin.post(
            "/api/v4/admin/ban",
            json={
                "person_id": cast.alice.id,
                "ban": True,
                "reason": "x",
                "remove_or_restore_data": True,
            },
        )
        assert r.status_code == 200, r.text
        assert lemmy.post(other.id).removed and lemmy.post(other.id).updated is not None
