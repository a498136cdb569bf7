"""The fake Lemmy 1.0 behaves like Lemmy 1.0 (API v4) + pict-rs where a bot depends on it.

Facts from LemmyNet/lemmy at tag 1.0.0-beta.1 (see `fakelemmy/lemmy_api_v4.py`).
Everything goes through real HTTP (httpx) against the running fake. Each test starts its
own fake (0.2 s) because it asserts what whole listings show.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest
from PIL import Image

from fakelemmy import FakeLemmy
from fakelemmy.lemmy_api_v4 import decode_cursor
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now

V4 = "/api/v4"


@pytest.fixture
def lemmy4():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def client(lemmy, name: str | None = None, stay: bool = True, **kwargs) -> httpx.Client:
    """An httpx client for `lemmy`, logged in as `name` on API v4 (Bearer) unless None."""
    c = httpx.Client(base_url=lemmy.url, timeout=10, **kwargs)
    if name is not None:
        form = {"username_or_email": name, "password": PASSWORD}
        if stay:
            form["stay_logged_in"] = True
        r = c.post(f"{V4}/account/auth/login", json=form)
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def ids(response: httpx.Response, kind: str = "post") -> list[int]:
    assert response.status_code == 200, response.text
    return [item[kind]["id"] for item in response.json()["items"]]


def ago(minutes: float):
    return now() - timedelta(minutes=minutes)


ALL_NEW = {"type_": "all", "sort": "new"}
SCHEMAS = Path(__file__).parent / "schemas" / "v4"


def community_ids(response: httpx.Response) -> list[int]:
    """The community ids of a `community/list` page, checked against the client's
    `PagedResponse<CommunityView>` (tests/schemas/v4/ListCommunitiesResponse.json)."""
    assert response.status_code == 200, response.text
    schema = json.loads((SCHEMAS / "ListCommunitiesResponse.json").read_text())
    jsonschema.Draft7Validator(schema).validate(response.json())
    return ids(response, "community")


# ---------------------------------------------------------------- version, login, auth
def test_version_answers_tell_1_0_from_0_19():
    with FakeLemmy(version="1.0") as new, FakeLemmy() as old:
        info = httpx.get(f"{new.url}/nodeinfo/2.0.json", follow_redirects=True).json()
        assert info["software"]["version"] == "1.0.0-beta.1"
        assert httpx.get(f"{new.url}{V4}/site").json()["version"] == "1.0.0-beta.1"
        assert httpx.get(f"{old.url}{V4}/site").status_code == 404
        assert httpx.get(f"{new.url}/api/v3/site").json()["version"] == "1.0.0-beta.1"
        assert httpx.get(f"{old.url}/api/v3/site").json()["version"] == "0.19.9"
    assert FakeLemmy(version="1.0.0-beta.1-12-g439734d").api_version == "v4"


def test_tokens_expire_after_a_week_unless_stay_logged_in(lemmy4):
    week = client(lemmy4, "modbot", stay=False)
    forever = client(lemmy4, "modbot", stay=True)
    nsfw = lemmy4.add_post(lemmy4.cast.nsfw, lemmy4.cast.alice)
    lemmy4.cast.bot.show_nsfw = True
    assert ids(week.get(f"{V4}/post/list")) == [nsfw.id]
    assert lemmy4.age_tokens(timedelta(days=6)) == 0
    assert week.get(f"{V4}/account/validate_auth").json() == {"success": True}
    assert lemmy4.age_tokens(timedelta(days=1, seconds=1)) == 1
    expired = week.get(f"{V4}/account/validate_auth")
    assert (expired.status_code, expired.json()) == (
        400,
        {"error": "not_logged_in", "cause": "NotLoggedIn"},
    )
    assert week.get(f"{V4}/account").status_code == 401
    assert ids(week.get(f"{V4}/post/list")) == []  # silently anonymous: NSFW hidden
    assert forever.get(f"{V4}/account").json()["local_user_view"]["person"]["name"] == "modbot"
    wrong = client(lemmy4).post(
        f"{V4}/account/auth/login", json={"username_or_email": "modbot", "password": "no"}
    )
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"error": "incorrect_login", "cause": "IncorrectLogin"},
    )


def test_dropped_token_reads_anonymous_actions_401_and_site_has_no_my_user(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    bot = client(lemmy4, "modbot")
    assert "my_user" not in bot.get(f"{V4}/site").json()  # v4: GET /account instead
    me = bot.get(f"{V4}/account").json()["local_user_view"]["local_user"]
    assert (me["admin"], me["show_nsfw"], me["show_bot_accounts"]) == (True, False, False)
    assert lemmy4.invalidate_tokens("modbot") == 1
    assert bot.get(f"{V4}/post/list").status_code == 200
    action = bot.post(
        f"{V4}/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"}
    )
    assert (action.status_code, action.json()["error"]) == (401, "incorrect_login")
    assert bot.get(f"{V4}/account/validate_auth").status_code == 400
    assert lemmy4.mutating_requests()[-1].path == f"{V4}/post/remove"  # refused, still counted


def test_a_ban_keeps_the_login_but_actions_answer_site_ban(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    mod, bot = client(lemmy4, "mod"), client(lemmy4, "modbot")
    r = bot.post(f"{V4}/admin/ban", json={"person_id": cast.mod.id, "ban": True, "reason": "x"})
    assert r.json()["person_view"]["banned"] is True
    assert mod.get(f"{V4}/account").json()["local_user_view"]["banned"] is True
    r = mod.post(f"{V4}/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"})
    assert (r.status_code, r.json()) == (400, {"error": "site_ban", "cause": "SiteBan"})


# ---------------------------------------------------------------- limits and errors
def test_rate_limits_answer_429_with_retry_after():
    with FakeLemmy(
        version="1.0", rate_limit=(6, 60), login_rate_limit=(1, 3600), image_rate_limit=(1, 3600)
    ) as lemmy:
        cast = standard_cast(lemmy)
        bot = client(lemmy, "modbot")  # message 1, register 1
        first = bot.get(f"{V4}/post/list")  # message 2
        assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == (
            "6",
            "4",
        )
        again = client(lemmy).post(
            f"{V4}/account/auth/login", json={"username_or_email": "mod", "password": PASSWORD}
        )  # message 3, register: full
        assert (again.status_code, again.json()) == (429, {"error": "too_many_requests"})
        assert 3500 <= int(again.headers["retry-after"]) <= 3600
        upload = lemmy.add_upload(cast.alice, b"not an image")
        delete = {"filename": upload.alias}
        assert bot.request("DELETE", f"{V4}/image", json=delete).is_success  # message 4, image 1
        limited = bot.request("DELETE", f"{V4}/image", json=delete)  # the image bucket: 1/h
        assert (limited.status_code, limited.json()) == (429, {"error": "too_many_requests"})
        assert 3500 <= int(limited.headers["retry-after"]) <= 3600
        assert bot.get(f"{V4}/site").status_code == 200  # message 6
        spent = bot.get(f"{V4}/site")
        assert spent.status_code == 429 and int(spent.headers["retry-after"]) <= 60
        assert httpx.get(f"{lemmy.url}/nodeinfo/2.1").status_code == 200  # not under /api


def test_unknown_routes_and_every_v3_moderation_route_answer_404_empty(lemmy4, photos):
    upload = lemmy4.add_upload(lemmy4.cast.alice, photos["coffee"])
    bot = client(lemmy4, "modbot")
    for method, path in (
        ("GET", "/api/v3/user/validate_auth"),
        ("POST", "/api/v3/post/remove"),
        ("POST", "/api/v3/comment/remove"),
        ("POST", "/api/v3/admin/purge/post"),
        ("POST", "/api/v3/user/ban"),
        ("POST", "/api/v3/community/ban_user"),
        ("POST", "/api/v3/private_message"),
        ("GET", "/api/v3/admin/list_all_media"),
        ("GET", "/api/v3/account/list_media"),
        ("GET", "/api/v3/comment"),
        ("GET", "/api/v3/user"),
        ("GET", "/api/v3/post/report/list"),
        ("GET", "/api/v3/modlog"),
        ("POST", "/api/v3/post/mark_as_read"),
        ("PUT", "/api/v3/user/save_user_settings"),
        ("GET", "/api/v3/image_proxy"),
        ("GET", f"/pictrs/image/{upload.alias}"),
        ("GET", "/api/v4/nothing"),
    ):
        r = bot.request(method, path, json={} if method != "GET" else None)
        assert (r.status_code, r.content) == (404, b""), (method, path)
    wrong_method = bot.get(f"{V4}/post/remove")
    assert (wrong_method.status_code, wrong_method.content) == (405, b"")


def test_malformed_requests_get_serdes_error_and_unknown_fields_are_ignored(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    bot = client(lemmy4, "modbot")
    body = b'{"post_id": %d, "removed": true}' % post.id
    r = bot.post(f"{V4}/post/remove", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {
        "error": "unknown",
        "message": f"Json deserialize error: missing field `reason` at line 1 column {len(body)}",
    }
    r = bot.post(f"{V4}/post/remove", json={"post_id": str(post.id), "removed": True, "reason": ""})
    assert r.json()["message"].startswith(
        f'Json deserialize error: invalid type: string "{post.id}", expected i32 at line 1'
    )
    r = bot.get(f"{V4}/post/list", params={"type_": "All"})
    assert r.json()["message"].startswith("Query deserialize error: unknown variant `All`")
    assert bot.get(f"{V4}/post/list", params={"show_nsfw": "True"}).status_code == 400
    text = bot.post(f"{V4}/post/remove", content=b"{}", headers={"content-type": "text/plain"})
    assert text.json() == {"error": "unknown", "message": "Content type error"}
    # v3 names are not v4 fields: Lemmy drops them without a word; the fake notes them
    r = bot.post(
        f"{V4}/admin/ban",
        json={"person_id": cast.bob.id, "ban": True, "reason": "x", "remove_data": True},
    )
    assert r.status_code == 200 and lemmy4.post(post.id).removed is False
    bot.get(f"{V4}/post/list", params={"page": 2, "sort": "new"})
    assert [(q.path, q.ignored_fields) for q in lemmy4.ignored_field_requests()] == [
        (f"{V4}/admin/ban", ["remove_data"]),
        (f"{V4}/post/list", ["page"]),
    ]


def test_idempotency_key_repeats_answer_422_and_do_nothing(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    bot = client(lemmy4, "modbot")
    form = {"post_id": post.id, "reason": "spam"}
    headers = {"Idempotency-Key": "report-1"}
    assert bot.post(f"{V4}/post/report", json=form, headers=headers).status_code == 200
    repeat = bot.post(f"{V4}/post/report", json=form, headers=headers)
    assert (repeat.status_code, repeat.content) == (422, b"")
    assert len(lemmy4.reports) == 1


def test_fail_next_on_1_0_is_a_429_or_a_lemmy_error_with_its_cause(lemmy4):
    bot = client(lemmy4, "modbot")
    lemmy4.fail_next(lemmy4.api_path("/api/v3/post/list"))
    r = bot.get(f"{V4}/post/list")
    assert (r.status_code, r.json(), r.headers["retry-after"]) == (
        429,
        {"error": "too_many_requests"},
        "1",
    )
    lemmy4.fail_next(lemmy4.api_path("/api/v3/user/ban"), error="not_an_admin")
    r = bot.post(f"{V4}/admin/ban", json={})
    assert (r.status_code, r.json()) == (400, {"error": "not_an_admin", "cause": "NotAnAdmin"})
    lemmy4.fail_next(f"{V4}/site", status=502)
    assert "Bad Gateway" in bot.get(f"{V4}/site").text
    assert lemmy4.api_path("/api/v3/admin/list_all_media*") == f"{V4}/image/list*"


# ---------------------------------------------------------------- the v3 layer
def test_v3_layer_browses_with_1_0s_paging_quirks(lemmy4):
    cast = lemmy4.cast
    posts = [lemmy4.add_post(cast.pics, cast.alice, published=ago(60 - i)) for i in range(12)]
    for i in range(3):
        lemmy4.add_comment(posts[0], cast.bob, content=f"c{i}", published=ago(30 - i))
    v3 = httpx.Client(base_url=lemmy4.url, timeout=10)
    r = v3.post("/api/v3/user/login", json={"username_or_email": "modbot", "password": PASSWORD})
    v3.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    site = v3.get("/api/v3/site").json()
    assert site["my_user"]["local_user_view"]["person"]["name"] == "modbot"
    newest = [p.id for p in reversed(posts)]
    query = {"type_": "All", "sort": "New", "limit": 1}
    page = v3.get("/api/v3/post/list", params={**query, "page": 12}).json()
    assert [v["post"]["id"] for v in page["posts"]] == [newest[9]]  # page capped at 10
    assert "next_page" not in page
    cursor = v3.get("/api/v3/post/list", params={**query, "page_cursor": "x"}).json()
    assert [v["post"]["id"] for v in cursor["posts"]] == [newest[0]]  # ignored
    assert v3.get("/api/v3/post/list", params={"sort": "new"}).status_code == 400  # v3 names
    comments = v3.get("/api/v3/comment/list", params={"sort": "New", "limit": 2, "page": 2})
    assert [v["comment"]["content"] for v in comments.json()["comments"]] == ["c2", "c1"]
    assert lemmy4.age_tokens(timedelta(days=8)) == 1  # the v3 login lasts a week too
    assert "my_user" not in v3.get("/api/v3/site").json()


# ---------------------------------------------------------------- listings
def test_post_list_visibility_admins_see_removed_posts_mods_do_not(lemmy4):
    cast = lemmy4.cast
    plain = lemmy4.add_post(cast.pics, cast.alice, published=ago(9))
    removed = lemmy4.add_post(cast.pics, cast.alice, published=ago(8))
    lemmy4.post(removed.id).removed = True
    deleted = lemmy4.add_post(cast.pics, cast.mod, published=ago(7))
    lemmy4.post(deleted.id).deleted = True
    nsfw = lemmy4.add_post(cast.pics, cast.alice, nsfw=True, published=ago(6))
    other_bot = lemmy4.add_person("otherbot", bot_account=True)
    by_bot = lemmy4.add_post(cast.pics, other_bot, published=ago(5))
    unlisted = lemmy4.add_community("quiet", visibility="unlisted")
    hidden_away = lemmy4.add_post(unlisted, cast.alice, published=ago(4))
    german = lemmy4.add_post(cast.pics, cast.alice, language_id=32, published=ago(3))
    lemmy4.cast.admin.discussion_languages = [0, 37]

    bot, admin, mod = client(lemmy4, "modbot"), client(lemmy4, "admin"), client(lemmy4, "mod")
    assert ids(bot.get(f"{V4}/post/list", params=ALL_NEW)) == [german.id, removed.id, plain.id]
    full = {**ALL_NEW, "show_nsfw": "true"}
    assert ids(bot.get(f"{V4}/post/list", params=full)) == [
        german.id,
        nsfw.id,
        removed.id,
        plain.id,
    ]
    assert ids(admin.get(f"{V4}/post/list", params=ALL_NEW)) == [by_bot.id, removed.id, plain.id]
    assert removed.id not in ids(mod.get(f"{V4}/post/list", params=ALL_NEW))
    assert deleted.id in ids(mod.get(f"{V4}/post/list", params=ALL_NEW))  # its creator
    assert ids(bot.get(f"{V4}/post/list", params={"community_id": unlisted.id})) == [hidden_away.id]
    assert ids(bot.get(f"{V4}/post/list", params={"type_": "moderator_view"})) == []
    mod_view = ids(mod.get(f"{V4}/post/list", params={"type_": "moderator_view", "sort": "new"}))
    assert removed.id not in mod_view and plain.id in mod_view  # not widened by moderating
    anon = ids(client(lemmy4).get(f"{V4}/post/list", params={"sort": "new"}))  # type_: local
    assert anon == [german.id, by_bot.id, plain.id]
    lemmy4.site.private_instance = True
    private = client(lemmy4).get(f"{V4}/post/list")
    assert (private.status_code, private.json()["error"]) == (400, "instance_is_private")


def test_get_post_marks_read_and_list_marks_by_setting_unless_mark_as_read_false(lemmy4):
    cast = lemmy4.cast
    first = lemmy4.add_post(cast.pics, cast.alice, published=ago(2))
    second = lemmy4.add_post(cast.pics, cast.alice, published=ago(1))
    cast.bot.auto_mark_fetched_posts_as_read = True
    cast.bot.show_read_posts = False
    bot = client(lemmy4, "modbot")
    query = {**ALL_NEW, "mark_as_read": "false"}
    assert ids(bot.get(f"{V4}/post/list", params=query)) == [second.id, first.id]
    assert ids(bot.get(f"{V4}/post/list", params=query)) == [second.id, first.id]
    assert lemmy4.read_marking_requests() == []
    detail = bot.get(f"{V4}/post", params={"id": first.id}).json()
    assert "read_at" in detail["post_view"]["post_actions"]
    assert ids(bot.get(f"{V4}/post/list", params=query)) == [second.id]  # read: hidden
    assert ids(bot.get(f"{V4}/post/list", params={**query, "show_read": "true"})) == [
        second.id,
        first.id,
    ]
    bot.get(f"{V4}/post/list", params=ALL_NEW)  # the account's auto-mark setting
    assert ids(bot.get(f"{V4}/post/list", params=query)) == []
    assert [r.path for r in lemmy4.read_marking_requests()] == [f"{V4}/post", f"{V4}/post/list"]
    assert lemmy4.mutating_requests() == []  # read marks are not moderation


def test_default_time_range_hides_old_posts_and_comments_in_every_sort(lemmy4):
    cast = lemmy4.cast
    old = lemmy4.add_post(cast.pics, cast.alice, published=now() - timedelta(days=3))
    new = lemmy4.add_post(cast.pics, cast.alice, published=ago(5))
    old_comment = lemmy4.add_comment(new, cast.bob, published=now() - timedelta(days=2))
    lemmy4.site.default_post_time_range_seconds = 86400
    bot = client(lemmy4, "modbot")
    for sort in ("new", "old", "top", "hot"):
        assert ids(bot.get(f"{V4}/post/list", params={"type_": "all", "sort": sort})) == [new.id]
    everything = {**ALL_NEW, "time_range_seconds": 0}
    assert ids(bot.get(f"{V4}/post/list", params=everything)) == [new.id, old.id]
    assert ids(bot.get(f"{V4}/comment/list", params=ALL_NEW), "comment") == []
    assert ids(bot.get(f"{V4}/comment/list", params=everything), "comment") == [old_comment.id]
    cast.bot.default_post_time_range_seconds = 7 * 86400  # the account's beats the site's
    assert ids(bot.get(f"{V4}/post/list", params=ALL_NEW)) == [new.id, old.id]


def test_media_posts_hidden_by_setting_and_hidden_posts(lemmy4, photos):
    cast = lemmy4.cast
    upload = lemmy4.add_upload(cast.alice, photos["coffee"])
    image = lemmy4.add_post(cast.pics, cast.alice, url=upload.url, published=ago(2))
    text = lemmy4.add_post(cast.pics, cast.alice, published=ago(1))
    cast.bot.hide_posts_with_media = True
    lemmy4.post(text.id).hidden_by.add(cast.bot.id)
    bot = client(lemmy4, "modbot")
    assert ids(bot.get(f"{V4}/post/list", params=ALL_NEW)) == []
    shown = {**ALL_NEW, "hide_posts_with_media": "false", "show_hidden": "true"}
    assert ids(bot.get(f"{V4}/post/list", params=shown)) == [text.id, image.id]


def test_comments_nsfw_only_by_setting_removed_ones_blanked_for_others(lemmy4):
    cast = lemmy4.cast
    nsfw_post = lemmy4.add_post(cast.nsfw, cast.alice)
    nsfw_comment = lemmy4.add_comment(nsfw_post, cast.bob, published=ago(3))
    plain = lemmy4.add_post(cast.pics, cast.alice)
    removed = lemmy4.add_comment(plain, cast.bob, content="the text", published=ago(2))
    lemmy4.comment(removed.id).removed = True
    bot, alice = client(lemmy4, "modbot"), client(lemmy4, "alice")
    listing = bot.get(f"{V4}/comment/list", params={**ALL_NEW, "show_nsfw": "true"})
    assert ids(listing, "comment") == [removed.id]  # no such parameter for comments
    assert lemmy4.ignored_field_requests()[-1].ignored_fields == ["show_nsfw"]
    assert listing.json()["items"][0]["comment"]["content"] == "the text"  # an admin
    seen = alice.get(f"{V4}/comment/list", params=ALL_NEW).json()["items"]
    assert [(c["comment"]["id"], c["comment"]["content"]) for c in seen] == [(removed.id, "")]
    assert bot.put(f"{V4}/account/settings/save", json={"show_nsfw": True}).status_code == 200
    assert ids(bot.get(f"{V4}/comment/list", params=ALL_NEW), "comment") == [
        removed.id,
        nsfw_comment.id,
    ]


def test_cursor_paging_only_and_its_errors(lemmy4):
    cast = lemmy4.cast
    posts = [lemmy4.add_post(cast.pics, cast.alice, published=ago(10 - i)) for i in range(5)]
    newest = [p.id for p in reversed(posts)]
    bot = client(lemmy4, "modbot")
    query = {**ALL_NEW, "limit": 2}
    first = bot.get(f"{V4}/post/list", params=query).json()
    assert [v["post"]["id"] for v in first["items"]] == newest[:2]
    assert "prev_page" not in first
    assert decode_cursor(first["next_page"]) == (False, str(newest[1]), False)  # Lemmy's own
    second = bot.get(f"{V4}/post/list", params={**query, "page_cursor": first["next_page"]})
    assert ids(second) == newest[2:4] and "prev_page" in second.json()
    third = bot.get(f"{V4}/post/list", params={**query, "page_cursor": second.json()["next_page"]})
    assert ids(third) == newest[4:] and "next_page" not in third.json()
    back = bot.get(f"{V4}/post/list", params={**query, "page_cursor": second.json()["prev_page"]})
    assert ids(back) == newest[:2]
    assert ids(bot.get(f"{V4}/post/list", params={**query, "page": 2})) == newest[:2]  # no pages
    lemmy4.post(newest[1]).removed = True  # the row stays: its cursor still works
    assert bot.get(
        f"{V4}/post/list", params={**query, "page_cursor": first["next_page"]}
    ).is_success
    bot.post(f"{V4}/admin/purge/post", json={"post_id": newest[1], "reason": "x"})
    gone = bot.get(f"{V4}/post/list", params={**query, "page_cursor": first["next_page"]})
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")
    garbage = bot.get(f"{V4}/post/list", params={"page_cursor": "!!"})
    assert (garbage.status_code, garbage.json()["error"]) == (400, "unknown")
    for limit in (0, 51):
        r = bot.get(f"{V4}/post/list", params={"limit": limit})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_fetch_limit")
    assert len(bot.get(f"{V4}/comment/list", params={"max_depth": 9}).json()["items"]) == 0


# ---------------------------------------------------------------- community list
def test_community_list_cursor_pages_every_community_once_with_its_images(lemmy4):
    cast = lemmy4.cast
    made = [
        lemmy4.add_community(
            f"c{i}",
            published=ago(100 - i),
            icon=f"{lemmy4.url}/api/v4/image/icon{i}.png" if i % 2 else None,
            banner=f"{lemmy4.url}/api/v4/image/banner{i}.jpg" if i % 3 == 0 else None,
        )
        for i in range(23)
    ]
    far = lemmy4.add_community("far", local=False, instance="remote.example", published=ago(1))
    # the cast's pics and nsfw are the newest; nsfw is hidden from the bot (show_nsfw off)
    newest = [cast.pics.id, far.id, *(c.id for c in reversed(made))]
    bot = client(lemmy4, "modbot")
    query = {"type_": "all", "sort": "new"}
    assert community_ids(bot.get(f"{V4}/community/list", params=query)) == newest[:20]
    seen, cursor, pages = [], None, 0
    while True:
        params = {**query, "limit": 7, **({"page_cursor": cursor} if cursor else {})}
        r = bot.get(f"{V4}/community/list", params=params)
        seen += community_ids(r)
        pages += 1
        assert ("prev_page" in r.json()) == (cursor is not None)
        cursor = r.json().get("next_page")
        if cursor is None:
            break
        assert decode_cursor(cursor) == (False, str(seen[-1]), False)  # the community id
    assert seen == newest and pages == 4  # 25 communities: pages of 7, 7, 7, 4
    back = bot.get(
        f"{V4}/community/list", params={**query, "limit": 7, "page_cursor": r.json()["prev_page"]}
    )
    assert community_ids(back) == newest[14:21]
    old = bot.get(f"{V4}/community/list", params={"sort": "old", "limit": 3})
    assert community_ids(old) == [c.id for c in made[:3]]
    by_name = bot.get(f"{V4}/community/list", params={"sort": "name_desc", "limit": 3})
    assert community_ids(by_name) == [cast.pics.id, far.id, made[9].id]  # pics, far, c9
    # each entry is the CommunityView of GET /community: icon and banner as stored
    everything = bot.get(f"{V4}/community/list", params={"sort": "old", "limit": 50}).json()
    by_id = {view["community"]["id"]: view for view in everything["items"]}
    for community in (made[1], made[3], far):
        detail = bot.get(f"{V4}/community", params={"id": community.id}).json()
        assert by_id[community.id] == detail["community_view"]
    assert by_id[made[3].id]["community"]["icon"] == f"{lemmy4.url}/api/v4/image/icon3.png"
    assert by_id[made[3].id]["community"]["banner"] == f"{lemmy4.url}/api/v4/image/banner3.jpg"
    assert "icon" not in by_id[made[0].id]["community"]  # None fields are left out
    assert by_id[far.id]["community"]["ap_id"] == "https://remote.example/c/far"
    local = bot.get(f"{V4}/community/list", params={"type_": "local", "limit": 50})
    assert far.id not in community_ids(local) and len(community_ids(local)) == 24
    assert community_ids(bot.get(f"{V4}/community/list", params={"type_": "subscribed"})) == []
    search = bot.get(f"{V4}/community/list", params={"search_term": "C2", "sort": "old"})
    assert community_ids(search) == [made[2].id, *(c.id for c in made[20:23])]
    recent = bot.get(f"{V4}/community/list", params={"time_range_seconds": 600, "sort": "new"})
    assert community_ids(recent) == [cast.pics.id, far.id]


def test_community_list_limit_and_cursor_errors(lemmy4):
    bot = client(lemmy4, "modbot")
    for limit in (0, 51):
        r = bot.get(f"{V4}/community/list", params={"limit": limit})
        assert r.status_code == 400
        assert r.json() == {"error": "invalid_fetch_limit", "cause": "InvalidFetchLimit"}
    for params in ({"sort": "New"}, {"type_": "All"}, {"show_nsfw": "True"}):
        r = bot.get(f"{V4}/community/list", params=params)
        assert r.status_code == 400 and r.json()["error"] == "unknown", params
        assert r.json()["message"].startswith("Query deserialize error")
    garbage = bot.get(f"{V4}/community/list", params={"page_cursor": "!!"})
    assert (garbage.status_code, garbage.json()["error"]) == (400, "unknown")
    gone = lemmy4.add_community("gone")
    first = bot.get(f"{V4}/community/list", params={"sort": "new", "limit": 1}).json()
    assert [v["community"]["id"] for v in first["items"]] == [gone.id]
    lemmy4.community(gone.id).purged = True
    r = bot.get(f"{V4}/community/list", params={"sort": "new", "page_cursor": first["next_page"]})
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    # 20 by default, whatever the account's default_items_per_page
    for i in range(25):
        lemmy4.add_community(f"more{i}")
    lemmy4.cast.bot.default_items_per_page = 5
    assert len(community_ids(bot.get(f"{V4}/community/list"))) == 20
    bot.get(f"{V4}/community/list", params={"page": 2})
    assert [q.ignored_fields for q in lemmy4.ignored_field_requests()] == [["page"]]
    # 1.0's v3 layer serves community/list (routes_v3 `list_communities_v3`): v3 query
    # and shapes, `page` ignored (always the first page), no cursor
    v3 = bot.get("/api/v3/community/list", params={"sort": "New", "limit": 3, "page": 2})
    assert v3.status_code == 200 and set(v3.json()) == {"communities"}
    views = v3.json()["communities"]
    assert [v["community"]["id"] for v in views] == community_ids(
        bot.get(f"{V4}/community/list", params={"sort": "new", "limit": 3})
    )
    assert views[0]["community"]["actor_id"] and views[0]["counts"]["community_id"]
    assert "ap_id" not in views[0]["community"]
    old = bot.get("/api/v3/community/list", params={"sort": "Old", "limit": 1}).json()
    assert [v["community"]["id"] for v in old["communities"]] == [lemmy4.cast.pics.id]
    assert len(bot.get("/api/v3/community/list").json()["communities"]) == 20
    r = bot.get("/api/v3/community/list", params={"limit": 51})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_fetch_limit")


def test_community_list_visibility_removed_deleted_nsfw_private(lemmy4):
    cast = lemmy4.cast
    removed = lemmy4.add_community("removed", removed=True)
    deleted = lemmy4.add_community("deleted", deleted=True, moderators=[cast.mod.id])
    purged = lemmy4.add_community("purged")
    lemmy4.community(purged.id).purged = True
    members = lemmy4.add_community("members", visibility="local_only_private")
    unlisted = lemmy4.add_community("quiet", visibility="unlisted")
    private = lemmy4.add_community("private", visibility="private")
    lemmy4.add_person("lewd", password=PASSWORD, show_nsfw=True)
    shown = {cast.pics.id, members.id, unlisted.id, private.id}

    def seen(c, **extra) -> set[int]:
        params = {"type_": "all", "limit": 50, **extra}
        return set(community_ids(c.get(f"{V4}/community/list", params=params)))

    admin, alice, anon = client(lemmy4, "admin"), client(lemmy4, "alice"), client(lemmy4)
    mod = client(lemmy4, "mod")
    # removed and deleted: admins only (not their moderators); purged: nobody
    assert seen(admin) == shown | {removed.id, deleted.id}
    assert seen(admin, show_nsfw="true") == shown | {removed.id, deleted.id, cast.nsfw.id}
    views = admin.get(f"{V4}/community/list", params={"limit": 50}).json()["items"]
    flags = {
        v["community"]["id"]: (v["community"]["removed"], v["community"]["deleted"]) for v in views
    }
    assert flags[removed.id] == (True, False) and flags[deleted.id] == (False, True)
    assert seen(alice) == seen(mod) == shown
    # anonymous visitors do not see local_only_private communities
    assert seen(anon) == shown - {members.id}
    assert seen(anon, show_nsfw="true") == shown - {members.id} | {cast.nsfw.id}
    # nsfw: the account's setting or the parameter; show_nsfw=false does not hide it
    lewd = client(lemmy4, "lewd")
    assert seen(lewd) == seen(lewd, show_nsfw="false") == shown | {cast.nsfw.id}
    # moderator_view: what the viewer moderates (an admin's view is no wider)
    assert seen(mod, type_="moderator_view", show_nsfw="true") == {cast.pics.id, cast.nsfw.id}
    assert seen(admin, type_="moderator_view") == seen(anon, type_="moderator_view") == set()
    # the site's content warning: nsfw for everyone but an account that turned it off
    lemmy4.site.content_warning = "adults only"
    assert cast.nsfw.id in seen(anon) and cast.nsfw.id in seen(alice)
    assert cast.nsfw.id not in seen(alice, show_nsfw="false")
    lemmy4.site.private_instance = True
    r = anon.get(f"{V4}/community/list")
    assert (r.status_code, r.json()["error"]) == (400, "instance_is_private")


# ---------------------------------------------------------------- media
def test_media_list_uploads_and_1_0_thumbnails_with_their_post(lemmy4, photos):
    cast = lemmy4.cast
    upload = lemmy4.add_upload(cast.alice, photos["coffee"])
    remote_post = lemmy4.add_post(cast.pics, cast.bob, name="link")
    thumb = lemmy4.add_thumbnail(photos["china"], post=remote_post)
    legacy = lemmy4.add_thumbnail(photos["astronaut"])  # from 0.19: no person, never listed
    bot = client(lemmy4, "modbot")
    items = bot.get(f"{V4}/image/list").json()["items"]
    assert [i["local_image"]["pictrs_alias"] for i in items] == [upload.alias, thumb.alias]
    assert items[1]["local_image"]["thumbnail_for_post_id"] == remote_post.id
    assert (items[1]["person"]["name"], items[1]["post"]["id"]) == ("bob", remote_post.id)
    assert "post" not in items[0] and legacy.alias not in str(items)
    assert lemmy4.post(remote_post.id).thumbnail_url == thumb.url
    assert thumb.url == f"{lemmy4.url}{V4}/image/{thumb.alias}"
    alice = client(lemmy4, "alice")
    assert alice.get(f"{V4}/image/list").json()["error"] == "not_an_admin"
    assert client(lemmy4).get(f"{V4}/image/list").status_code == 401
    own = alice.get(f"{V4}/account/media/list").json()["items"]
    assert [i["local_image"]["pictrs_alias"] for i in own] == [upload.alias]
    page = bot.get(f"{V4}/image/list", params={"limit": 1}).json()
    rest = bot.get(f"{V4}/image/list", params={"limit": 1, "page_cursor": page["next_page"]})
    assert [i["local_image"]["pictrs_alias"] for i in rest.json()["items"]] == [thumb.alias]
    bot.post(f"{V4}/admin/purge/post", json={"post_id": remote_post.id, "reason": "x"})
    after = bot.get(f"{V4}/image/list").json()["items"]  # the thumbnail's row cascaded
    assert [i["local_image"]["pictrs_alias"] for i in after] == [upload.alias]


def test_store_link_previews_mode_stores_listed_thumbnails(photos):
    with FakeLemmy(version="1.0", image_mode="store_link_previews") as lemmy:
        cast = standard_cast(lemmy)
        remote = lemmy.add_remote_file("cat.jpg", photos["chelsea"])
        post = lemmy.add_post(cast.pics, cast.bob, url=remote)
        assert post.url == remote  # not proxied in this mode
        items = client(lemmy, "modbot").get(f"{V4}/image/list").json()["items"]
        assert [
            (i["local_image"]["thumbnail_for_post_id"], i["person"]["name"]) for i in items
        ] == [(post.id, "bob")]
        assert post.thumbnail_url.startswith(f"{lemmy.url}{V4}/image/")


def test_delete_image_purges_every_alias_of_the_file(lemmy4, photos):
    cast = lemmy4.cast
    first = lemmy4.add_upload(cast.alice, photos["coffee"])
    same = lemmy4.add_upload(cast.bob, photos["coffee"])
    post = lemmy4.add_post(cast.pics, cast.alice, url=first.url)
    alice, bot = client(lemmy4, "alice"), client(lemmy4, "modbot")
    refused = alice.request("DELETE", f"{V4}/image", json={"filename": first.alias})
    assert refused.json()["error"] == "not_an_admin"
    r = bot.request("DELETE", f"{V4}/image", json={"filename": first.alias})
    assert r.json() == {"success": True}
    assert not lemmy4.image_exists(first.alias) and not lemmy4.image_exists(same.alias)
    assert bot.get(f"{V4}/image/list").json()["items"] == []
    assert lemmy4.post(post.id).url == first.url  # the post is left as it is
    assert bot.get(f"{V4}/image/{first.alias}").status_code == 404
    again = bot.request("DELETE", f"{V4}/image", json={"filename": first.alias})
    assert (again.status_code, again.json()["error"]) == (400, "unknown")
    assert [r.method for r in lemmy4.mutating_requests()] == ["DELETE"] * 3


def test_image_routes_serve_process_and_proxy(lemmy4, photos):
    upload = lemmy4.add_upload(lemmy4.cast.alice, photos["chelsea"])
    anon = client(lemmy4)
    original = anon.get(f"{V4}/image/{upload.alias}")
    assert original.content == photos["chelsea"]
    small = anon.get(f"{V4}/image/{upload.alias}", params={"file_type": "png", "max_size": 64})
    image = Image.open(io.BytesIO(small.content))
    assert (image.format, max(image.size) <= 64) == ("PNG", True)
    ignored = anon.get(f"{V4}/image/{upload.alias}", params={"format": "jpg", "thumbnail": 64})
    assert ignored.content == photos["chelsea"]  # 0.19's parameters mean nothing on 1.0
    assert anon.get(f"{V4}/image/nothing.jpg").content == b""
    remote = lemmy4.add_remote_file("cat.jpg", photos["coffee"])
    unknown = anon.get(f"{V4}/image/proxy", params={"url": remote})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    proxied = lemmy4.proxy_url(remote)
    assert proxied.startswith(f"{lemmy4.url}{V4}/image/proxy?url=http%3A%2F%2F")
    assert anon.get(proxied).content == photos["coffee"]
    thumb = anon.get(f"{proxied}&max_size=32")
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 32


def test_proxy_all_images_rewrites_remote_images_when_stored(lemmy4, photos):
    cast = lemmy4.cast
    remote = lemmy4.add_remote_file("cat.jpg", photos["coffee"])
    page = lemmy4.add_remote_behaviour("/article", b"<html></html>", content_type="text/html")
    upload = lemmy4.add_upload(cast.alice, photos["chelsea"])
    proxy = lemmy4.proxy_url(remote)
    image_post = lemmy4.add_post(cast.pics, cast.bob, url=remote, body=f'![a]({remote} "t")')
    assert image_post.url == proxy and image_post.url_content_type == "image/jpeg"
    assert image_post.thumbnail_url == f"{proxy}&max_size=512"
    assert image_post.body == f'![a]({proxy} "t")'
    nsfw = lemmy4.add_post(cast.pics, cast.bob, url=remote, nsfw=True)
    assert (nsfw.url, nsfw.thumbnail_url) == (proxy, remote)  # no thumbnail made: raw
    link = lemmy4.add_post(cast.pics, cast.bob, url=page, thumbnail_url=remote)
    assert (link.url, link.thumbnail_url) == (page, f"{proxy}&max_size=512")
    local = lemmy4.add_post(cast.pics, cast.alice, url=upload.url)
    assert (local.url, local.thumbnail_url) == (upload.url, upload.url)
    fenced = f"```\n![z]({remote})\n```\n"
    body = f"![x]({upload.url}) ![y](/y.png) ![n](no url) [plain]({remote})\n{fenced}"
    comment = lemmy4.add_comment(local, cast.bob, content=body)
    assert comment.content == (
        f"![x]({upload.url}) ![y]() ![n](no url) [plain]({remote})\n{fenced}"
    )
    before = lemmy4.add_post(cast.pics, cast.bob, url=remote, raw=True)
    assert (before.url, before.thumbnail_url) == (remote, None)
    avatar = lemmy4.add_person("far", local=False, instance="far.example", avatar=remote)
    assert avatar.avatar == proxy
    lemmy4.site.content_warning = "NSFW here"
    shown = lemmy4.add_post(cast.pics, cast.bob, url=remote, nsfw=True)
    assert shown.thumbnail_url == f"{proxy}&max_size=512"


# ---------------------------------------------------------------- actions
def test_remove_post_with_children_resolves_reports_and_notifies(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    comments = [lemmy4.add_comment(post, cast.bob), lemmy4.add_comment(post, cast.alice)]
    admin_post = lemmy4.add_post(cast.pics, cast.admin)
    mod, bot, alice = client(lemmy4, "mod"), client(lemmy4, "modbot"), client(lemmy4, "alice")
    alice.post(f"{V4}/post/report", json={"post_id": post.id, "reason": "spam"})
    r = bot.post(
        f"{V4}/post/remove",
        json={"post_id": post.id, "removed": False, "reason": "rule 1", "remove_children": True},
    )
    assert r.json()["post_view"]["post"]["removed"] is True  # remove_children wins
    assert [lemmy4.comment(c.id).removed for c in comments] == [True, True]
    assert lemmy4.reports[0].resolved and lemmy4.reports[0].resolver_id == cast.bot.id
    notes = alice.get(f"{V4}/account/notification/list").json()["items"]
    kinds = [(n["notification"]["kind"], n["data"]["modlog"]["kind"]) for n in notes]
    assert kinds == [("mod_action", "mod_remove_comment"), ("mod_action", "mod_remove_post")]
    assert notes[1]["data"]["modlog"]["reason"] == "rule 1"
    refused = mod.post(
        f"{V4}/post/remove", json={"post_id": admin_post.id, "removed": True, "reason": "x"}
    )
    assert refused.json()["error"] == "not_higher_mod"
    r = alice.post(f"{V4}/post/remove", json={"post_id": post.id, "removed": True, "reason": "x"})
    assert r.json()["error"] == "not_a_mod_or_admin"
    missing = bot.post(f"{V4}/post/remove", json={"post_id": 999, "removed": True, "reason": "x"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "not_found", "cause": "Record not found"},
    )


def test_remove_comment_children_is_the_subtree(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    top = lemmy4.add_comment(post, cast.bob)
    child = lemmy4.add_comment(post, cast.alice, parent=top)
    sibling = lemmy4.add_comment(post, cast.alice)
    bot = client(lemmy4, "modbot")
    form = {"comment_id": top.id, "removed": True, "reason": "x", "remove_children": True}
    assert bot.post(f"{V4}/comment/remove", json=form).status_code == 200
    assert [lemmy4.comment(c.id).removed for c in (top, child, sibling)] == [True, True, False]
    lemmy4.comment(sibling.id).deleted = True
    form = {"comment_id": sibling.id, "removed": True, "reason": "x"}
    assert bot.post(f"{V4}/comment/remove", json=form).json()["error"] == "couldnt_update"


def test_purge_post_purges_its_local_images_not_proxied_ones(lemmy4, photos):
    cast = lemmy4.cast
    upload = lemmy4.add_upload(cast.alice, photos["coffee"])
    remote = lemmy4.add_remote_file("cat.jpg", photos["chelsea"])
    local = lemmy4.add_post(cast.pics, cast.alice, url=upload.url)
    far = lemmy4.add_post(cast.pics, cast.bob, url=remote)
    comment = lemmy4.add_comment(local, cast.bob)
    bot = client(lemmy4, "modbot")
    anon = client(lemmy4)
    assert anon.get(far.url).content == photos["chelsea"]  # now cached by pict-rs
    for post in (local, far):
        r = bot.post(f"{V4}/admin/purge/post", json={"post_id": post.id, "reason": "csam"})
        assert r.json() == {"success": True}
    assert lemmy4.purged_images == [upload.alias]
    assert anon.get(far.url).content == photos["chelsea"]  # the proxied copy stays
    assert lemmy4.comment(comment.id).purged
    assert bot.get(f"{V4}/post", params={"id": local.id}).status_code == 404


def test_purge_person_keeps_the_row_and_deletes_rather_than_purges(lemmy4, photos):
    cast = lemmy4.cast
    upload = lemmy4.add_upload(cast.alice, photos["coffee"])
    shared = lemmy4.add_upload(cast.bob, photos["coffee"])  # same bytes, another alias
    post = lemmy4.add_post(cast.pics, cast.alice, url=upload.url)
    comment = lemmy4.add_comment(post, cast.alice, content="mine")
    alice, bot = client(lemmy4, "alice"), client(lemmy4, "modbot")
    r = bot.post(f"{V4}/admin/purge/person", json={"person_id": cast.alice.id, "reason": "x"})
    assert r.json() == {"success": True}
    person = bot.get(f"{V4}/person", params={"person_id": cast.alice.id}).json()["person_view"]
    assert (person["person"]["deleted"], person["banned"]) == (True, True)
    stored = lemmy4.post(post.id)
    assert (stored.name, stored.url, stored.deleted, stored.purged) == (
        "*Permanently Deleted*",
        None,
        True,
        False,
    )
    assert lemmy4.comment(comment.id).content == "*Permanently Deleted*"
    assert ids(bot.get(f"{V4}/post/list", params=ALL_NEW)) == []
    assert not lemmy4.image_exists(upload.alias) and lemmy4.image_exists(shared.alias)
    assert alice.get(f"{V4}/account").status_code == 401
    refused = bot.post(f"{V4}/admin/purge/person", json={"person_id": cast.admin.id, "reason": "x"})
    assert refused.json()["error"] == "not_higher_admin"


def test_admin_ban_with_expiry_and_remove_or_restore_data(lemmy4, photos):
    cast = lemmy4.cast
    upload = lemmy4.add_upload(cast.alice, photos["coffee"])
    cast.alice.avatar = upload.url
    post = lemmy4.add_post(cast.pics, cast.alice)
    comment = lemmy4.add_comment(post, cast.alice)
    bot = client(lemmy4, "modbot")
    past = int((now() - timedelta(hours=1)).timestamp())
    form = {"person_id": cast.alice.id, "ban": True, "reason": "x", "expires_at": past}
    assert bot.post(f"{V4}/admin/ban", json=form).json()["error"] == "ban_expiration_in_past"
    soon = int((now() + timedelta(days=1)).timestamp())
    form = {**form, "expires_at": soon, "remove_or_restore_data": True}
    view = bot.post(f"{V4}/admin/ban", json=form).json()["person_view"]
    assert view["banned"] is True and view["ban_expires_at"].startswith(now().strftime("%Y"))
    assert (lemmy4.post(post.id).removed, lemmy4.comment(comment.id).removed) == (True, True)
    assert not lemmy4.image_exists(upload.alias) and cast.alice.avatar is None
    log = bot.get(f"{V4}/modlog", params={"show_bulk": "true"}).json()["items"]
    ban = next(i["modlog"] for i in log if i["modlog"]["kind"] == "admin_ban")
    assert (ban["child_count"], ban["expires_at"][:4]) == (2, now().strftime("%Y"))
    children = [i for i in log if i["modlog"].get("bulk_action_parent_id") == ban["id"]]
    assert len(children) == 2
    assert len(bot.get(f"{V4}/modlog").json()["items"]) == 1  # bulk children hidden
    form = {"person_id": cast.alice.id, "ban": False, "reason": "x", "remove_or_restore_data": True}
    bot.post(f"{V4}/admin/ban", json=form)
    assert (lemmy4.post(post.id).removed, lemmy4.person(cast.alice.id).banned) == (False, False)
    unknown = bot.post(f"{V4}/admin/ban", json={"person_id": 999, "ban": True, "reason": "x"})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unknown")


def test_community_ban_removes_only_that_communitys_content(lemmy4):
    cast = lemmy4.cast
    here = lemmy4.add_post(cast.pics, cast.alice)
    there = lemmy4.add_post(cast.nsfw, cast.alice)
    mod = client(lemmy4, "mod")
    form = {"community_id": cast.pics.id, "person_id": cast.alice.id, "ban": True}
    assert mod.post(f"{V4}/community/ban_user", json=form).status_code == 400  # no reason
    form = {**form, "reason": "x", "remove_or_restore_data": True}
    assert mod.post(f"{V4}/community/ban_user", json=form).json()["person_view"]
    assert (lemmy4.post(here.id).removed, lemmy4.post(there.id).removed) == (True, False)
    assert (cast.pics.id, cast.alice.id) in lemmy4.community_bans
    view = client(lemmy4, "modbot").get(f"{V4}/post", params={"id": here.id}).json()
    assert view["post_view"]["creator_banned_from_community"] is True


def test_reports_one_per_reporter_and_who_sees_them(lemmy4):
    cast = lemmy4.cast
    post = lemmy4.add_post(cast.pics, cast.alice)
    other = lemmy4.add_post(cast.pics, cast.alice)
    removed = lemmy4.add_post(cast.pics, cast.alice)
    lemmy4.post(removed.id).removed = True
    bot, mod, admin = client(lemmy4, "modbot"), client(lemmy4, "mod"), client(lemmy4, "admin")
    form = {"post_id": post.id, "reason": "csam", "violates_instance_rules": True}
    assert bot.post(f"{V4}/post/report", json=form).status_code == 200
    again = bot.post(f"{V4}/post/report", json=form)
    assert (again.status_code, again.json()["error"]) == (400, "couldnt_create")
    hidden = bot.post(f"{V4}/post/report", json={"post_id": removed.id, "reason": "x"})
    assert hidden.status_code == 404  # read as a plain user, even by an admin
    assert bot.post(
        f"{V4}/post/report", json={"post_id": other.id, "reason": "off topic"}
    ).is_success

    def reported(c, **params):
        items = c.get(f"{V4}/report/list", params=params).json()["items"]
        return [(i["type_"], i["post"]["id"]) for i in items]

    assert reported(mod) == [("post", other.id)]  # the instance-rules report is the admins'
    assert reported(admin) == [("post", post.id)]  # the community-rule one: later
    assert reported(admin, show_community_rule_violations="true") == [
        ("post", other.id),
        ("post", post.id),
    ]
    lemmy4.reports[1].published = now() - timedelta(days=4)
    assert reported(admin) == [("post", post.id), ("post", other.id)]
    form = {"report_id": lemmy4.reports[0].id, "resolved": True, "conclusion": "purged"}
    resolved = admin.put(f"{V4}/post/report/resolve", json=form).json()["post_report_view"]
    assert (resolved["post_report"]["resolved"], resolved["post_report"]["conclusion"]) == (
        True,
        "purged",
    )
    again = bot.post(f"{V4}/post/report", json=form | {"post_id": post.id, "reason": "x"})
    assert again.json()["error"] == "couldnt_create"  # even once resolved


def test_private_message_notifies_the_recipient(lemmy4):
    cast = lemmy4.cast
    bot, alice = client(lemmy4, "modbot"), client(lemmy4, "alice")
    r = bot.post(f"{V4}/private_message", json={"content": "hello", "recipient_id": cast.alice.id})
    message = r.json()["private_message_view"]["private_message"]
    notes = alice.get(f"{V4}/account/notification/list").json()["items"]
    assert [(n["notification"]["kind"], n["data"]["private_message"]["id"]) for n in notes] == [
        ("private_message", message["id"])
    ]
    form = {"notification_id": notes[0]["notification"]["id"], "read": True}
    assert alice.post(f"{V4}/account/notification/mark_as_read", json=form).is_success
    unread = alice.get(f"{V4}/account/notification/list", params={"unread_only": "true"})
    assert unread.json()["items"] == []
    cast.alice.private_messages_enabled = False
    r = bot.post(f"{V4}/private_message", json={"content": "x", "recipient_id": cast.alice.id})
    assert r.json()["error"] == "couldnt_create"
    assert [m.content for m in lemmy4.private_messages] == ["hello"]


# ---------------------------------------------------------------- one scenario API
@pytest.mark.parametrize("version", ["0.19.9", "1.0"])
def test_one_scenario_builds_the_same_instance_on_both_versions(version, photos):
    """The scenario API and the state are shared: the same calls build the same
    instance, which each version shows through its own API."""
    with FakeLemmy(version=version) as lemmy:
        cast = standard_cast(lemmy)
        upload = lemmy.add_upload(cast.alice, photos["coffee"])
        post = lemmy.add_post(cast.pics, cast.alice, url=upload.url, published=ago(2))
        comment = lemmy.add_comment(post, cast.bob, content="hi", published=ago(1))
        c = httpx.Client(base_url=lemmy.url, timeout=10)
        login = {"username_or_email": "modbot", "password": PASSWORD}
        r = c.post(lemmy.api_path("/api/v3/user/login"), json=login)
        c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
        if version == "1.0":
            posts = c.get(f"{V4}/post/list", params=ALL_NEW).json()["items"]
            comments = c.get(f"{V4}/comment/list", params=ALL_NEW).json()["items"]
            media = c.get(f"{V4}/image/list").json()["items"]
            removal = {"post_id": post.id, "removed": True, "reason": "x"}
        else:
            posts = c.get("/api/v3/post/list", params={"type_": "All", "sort": "New"}).json()[
                "posts"
            ]
            comments = c.get("/api/v3/comment/list", params={"sort": "New"}).json()["comments"]
            media = c.get("/api/v3/admin/list_all_media").json()["images"]
            removal = {"post_id": post.id, "removed": True, "reason": "x"}
        assert [p["post"]["url"] for p in posts] == [upload.url]
        assert [x["comment"]["id"] for x in comments] == [comment.id]
        assert [m["local_image"]["pictrs_alias"] for m in media] == [upload.alias]
        assert c.get(upload.url).content == photos["coffee"]
        assert lemmy.mutating_requests() == []
        c.post(lemmy.api_path("/api/v3/post/remove"), json=removal)
        assert lemmy.post(post.id).removed
        assert [r.path for r in lemmy.mutating_requests()] == [
            lemmy.api_path("/api/v3/post/remove")
        ]
        assert [a.action for a in lemmy.modlog] == ["remove_post"]
