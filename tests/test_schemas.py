"""Every response type the fake Lemmy sends validates against lemmy-js-client 0.19.9.

The schemas in tests/schemas/ are generated from the client's TypeScript types (see
tests/schemas/README.md): a missing, extra, renamed or mistyped field fails here. One
fake instance is driven over real HTTP through every API route, with content that
fills the optional fields (url, body, thumbnail, updated, ban_expires, resolver, ...).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import httpx
import jsonschema
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import CustomEmoji

SCHEMAS = Path(__file__).parent / "schemas"
SCHEMA_NAMES = sorted(p.stem for p in SCHEMAS.glob("*.json"))


def _login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


@pytest.fixture(scope="module")
def samples(photos):
    """(schema name -> [(label, JSON)]) from one run through every route, and the set of
    API routes that were called."""
    got: dict[str, list[tuple[str, object]]] = defaultdict(list)
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        anon = httpx.Client(base_url=lemmy.url, timeout=10)

        def call(schema: str, c: httpx.Client, method: str, path: str, **kwargs):
            r = c.request(method, f"/api/v3{path}", **kwargs)
            label = f"{method} {path} {kwargs.get('params') or kwargs.get('json') or ''}"
            assert (r.status_code == 200) == bool(schema), f"{label}: {r.status_code} {r.text}"
            got[schema if r.status_code == 200 else "LemmyErrorType"].append((label, r.json()))
            return r

        login = anon.post(
            "/api/v3/user/login", json={"username_or_email": "alice", "password": PASSWORD}
        )
        got["LoginResponse"].append(("POST /user/login", login.json()))
        bot, mod, alice = _login(lemmy, "modbot"), _login(lemmy, "mod"), _login(lemmy, "alice")

        upload = lemmy.add_upload(cast.alice, photos["coffee"])
        thumb = lemmy.add_thumbnail(photos["china"])
        lemmy.add_upload(cast.bob, photos["chelsea"])  # remote uploader: no local_user_id
        post = lemmy.add_post(
            cast.pics,
            cast.alice,
            name="full",
            url=upload.url,
            thumbnail_url=thumb.url,
            body=f"![x]({upload.url})",
            embed_video_url="https://v.example/x.mp4",
            featured_local=True,
            language_id=37,
        )
        lemmy.edit_post(post.id, name="full, edited")
        bare = lemmy.add_post(cast.nsfw, cast.bob, name="bare")
        comment = lemmy.add_comment(post, cast.bob, content="![y](https://x.example/y.png)")
        reply = lemmy.add_comment(post, cast.alice, content="reply", parent=comment)
        lemmy.edit_comment(reply.id, content="reply, edited")

        with lemmy.state.lock:  # a custom emoji: 0.19 lists them in GET /site
            lemmy.state.custom_emojis.append(
                CustomEmoji(1, "party", upload.url, post.published, "party", "fun", ["yay"])
            )
        lemmy.set_sidebar(f"rules ![r]({upload.url})")
        call("GetSiteResponse", bot, "GET", "/site")
        call("GetSiteResponse", anon, "GET", "/site")
        call("SuccessResponse", bot, "GET", "/user/validate_auth")
        call("SuccessResponse", _login(lemmy, "admin"), "POST", "/user/logout")
        call("SuccessResponse", bot, "PUT", "/user/save_user_settings", json={"show_nsfw": True})
        call("GetPostsResponse", bot, "GET", "/post/list", params={"type_": "All", "sort": "New"})
        call("GetPostsResponse", anon, "GET", "/post/list", params={"page": 9})  # empty
        call("GetPostResponse", bot, "GET", "/post", params={"id": post.id})
        call("GetCommentsResponse", bot, "GET", "/comment/list", params={"sort": "New"})
        call("CommentResponse", bot, "GET", "/comment", params={"id": comment.id})
        call("GetCommunityResponse", bot, "GET", "/community", params={"name": "pics"})
        lemmy.add_community(
            "decorated",
            icon=upload.url,
            banner="https://x.example/banner.png",
            description="with images",
            removed=True,
        )
        call("ListCommunitiesResponse", bot, "GET", "/community/list", params={"sort": "New"})
        call("ListCommunitiesResponse", anon, "GET", "/community/list", params={"page": 2})
        call("GetPersonDetailsResponse", bot, "GET", "/user", params={"username": "alice"})
        call("ListMediaResponse", bot, "GET", "/admin/list_all_media")
        call("ListMediaResponse", alice, "GET", "/account/list_media")
        call(
            "SuccessResponse",
            bot,
            "POST",
            "/post/mark_as_read",
            json={"post_ids": [post.id], "read": True},
        )
        call(
            "PostReportResponse",
            bot,
            "POST",
            "/post/report",
            json={"post_id": post.id, "reason": "nsfw"},
        )
        call(
            "CommentReportResponse",
            bot,
            "POST",
            "/comment/report",
            json={"comment_id": comment.id, "reason": "nsfw"},
        )
        call(
            "PostReportResponse",
            mod,
            "PUT",
            "/post/report/resolve",
            json={"report_id": 1, "resolved": True},
        )
        call(
            "CommentReportResponse",
            mod,
            "PUT",
            "/comment/report/resolve",
            json={"report_id": 1, "resolved": True},
        )
        call("ListPostReportsResponse", mod, "GET", "/post/report/list")
        call("ListCommentReportsResponse", mod, "GET", "/comment/report/list")
        call(
            "PostResponse",
            mod,
            "POST",
            "/post/remove",
            json={"post_id": bare.id, "removed": True, "reason": "x"},
        )
        call(
            "CommentResponse",
            mod,
            "POST",
            "/comment/remove",
            json={"comment_id": reply.id, "removed": True},
        )
        call(
            "PrivateMessageResponse",
            bot,
            "POST",
            "/private_message",
            json={"content": "hello", "recipient_id": cast.admin.id},
        )
        call(
            "PrivateMessagesResponse",
            bot,
            "GET",
            "/private_message/list",
            params={"unread_only": "false", "creator_id": cast.bot.id},
        )
        call(
            "BanFromCommunityResponse",
            mod,
            "POST",
            "/community/ban_user",
            json={
                "community_id": cast.pics.id,
                "person_id": cast.bob.id,
                "ban": True,
                "expires": int(time.time()) + 3600,
            },
        )
        call(
            "BanPersonResponse",
            bot,
            "POST",
            "/user/ban",
            json={
                "person_id": cast.bob.id,
                "ban": True,
                "remove_data": True,
                "expires": int(time.time()) + 3600,
                "reason": "x",
            },
        )
        # the modlog: every kind of row the fake writes, seen by an admin (who acted shown),
        # a community's moderator, and an anonymous visitor (names hidden)
        call("GetModlogResponse", bot, "GET", "/modlog")
        call("GetModlogResponse", mod, "GET", "/modlog", params={"community_id": cast.pics.id})
        call("GetModlogResponse", anon, "GET", "/modlog", params={"type_": "ModRemoveComment"})
        call("SuccessResponse", bot, "POST", "/admin/purge/comment", json={"comment_id": reply.id})
        call("SuccessResponse", bot, "POST", "/admin/purge/post", json={"post_id": post.id})
        call(
            "SuccessResponse", bot, "POST", "/admin/purge/person", json={"person_id": cast.alice.id}
        )
        other = lemmy.add_community("other")
        call(
            "SuccessResponse",
            bot,
            "POST",
            "/admin/purge/community",
            json={"community_id": other.id},
        )

        call("GetModlogResponse", bot, "GET", "/modlog", params={"limit": 50})  # purges too
        call("GetModlogResponse", anon, "GET", "/modlog", params={"other_person_id": cast.bob.id})

        # errors: 400, 401, 404, rate limiting, deserialize errors, injected faults
        call("", bot, "GET", "/modlog", params={"limit": 51})
        call("", bot, "GET", "/modlog", params={"type_": "ModRemovePosts"})
        call("", mod, "POST", "/admin/purge/post", json={"post_id": bare.id})
        call("", anon, "POST", "/post/remove", json={"post_id": bare.id, "removed": True})
        call("", anon, "GET", "/user/validate_auth")
        call("", bot, "POST", "/user/ban", json={"person_id": 999, "ban": True})
        call("", bot, "POST", "/user/ban", json={"person_id": cast.admin.id, "ban": True})
        call("", bot, "GET", "/post/list", params={"limit": 51})
        call("", bot, "GET", "/post/list", params={"sort": "Newest"})
        call("", bot, "POST", "/private_message", json={"content": "x", "recipient_id": "1"})
        call("", bot, "GET", "/community", params={"name": "nope"})
        call("", bot, "GET", "/community/list", params={"limit": 51})
        call("", alice, "POST", "/post/report", json={"post_id": bare.id, "reason": ""})
        lemmy.fail_next("/api/v3/comment/list", status=400, error="rate_limit_error")
        call("", bot, "GET", "/comment/list")
        for _ in range(11):
            r = anon.post("/api/v3/user/login", json={"username_or_email": "x", "password": "y"})
        got["LemmyErrorType"].append(("login rate limit", r.json()))
        calls = {(r.method, r.path) for r in lemmy.requests if r.path.startswith("/api/v3/")}
        routes = {
            (m, r.path) for r in lemmy.api.routes(lambda h: h) for m in r.methods if m != "HEAD"
        }
    return got, calls, routes


def test_every_api_route_was_exercised(samples):
    _, calls, routes = samples
    assert routes - calls == set()


def test_every_schema_has_samples(samples):
    got, _, _ = samples
    assert sorted(got) == SCHEMA_NAMES


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_responses_validate(samples, name):
    got, _, _ = samples
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    failures = []
    for label, body in got[name]:
        for error in validator.iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            failures.append(f"{label}: at {where}: {error.message}")
    if failures:
        pytest.fail(
            f"{len(failures)} schema violation(s) of {name}:\n" + "\n".join(failures[:20]),
            pytrace=False,
        )
