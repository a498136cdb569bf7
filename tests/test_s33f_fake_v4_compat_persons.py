"""Lemmy 1.0's v3 layer shows persons as its converters fill 0.19's shapes.

Facts, LemmyNet/lemmy 1.0.0-beta.1, crates/api/routes_v3/src/convert.rs:
- ``convert_person`` (:357-409): ``banned: false``, ``ban_expires: None``,
  ``instance_id: Default::default()`` (0), whatever the person's bans.
- ``convert_person_view`` (:742-750): ``is_admin: false`` ("explicitly set to false to
  hide all admin options from ui"); ``get_site_v3`` maps the site's ``admins`` with it
  (handlers.rs:257).
- ``convert_local_user`` (:134-181): ``admin: false``; ``convert_my_user`` (:336-355):
  ``follows``, ``moderates``, ``discussion_languages`` empty.
- ``convert_comment_view`` (:253-290): ``banned_from_community: false``;
  ``convert_community_view`` (:183-218): ``subscribed`` from the follow state
  (``ApprovalRequired`` and ``Pending`` -> ``Pending``).
- ``create_post_report_v3`` (handlers.rs:448-496): the report's own row all defaults, the
  creator flags false, no resolver.
Every answer still validates against lemmy-js-client 0.19.9's schemas.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

SCHEMAS = Path(__file__).parent / "schemas"


def _valid(name: str, body: dict) -> dict:
    jsonschema.validate(body, json.loads((SCHEMAS / f"{name}.json").read_text()))
    return body


def _v3(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_the_v3_layer_of_1_0_shows_no_ban_and_no_admin():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.bob, name="from afar")
        comment = lemmy.add_comment(post, cast.bob, content="hi")
        admin_post = lemmy.add_post(cast.pics, cast.admin, name="by an admin")
        lemmy.ban_at_home(cast.bob, reason="spam at home")
        cast.bob.banned = True  # and here
        bot = _v3(lemmy, "modbot")

        site = _valid("GetSiteResponse", bot.get("/api/v3/site").json())
        assert site["admins"] and all(a["is_admin"] is False for a in site["admins"])
        me = site["my_user"]
        assert me["local_user_view"]["local_user"]["admin"] is False  # modbot is an admin
        assert (me["moderates"], me["follows"], me["discussion_languages"]) == ([], [], [])

        posts = bot.get("/api/v3/post/list", params={"type_": "All", "sort": "New"}).json()
        views = {v["post"]["id"]: v for v in _valid("GetPostsResponse", posts)["posts"]}
        creator = views[post.id]["creator"]
        assert creator["banned"] is False and "ban_expires" not in creator
        assert creator["instance_id"] == 0
        assert views[admin_post.id]["creator_is_admin"] is True  # kept by convert_post_view
        # convert_post_view: `hidden` from post_actions.hidden_at (:236)
        lemmy.post(admin_post.id).hidden_by.add(cast.bot.id)
        shown = bot.get("/api/v3/post/list", params={"show_hidden": "true", "sort": "New"})
        hidden = {v["post"]["id"]: v["hidden"] for v in shown.json()["posts"]}
        assert hidden[admin_post.id] is True and hidden[post.id] is False

        comments = bot.get("/api/v3/comment/list", params={"post_id": post.id}).json()
        (view,) = _valid("GetCommentsResponse", comments)["comments"]
        assert view["comment"]["id"] == comment.id and view["creator"]["banned"] is False

        detail = bot.get("/api/v3/post", params={"id": post.id}).json()
        assert _valid("GetPostResponse", detail)["post_view"]["creator"]["banned"] is False

        r = bot.post("/api/v3/post/report", json={"post_id": post.id, "reason": "csam"})
        report = _valid("PostReportResponse", r.json())["post_report_view"]
        assert report["post_report"]["id"] == 0 and report["post_report"]["reason"] == ""
        assert report["post_creator"]["banned"] is False
        assert lemmy.reports[-1].reason == "csam"  # written all the same


def test_the_v3_layer_of_1_0_shows_a_follow_and_a_community_ban_as_converted():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        members = lemmy.add_community("members", visibility="private", moderators=[cast.mod.id])
        lemmy.follow(cast.pics, cast.alice)
        lemmy.follow(members, cast.alice, state="approval_required")
        post = lemmy.add_post(cast.pics, cast.bob)
        lemmy.add_comment(post, cast.bob)
        alice = _v3(lemmy, "alice")

        def subscribed(name: str) -> str:
            r = alice.get("/api/v3/community", params={"name": name})
            return _valid("GetCommunityResponse", r.json())["community_view"]["subscribed"]

        assert subscribed("pics") == "Subscribed"
        assert subscribed("members") == "Pending"
        assert subscribed("nsfw") == "NotSubscribed"

        # alice banned from pics: her post views say so, her comment views do not
        admin = httpx.Client(base_url=lemmy.url, timeout=10)
        r = admin.post(
            "/api/v4/account/auth/login",
            json={"username_or_email": "admin", "password": PASSWORD},
        )
        admin.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
        r = admin.post(
            "/api/v4/community/ban_user",
            json={
                "community_id": cast.pics.id,
                "person_id": cast.alice.id,
                "ban": True,
                "reason": "x",
            },
        )
        assert r.status_code == 200, r.text
        posts = alice.get("/api/v3/post/list", params={"community_id": cast.pics.id}).json()
        assert [v["banned_from_community"] for v in posts["posts"]] == [True]
        comments = alice.get("/api/v3/comment/list", params={"post_id": post.id}).json()
        assert [v["banned_from_community"] for v in comments["comments"]] == [False]
