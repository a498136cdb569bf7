"""Lemmy 1.0's scheduled posts, as the fake shows them.

Facts, LemmyNet/lemmy 1.0.0-beta.1:
- ``PostQuery::list`` (crates/db_views/post/src/impls.rs:404-416): "only creator can see
  deleted posts and unpublished scheduled posts": ``scheduled_publish_time_at IS NULL OR
  creator_id = me``, for admins too (no admin exception there).
- ``PostView::read`` has no such filter: ``GET /post`` shows it by the usual rules.
- ``publish_scheduled_posts`` (crates/routes/src/utils/scheduled_tasks.rs:591-628), run
  every 10 minutes (:75-85), unsets ``scheduled_publish_time_at`` of the posts whose time
  is past, not deleted or removed, whose creator is not deleted nor banned here nor from
  the community, in a community neither removed nor deleted; ``published_at`` is left
  as it was (the form sets the one field).
- The v3 layer creates none (routes_v3/src/handlers.rs:374: ``scheduled_publish_time_at:
  None``) but lists through the same ``list_posts``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now

SCHEMAS = Path(__file__).parent / "schemas" / "v4"


def _login(lemmy, name: str, path: str = "/api/v4/account/auth/login") -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(path, json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def _listed(client: httpx.Client) -> list[int]:
    r = client.get("/api/v4/post/list", params={"type_": "all", "sort": "new"})
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), json.loads((SCHEMAS / "GetPostsResponse.json").read_text()))
    return [v["post"]["id"] for v in r.json()["items"]]


def test_a_scheduled_post_is_listed_to_its_creator_alone_until_published():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        written = now() - timedelta(hours=2)
        later = lemmy.add_post(
            cast.pics,
            cast.alice,
            name="later",
            published=written,
            scheduled=now() + timedelta(hours=1),
        )
        plain = lemmy.add_post(cast.pics, cast.alice, name="now")
        admin, alice = _login(lemmy, "admin"), _login(lemmy, "alice")
        anon = httpx.Client(base_url=lemmy.url, timeout=10)
        assert _listed(admin) == [plain.id]  # not even an admin
        assert _listed(alice) == [plain.id, later.id]  # its creator: sorted by published
        mine = alice.get("/api/v4/post/list", params={"sort": "new"}).json()["items"]
        assert mine[1]["post"]["scheduled_publish_time_at"] is not None
        assert [v["post"]["id"] for v in anon.get("/api/v4/post/list").json()["items"]] == [
            plain.id
        ]
        # the v3 layer lists through the same query
        v3 = _login(lemmy, "admin", "/api/v3/user/login")
        r = v3.get("/api/v3/post/list", params={"type_": "All", "sort": "New"})
        assert [v["post"]["id"] for v in r.json()["posts"]] == [plain.id]
        # read by id: no such filter
        r = admin.get("/api/v4/post", params={"id": later.id})
        assert r.status_code == 200, r.text
        assert r.json()["post_view"]["post"]["scheduled_publish_time_at"] is not None

        # its time not past: the task leaves it
        assert lemmy.publish_scheduled_posts() == []
        assert _listed(admin) == [plain.id]
        # past, but the task has not run yet: still hidden
        lemmy.post(later.id).scheduled = now() - timedelta(minutes=1)
        assert _listed(admin) == [plain.id]
        assert lemmy.publish_scheduled_posts() == [later.id]
        assert _listed(admin) == [plain.id, later.id]
        view = admin.get("/api/v4/post", params={"id": later.id}).json()["post_view"]["post"]
        assert "scheduled_publish_time_at" not in view
        assert view["published_at"].startswith(written.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_task_does_not_publish_a_removed_post_nor_a_banned_creator_s():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        past = now() - timedelta(minutes=1)
        removed = lemmy.add_post(cast.pics, cast.alice, scheduled=now() + timedelta(minutes=5))
        banned = lemmy.add_post(cast.pics, cast.mod, scheduled=now() + timedelta(minutes=5))
        fine = lemmy.add_post(cast.pics, cast.alice, scheduled=now() + timedelta(minutes=5))
        for post in (removed, banned, fine):
            lemmy.post(post.id).scheduled = past
        lemmy.post(removed.id).removed = True
        lemmy.person(cast.mod.id).banned = True
        assert lemmy.publish_scheduled_posts() == [fine.id]
        assert lemmy.post(removed.id).scheduled == past
        assert lemmy.post(banned.id).scheduled == past


def test_0_19_has_no_scheduled_posts():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        with pytest.raises(ValueError, match=r"1\.0"):
            lemmy.add_post(cast.pics, cast.alice, scheduled=now() + timedelta(hours=1))
