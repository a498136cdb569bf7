"""The fake Lemmy behaves like Lemmy 0.19 + pict-rs where the bot depends on it.

Everything goes through real HTTP (httpx) against the running fake.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest

from fakelemmy import FakeLemmy, hostile
from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str | None = None, **kwargs) -> httpx.Client:
    """An httpx client for `lemmy`, logged in as `name` (Bearer) unless None."""
    c = httpx.Client(base_url=lemmy.url, timeout=10, **kwargs)
    if name is not None:
        r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def post_ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [view["post"]["id"] for view in response.json()["posts"]]


def comment_ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [view["comment"]["id"] for view in response.json()["comments"]]


def ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


SCHEMAS = Path(__file__).parent / "schemas"


def community_ids(response: httpx.Response) -> list[int]:
    """The community ids of a `community/list` answer, checked against the client's
    `ListCommunitiesResponse` schema (lemmy-js-client 0.19.9)."""
    assert response.status_code == 200, response.text
    schema = json.loads((SCHEMAS / "ListCommunitiesResponse.json").read_text())
    jsonschema.Draft7Validator(schema).validate(response.json())
    return [view["community"]["id"] for view in response.json()["communities"]]


# ---------------------------------------------------------------- nodeinfo, login, auth
def test_nodeinfo_20_redirects_to_21(fake_lemmy):
    r = httpx.get(f"{fake_lemmy.url}/nodeinfo/2.0.json")
    assert r.status_code == 307
    assert r.headers["location"] == f"{fake_lemmy.url}/nodeinfo/2.1"
    info = httpx.get(f"{fake_lemmy.url}/nodeinfo/2.0.json", follow_redirects=True).json()
    assert info["software"] == {**info["software"], "name": "lemmy", "version": "0.19.9"}


def test_login_with_bearer_and_cookie_and_wrong_password(fake_lemmy):
    c = client(fake_lemmy)
    bad = c.post("/api/v3/user/login", json={"username_or_email": "modbot", "password": "no"})
    assert (bad.status_code, bad.json()) == (401, {"error": "incorrect_login"})
    jwt = c.post(
        "/api/v3/user/login", json={"username_or_email": "modbot", "password": PASSWORD}
    ).json()["jwt"]
    by_header = c.get("/api/v3/site", headers={"Authorization": f"Bearer {jwt}"}).json()
    by_cookie = httpx.get(f"{fake_lemmy.url}/api/v3/site", cookies={"jwt": jwt}).json()
    for site in (by_header, by_cookie):
        local_user = site["my_user"]["local_user_view"]["local_user"]
        assert local_user["admin"] is True
        assert (local_user["show_nsfw"], local_user["show_bot_accounts"]) == (False, False)
    assert "my_user" not in c.get("/api/v3/site").json()  # no token: anonymous


def test_remote_person_cannot_log_in(fake_lemmy):
    r = client(fake_lemmy).post(
        "/api/v3/user/login", json={"username_or_email": "bob", "password": PASSWORD}
    )
    assert r.status_code == 401


def test_login_rate_limit_bucket():
    with FakeLemmy(login_rate_limit=(3, 3600)) as lemmy:
        lemmy.add_person("modbot", password=PASSWORD)
        c = client(lemmy)
        form = {"username_or_email": "modbot", "password": PASSWORD}
        statuses = [c.post("/api/v3/user/login", json=form).status_code for _ in range(3)]
        limited = c.post("/api/v3/user/login", json=form)
        assert statuses == [200, 200, 200]
        assert (limited.status_code, limited.json()) == (400, {"error": "rate_limit_error"})
        assert c.get("/api/v3/site").status_code == 200  # other endpoints: other bucket


def test_general_rate_limit():
    with FakeLemmy(rate_limit=(5, 60)) as lemmy:
        c = client(lemmy)
        statuses = [c.get("/api/v3/post/list").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [400]
        assert httpx.get(f"{lemmy.url}/nodeinfo/2.1").status_code == 200  # not under /api


def test_dropped_token_reads_silently_anonymous_and_actions_401(fake_lemmy):
    cast = fake_lemmy.cast
    remote = fake_lemmy.add_community("far", local=False, instance="remote.example")
    far = fake_lemmy.add_post(remote, cast.bob)
    c = client(fake_lemmy, "modbot")
    assert post_ids(c.get("/api/v3/post/list", params={"type_": "All"})) == [far.id]
    assert fake_lemmy.invalidate_tokens("modbot") == 1
    site = c.get("/api/v3/site")
    assert site.status_code == 200 and "my_user" not in site.json()
    listing = c.get("/api/v3/post/list")  # default type_ for anonymous: Local
    assert post_ids(listing) == []
    action = c.post("/api/v3/post/remove", json={"post_id": far.id, "removed": True})
    assert (action.status_code, action.json()) == (401, {"error": "incorrect_login"})
    assert c.get("/api/v3/user/validate_auth").status_code == 401
    again = client(fake_lemmy, "modbot")
    assert again.get("/api/v3/site").json()["my_user"]
    assert again.get("/api/v3/user/validate_auth").json() == {"success": True}
    assert again.post("/api/v3/user/logout").json() == {"success": True}
    assert "my_user" not in again.get("/api/v3/site").json()


def test_a_stopped_fake_cannot_restart():
    lemmy = FakeLemmy()
    lemmy.stop()  # never started: closes its sockets all the same
    with pytest.raises(RuntimeError, match="cannot start again"):
        lemmy.start()


def test_save_user_settings_changes_what_the_bot_sees(fake_lemmy):
    cast = fake_lemmy.cast
    nsfw = fake_lemmy.add_post(cast.nsfw, cast.alice)
    c = client(fake_lemmy, "modbot")
    assert post_ids(c.get("/api/v3/post/list")) == []
    r = c.put("/api/v3/user/save_user_settings", json={"show_nsfw": True})
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert post_ids(c.get("/api/v3/post/list")) == [nsfw.id]
    assert cast.bot.show_nsfw is True
    anon = client(fake_lemmy).put("/api/v3/user/save_user_settings", json={"show_nsfw": True})
    assert anon.status_code == 401


# ---------------------------------------------------------------- post/list
def test_post_list_visibility_rules(fake_lemmy):
    cast = fake_lemmy.cast
    plain = fake_lemmy.add_post(cast.pics, cast.alice, published=ago(6))
    nsfw_community = fake_lemmy.add_post(cast.nsfw, cast.alice, published=ago(5))
    nsfw_post = fake_lemmy.add_post(cast.pics, cast.alice, nsfw=True, published=ago(4))
    other_bot = fake_lemmy.add_person("otherbot", bot_account=True)
    by_bot = fake_lemmy.add_post(cast.pics, other_bot, published=ago(3))
    removed = fake_lemmy.add_post(cast.pics, cast.alice, published=ago(2))
    fake_lemmy.post(removed.id).removed = True
    remote_community = fake_lemmy.add_community("far", local=False, instance="remote.example")
    remote = fake_lemmy.add_post(remote_community, cast.bob, published=ago(1))

    bot = client(fake_lemmy, "modbot")
    admin = client(fake_lemmy, "admin")
    new_all = {"sort": "New", "type_": "All"}
    # the bot's settings hide NSFW and bot accounts; removed posts hidden even for admins
    assert post_ids(bot.get("/api/v3/post/list", params=new_all)) == [remote.id, plain.id]
    assert post_ids(bot.get("/api/v3/post/list", params={**new_all, "show_nsfw": "true"})) == [
        remote.id,
        nsfw_post.id,
        nsfw_community.id,
        plain.id,
    ]
    assert post_ids(admin.get("/api/v3/post/list", params=new_all)) == [
        remote.id,
        by_bot.id,
        plain.id,
    ]
    # type_ defaults to Local
    assert post_ids(admin.get("/api/v3/post/list", params={"sort": "New"})) == [by_bot.id, plain.id]
    # 0.19's PostQuery hides removed posts in every listing, ModeratorView too (only a
    # creator_id listing by an admin, i.e. a profile, shows them)
    fake_lemmy.cast.pics.moderators.append(cast.admin.id)
    moderated = admin.get("/api/v3/post/list", params={"sort": "New", "type_": "ModeratorView"})
    assert post_ids(moderated) == [by_bot.id, plain.id]
    # a deleted post: shown to its creator only
    fake_lemmy.post(plain.id).deleted = True
    assert plain.id not in post_ids(admin.get("/api/v3/post/list", params=new_all))
    alice = client(fake_lemmy, "alice")
    assert plain.id in post_ids(alice.get("/api/v3/post/list", params=new_all))


def test_read_posts_hidden_when_show_read_posts_off(fake_lemmy):
    cast = fake_lemmy.cast
    reader = fake_lemmy.add_person("reader", password=PASSWORD, show_read_posts=False)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    fake_lemmy.post(post.id).read_by.add(reader.id)
    c = client(fake_lemmy, "reader")
    assert post_ids(c.get("/api/v3/post/list")) == []
    assert post_ids(c.get("/api/v3/post/list", params={"show_read": "true"})) == [post.id]
    assert c.get("/api/v3/post/list", params={"show_read": "true"}).json()["posts"][0]["read"]


def test_post_list_limits_and_bad_queries(fake_lemmy):
    c = client(fake_lemmy, "modbot")
    for params, error in (
        ({"limit": 51}, "couldnt_get_posts"),
        ({"limit": 0}, "couldnt_get_posts"),
        ({"page": 0}, "couldnt_get_posts"),  # page 101: by release, test_s30l_fake_page_cap_*
    ):
        r = c.get("/api/v3/post/list", params=params)
        assert (r.status_code, r.json()) == (400, {"error": error})
    for params in ({"saved_only": "True"}, {"sort": "new"}, {"limit": "ten"}):
        r = c.get("/api/v3/post/list", params=params)
        assert r.status_code == 400 and r.json()["error"] == "unknown", params
        assert "Query deserialize error" in r.json()["message"]
    assert c.get("/api/v3/post/list", params={"limit": 50, "page": 100}).status_code == 200


def test_post_list_pages_and_cursor(fake_lemmy):
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, published=ago(100 - i)) for i in range(25)]
    newest_first = [p.id for p in reversed(posts)]
    c = client(fake_lemmy, "modbot")
    assert post_ids(c.get("/api/v3/post/list", params={"sort": "New"})) == newest_first[:10]
    page3 = c.get("/api/v3/post/list", params={"sort": "New", "page": 3})
    assert post_ids(page3) == newest_first[20:]
    seen, cursor = [], None
    while True:
        params = {"sort": "New", "limit": 10}
        if cursor:
            params["page_cursor"] = cursor
        body = c.get("/api/v3/post/list", params=params).json()
        if not body["posts"]:
            assert "next_page" not in body
            break
        seen += [v["post"]["id"] for v in body["posts"]]
        cursor = body["next_page"]
    assert seen == newest_first
    old = c.get("/api/v3/post/list", params={"sort": "Old", "limit": 3})
    assert post_ids(old) == [p.id for p in posts[:3]]


def test_featured_posts_come_first(fake_lemmy):
    cast = fake_lemmy.cast
    pinned = fake_lemmy.add_post(cast.pics, cast.alice, published=ago(60), featured_local=True)
    newer = fake_lemmy.add_post(cast.pics, cast.alice, published=ago(1))
    c = client(fake_lemmy, "modbot")
    assert post_ids(c.get("/api/v3/post/list", params={"sort": "New"})) == [pinned.id, newer.id]


def test_content_added_between_polls_and_edits_show(fake_lemmy):
    cast = fake_lemmy.cast
    c = client(fake_lemmy, "modbot")
    assert post_ids(c.get("/api/v3/post/list")) == []
    post = fake_lemmy.add_post(cast.pics, cast.alice, body="hello")
    first = c.get("/api/v3/post/list").json()["posts"][0]["post"]
    assert "updated" not in first  # Lemmy omits None fields
    fake_lemmy.edit_post(post.id, body="![x](https://example.com/x.jpg)")
    edited = c.get("/api/v3/post/list").json()["posts"][0]["post"]
    assert edited["body"] == "![x](https://example.com/x.jpg)" and "updated" in edited


# ---------------------------------------------------------------- comment/list
def test_comment_list_sort_and_visibility(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    popular_old = fake_lemmy.add_comment(post, cast.alice, published=ago(60), score=500)
    fresh = fake_lemmy.add_comment(post, cast.bob, published=ago(1))
    removed = fake_lemmy.add_comment(post, cast.alice, published=ago(2))
    fake_lemmy.comment(removed.id).removed = True
    nsfw_post = fake_lemmy.add_post(cast.nsfw, cast.alice)
    on_nsfw = fake_lemmy.add_comment(nsfw_post, cast.alice)

    bot = client(fake_lemmy, "modbot")
    alice = client(fake_lemmy, "alice")
    # default sort is Hot, not New: the popular old comment comes first; 0.19's comment
    # list has no NSFW filter (the bot's show_nsfw is off)
    hot = comment_ids(bot.get("/api/v3/comment/list"))
    assert hot[0] == popular_old.id and set(hot) == {
        popular_old.id,
        fresh.id,
        removed.id,
        on_nsfw.id,
    }
    assert comment_ids(bot.get("/api/v3/comment/list", params={"sort": "New"})) == [
        on_nsfw.id,
        fresh.id,
        removed.id,
        popular_old.id,
    ]
    # removed: listed for everyone, its text blanked for non-admins ("done on the front side")
    as_alice = alice.get("/api/v3/comment/list", params={"sort": "New"})
    assert comment_ids(as_alice) == [on_nsfw.id, fresh.id, removed.id, popular_old.id]
    texts = {v["comment"]["id"]: v["comment"]["content"] for v in as_alice.json()["comments"]}
    assert texts[removed.id] == "" and texts[fresh.id] == "a comment"
    alone = alice.get("/api/v3/comment", params={"id": removed.id}).json()["comment_view"]
    assert alone["comment"]["content"] == "" and alone["comment"]["removed"] is True
    as_bot = bot.get("/api/v3/comment", params={"id": removed.id}).json()["comment_view"]
    assert as_bot["comment"]["content"] == "a comment"
    r = bot.get("/api/v3/comment/list", params={"limit": 51})
    assert (r.status_code, r.json()) == (400, {"error": "couldnt_get_comments"})
    paged = bot.get("/api/v3/comment/list", params={"sort": "New", "limit": 1, "page": 2})
    assert comment_ids(paged) == [fresh.id]  # page 1 is the newer comment on the NSFW post


# ---------------------------------------------------------------- community list
def test_community_list_pages_every_community_once_with_its_images(fake_lemmy):
    cast = fake_lemmy.cast
    made = [
        fake_lemmy.add_community(
            f"c{i}",
            published=ago(100 - i),
            icon=f"https://remote.example/icon{i}.png" if i % 2 else None,
            banner=f"{fake_lemmy.url}/pictrs/image/banner{i}.jpg" if i % 3 == 0 else None,
        )
        for i in range(23)
    ]
    far = fake_lemmy.add_community("far", local=False, instance="remote.example", published=ago(1))
    # the cast's pics and nsfw are the newest; nsfw is hidden from the bot (show_nsfw off)
    newest = [cast.pics.id, far.id, *(c.id for c in reversed(made))]
    bot = client(fake_lemmy, "modbot")
    assert community_ids(bot.get("/api/v3/community/list", params={"sort": "New"})) == newest[:10]
    seen, page = [], 1
    while True:
        r = bot.get("/api/v3/community/list", params={"sort": "New", "limit": 7, "page": page})
        got = community_ids(r)
        if not got:
            break
        seen += got
        page += 1
    assert seen == newest and page == 5  # 25 communities: pages of 7, 7, 7, 4
    old = bot.get("/api/v3/community/list", params={"sort": "Old", "limit": 3})
    assert community_ids(old) == [c.id for c in made[:3]]
    # each entry is the CommunityView of GET /community: icon and banner as stored
    entries = bot.get("/api/v3/community/list", params={"sort": "Old", "limit": 50}).json()
    by_id = {view["community"]["id"]: view for view in entries["communities"]}
    for community in (made[1], made[3], far):
        detail = bot.get("/api/v3/community", params={"id": community.id}).json()
        assert by_id[community.id] == detail["community_view"]
    assert by_id[made[3].id]["community"]["icon"] == "https://remote.example/icon3.png"
    assert by_id[made[3].id]["community"]["banner"] == f"{fake_lemmy.url}/pictrs/image/banner3.jpg"
    assert "icon" not in by_id[made[0].id]["community"]  # None fields are left out
    assert by_id[far.id]["community"]["actor_id"] == "https://remote.example/c/far"
    local = bot.get("/api/v3/community/list", params={"type_": "Local", "limit": 50})
    assert far.id not in community_ids(local) and len(community_ids(local)) == 24
    subscribed = bot.get("/api/v3/community/list", params={"type_": "Subscribed"})
    assert community_ids(subscribed) == []  # the fake has no follows


def test_community_list_limits_and_bad_queries(fake_lemmy):
    c = client(fake_lemmy)
    for params, message in (
        ({"limit": 51}, "Fetch limit is > 50"),
        ({"limit": 0}, "Fetch limit is > 50"),
        ({"page": 0}, "Page is < 1"),  # page 101: by release, test_s30l_fake_page_cap_*
    ):
        r = c.get("/api/v3/community/list", params=params)
        assert (r.status_code, r.json()) == (400, {"error": "unknown", "message": message})
    for params in ({"sort": "new"}, {"type_": "all"}, {"show_nsfw": "True"}, {"limit": "x"}):
        r = c.get("/api/v3/community/list", params=params)
        assert r.status_code == 400 and r.json()["error"] == "unknown", params
        assert "Query deserialize error" in r.json()["message"]
    assert community_ids(c.get("/api/v3/community/list", params={"limit": 50, "page": 100})) == []


def test_community_list_visibility_removed_deleted_nsfw(fake_lemmy):
    cast = fake_lemmy.cast
    removed = fake_lemmy.add_community("removed", removed=True)
    deleted = fake_lemmy.add_community("deleted", deleted=True)
    purged = fake_lemmy.add_community("purged")
    fake_lemmy.community(purged.id).purged = True
    fake_lemmy.add_person("lewd", password=PASSWORD, show_nsfw=True)
    everything = {cast.pics.id, cast.nsfw.id, removed.id, deleted.id}
    listing = {"type_": "All", "sort": "New"}

    def seen(c, **extra) -> set[int]:
        return set(community_ids(c.get("/api/v3/community/list", params={**listing, **extra})))

    admin, alice, anon = (
        client(fake_lemmy, "admin"),
        client(fake_lemmy, "alice"),
        client(fake_lemmy),
    )
    # removed and deleted communities: admins only (not moderators, not their creators)
    assert seen(admin, show_nsfw="true") == everything
    assert seen(admin) == everything - {cast.nsfw.id}
    views = admin.get("/api/v3/community/list", params={"limit": 50}).json()["communities"]
    flags = {
        v["community"]["id"]: (v["community"]["removed"], v["community"]["deleted"]) for v in views
    }
    assert flags[removed.id] == (True, False) and flags[deleted.id] == (False, True)
    for viewer in (alice, anon, client(fake_lemmy, "mod")):
        assert seen(viewer) == {cast.pics.id}
        assert seen(viewer, show_nsfw="true") == {cast.pics.id, cast.nsfw.id}
    # nsfw: the account's setting or the parameter; show_nsfw=false does not hide it
    lewd = client(fake_lemmy, "lewd")
    assert seen(lewd) == seen(lewd, show_nsfw="false") == {cast.pics.id, cast.nsfw.id}
    # ModeratorView lists what All lists in 0.19 (no filter for it)
    assert seen(alice, type_="ModeratorView") == {cast.pics.id}
    assert seen(admin, type_="ModeratorView") == everything - {cast.nsfw.id}
    # anonymous: the site's content warning shows nsfw communities (not to alice: her
    # setting decides for her)
    fake_lemmy.site.content_warning = "adults only"
    assert seen(anon) == {cast.pics.id, cast.nsfw.id}
    assert seen(alice) == {cast.pics.id}


# ---------------------------------------------------------------- media
def test_list_all_media_admin_only_newest_first_without_thumbnails(fake_lemmy, photos):
    cast = fake_lemmy.cast
    first = fake_lemmy.add_upload(cast.alice, photos["chelsea"], published=ago(10))
    second = fake_lemmy.add_upload(cast.mod, photos["coffee"], published=ago(5))
    thumb = fake_lemmy.add_thumbnail(photos["china"])
    r = client(fake_lemmy, "modbot").get("/api/v3/admin/list_all_media")
    images = r.json()["images"]
    assert [i["local_image"]["pictrs_alias"] for i in images] == [second.alias, first.alias]
    assert images[1]["person"]["name"] == "alice"
    assert images[1]["local_image"]["pictrs_delete_token"] == first.delete_token
    assert thumb.alias not in r.text
    alice = client(fake_lemmy, "alice").get("/api/v3/admin/list_all_media")
    assert (alice.status_code, alice.json()) == (400, {"error": "not_an_admin"})
    assert client(fake_lemmy).get("/api/v3/admin/list_all_media").status_code == 401
    own = client(fake_lemmy, "alice").get("/api/v3/account/list_media").json()["images"]
    assert [i["local_image"]["pictrs_alias"] for i in own] == [first.alias]


def test_pictrs_image_served_thumbnailed_and_deleted_with_token(fake_lemmy, photos):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["astronaut"])
    r = httpx.get(upload.url)
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        photos["astronaut"],
        "image/jpeg",
    )
    small = httpx.get(upload.url, params={"format": "jpg", "thumbnail": 64})
    assert small.status_code == 200 and len(small.content) < len(photos["astronaut"])
    delete = f"{fake_lemmy.url}/pictrs/image/delete/{upload.delete_token}/{upload.alias}"
    assert httpx.get(delete).status_code == 401
    assert client(fake_lemmy, "mod").get(delete).json() == {"error": "not_an_admin"}
    assert client(fake_lemmy, "alice").get(delete).status_code == 204
    assert httpx.get(upload.url).status_code == 404
    assert not fake_lemmy.image_exists(upload.alias)
    media = client(fake_lemmy, "admin").get("/api/v3/admin/list_all_media").json()["images"]
    assert media == []


def test_pictrs_internal_api(fake_lemmy, photos):
    cast = fake_lemmy.cast
    one = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    same_bytes = fake_lemmy.add_upload(cast.mod, photos["coffee"])
    other = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    key = {"X-Api-Token": fake_lemmy.pictrs_api_key}
    pictrs = httpx.Client(base_url=fake_lemmy.pictrs_url)
    assert pictrs.post("/internal/purge", params={"alias": one.alias}).status_code == 401
    assert (
        pictrs.post(
            "/internal/purge", params={"alias": one.alias}, headers={"X-Api-Token": "wrong"}
        ).status_code
        == 401
    )
    aliases = pictrs.get("/internal/aliases", params={"alias": one.alias}, headers=key).json()
    assert sorted(aliases["aliases"]) == sorted([one.alias, same_bytes.alias])
    purged = pictrs.post("/internal/purge", params={"alias": one.alias}, headers=key)
    assert purged.status_code == 200 and purged.json()["msg"] == "ok"
    assert sorted(purged.json()["aliases"]) == sorted([one.alias, same_bytes.alias])
    assert httpx.get(same_bytes.url).status_code == 404  # dedup: every alias of the bytes
    assert fake_lemmy.image_exists(other.alias)
    # a direct pict-rs purge leaves Lemmy's own rows: list_all_media still lists them
    listed = client(fake_lemmy, "admin").get("/api/v3/admin/list_all_media").json()["images"]
    assert one.alias in [i["local_image"]["pictrs_alias"] for i in listed]
    deleted = pictrs.post("/internal/delete", params={"alias": other.alias}, headers=key)
    assert deleted.status_code == 200 and not fake_lemmy.image_exists(other.alias)
    missing = pictrs.post("/internal/purge", params={"alias": "nope.jpg"}, headers=key)
    assert missing.status_code == 404


def test_image_proxy(fake_lemmy, photos):
    url = fake_lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    html = fake_lemmy.add_remote_behaviour("/page.jpg", hostile.html_page())
    unknown = httpx.get(f"{fake_lemmy.url}/api/v3/image_proxy", params={"url": url})
    assert unknown.status_code == 404  # Lemmy only proxies URLs it knows
    proxied = httpx.get(fake_lemmy.proxy_url(url))
    assert (proxied.status_code, proxied.content) == (200, photos["chelsea"])
    bad = httpx.get(fake_lemmy.proxy_url(html))
    assert bad.status_code == 400 and bad.json()["error"] == "pictrs_response_error"
    key = {"X-Api-Token": fake_lemmy.pictrs_api_key}
    purge = httpx.post(
        f"{fake_lemmy.pictrs_url}/internal/purge", params={"proxy": url}, headers=key
    )
    assert purge.status_code == 200 and url in fake_lemmy.purged_images


# ---------------------------------------------------------------- moderation
def test_remove_post_and_comment_permissions(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    alice, mod = client(fake_lemmy, "alice"), client(fake_lemmy, "mod")
    denied = alice.post("/api/v3/post/remove", json={"post_id": post.id, "removed": True})
    assert (denied.status_code, denied.json()) == (400, {"error": "not_a_mod_or_admin"})
    missing = mod.post("/api/v3/post/remove", json={"post_id": 999, "removed": True})
    assert (missing.status_code, missing.json()) == (400, {"error": "couldnt_find_post"})
    ok = mod.post(
        "/api/v3/post/remove", json={"post_id": post.id, "removed": True, "reason": "spam"}
    )
    assert ok.status_code == 200 and ok.json()["post_view"]["post"]["removed"] is True
    assert fake_lemmy.post(post.id).removed
    assert post_ids(client(fake_lemmy, "admin").get("/api/v3/post/list")) == []
    ok = mod.post("/api/v3/comment/remove", json={"comment_id": comment.id, "removed": True})
    assert ok.json()["comment_view"]["comment"]["removed"] is True
    assert [(a.action, a.reason) for a in fake_lemmy.modlog] == [
        ("remove_post", "spam"),
        ("remove_comment", None),
    ]
    wrong_type = mod.post("/api/v3/post/remove", json={"post_id": str(post.id), "removed": True})
    assert wrong_type.status_code == 400 and "Json deserialize" in wrong_type.json()["message"]


def test_purge_post_removes_its_local_images_from_pictrs(fake_lemmy, photos):
    cast = fake_lemmy.cast
    image = fake_lemmy.add_upload(cast.alice, photos["grace_hopper"])
    copy = fake_lemmy.add_upload(cast.mod, photos["grace_hopper"])
    thumb = fake_lemmy.add_thumbnail(photos["china"])
    in_body = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    remote = fake_lemmy.add_remote_file("x.jpg", photos["chelsea"])
    post = fake_lemmy.add_post(
        cast.pics, cast.alice, url=image.url, thumbnail_url=thumb.url, body=f"![a]({in_body.url})"
    )
    other = fake_lemmy.add_post(cast.pics, cast.alice, url=remote)
    fake_lemmy.add_comment(post, cast.bob)
    assert client(fake_lemmy, "mod").post(
        "/api/v3/admin/purge/post", json={"post_id": post.id}
    ).json() == {"error": "not_an_admin"}
    r = client(fake_lemmy, "modbot").post(
        "/api/v3/admin/purge/post", json={"post_id": post.id, "reason": "csam"}
    )
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert fake_lemmy.post(post.id).purged
    assert httpx.get(image.url).status_code == 404 and httpx.get(thumb.url).status_code == 404
    assert not fake_lemmy.image_exists(copy.alias)  # same bytes: pict-rs purges by hash
    assert fake_lemmy.image_exists(in_body.alias)  # body images are not purged by Lemmy
    assert set(fake_lemmy.purged_images) == {image.alias, copy.alias, thumb.alias}
    assert post_ids(client(fake_lemmy, "admin").get("/api/v3/post/list")) == [other.id]
    again = client(fake_lemmy, "modbot").post("/api/v3/admin/purge/post", json={"post_id": post.id})
    assert again.json() == {"error": "couldnt_find_post"}


def test_purge_comment_and_person(fake_lemmy, photos):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.mod)
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    bot = client(fake_lemmy, "modbot")
    assert bot.post("/api/v3/admin/purge/comment", json={"comment_id": comment.id}).json() == {
        "success": True
    }
    assert fake_lemmy.comment(comment.id).purged
    refused = bot.post("/api/v3/admin/purge/person", json={"person_id": cast.admin.id})
    assert refused.json() == {"error": "not_higher_admin"}
    assert bot.post("/api/v3/admin/purge/person", json={"person_id": cast.alice.id}).json() == {
        "success": True
    }
    # 0.19 keeps the person and the post, deleted (purge_user_account)
    assert fake_lemmy.person(cast.alice.id).deleted and fake_lemmy.post(post.id).deleted
    assert not fake_lemmy.image_exists(upload.alias)


def test_site_ban(fake_lemmy, photos):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    alice = client(fake_lemmy, "alice")
    bot, mod = client(fake_lemmy, "modbot"), client(fake_lemmy, "mod")
    assert mod.post("/api/v3/user/ban", json={"person_id": cast.alice.id, "ban": True}).json() == {
        "error": "not_an_admin"
    }
    admin_ban = bot.post("/api/v3/user/ban", json={"person_id": cast.admin.id, "ban": True})
    assert (admin_ban.status_code, admin_ban.json()) == (400, {"error": "not_higher_admin"})
    assert not fake_lemmy.person(cast.admin.id).banned
    past = bot.post(
        "/api/v3/user/ban",
        json={"person_id": cast.alice.id, "ban": True, "expires": int(time.time()) - 10},
    )
    assert past.json() == {"error": "ban_expiration_in_past"}
    assert bot.post("/api/v3/user/ban", json={"person_id": 999, "ban": True}).status_code == 404
    expires = int(time.time()) + 86400
    r = bot.post(
        "/api/v3/user/ban",
        json={
            "person_id": cast.alice.id,
            "ban": True,
            "remove_data": True,
            "expires": expires,
            "reason": "csam",
        },
    )
    assert r.status_code == 200 and r.json()["banned"] is True
    person = r.json()["person_view"]["person"]
    assert person["banned"] and person["ban_expires"].startswith(
        datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    state = fake_lemmy.person(cast.alice.id)
    assert state.banned and state.ban_reason == "csam"
    assert fake_lemmy.post(post.id).removed and fake_lemmy.comment(comment.id).removed
    # 0.19.9 purges only the avatar, banner and image posts: an upload no post shows stays
    assert fake_lemmy.image_exists(upload.alias)
    assert (
        alice.post("/api/v3/post/report", json={"post_id": post.id, "reason": "x"}).status_code
        == 401
    )  # a ban drops the person's logins


def test_community_ban(fake_lemmy):
    cast = fake_lemmy.cast
    here = fake_lemmy.add_post(cast.pics, cast.bob)
    elsewhere = fake_lemmy.add_post(cast.nsfw, cast.bob)
    mod, alice = client(fake_lemmy, "mod"), client(fake_lemmy, "alice")
    form = {
        "community_id": cast.pics.id,
        "person_id": cast.bob.id,
        "ban": True,
        "remove_data": True,
        "expires": int(time.time()) + 3600,
    }
    assert alice.post("/api/v3/community/ban_user", json=form).json() == {
        "error": "not_a_mod_or_admin"
    }
    r = mod.post("/api/v3/community/ban_user", json=form)
    assert r.status_code == 200 and r.json()["banned"] is True
    assert (cast.pics.id, cast.bob.id) in fake_lemmy.community_bans
    assert fake_lemmy.post(here.id).removed and not fake_lemmy.post(elsewhere.id).removed
    admin = mod.post("/api/v3/community/ban_user", json={**form, "person_id": cast.admin.id})
    assert admin.json() == {"error": "not_higher_mod"}


def test_reports_and_private_messages(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice, name="look")
    comment = fake_lemmy.add_comment(post, cast.bob, content="hi")
    bot = client(fake_lemmy, "modbot")
    assert bot.post("/api/v3/post/report", json={"post_id": post.id, "reason": " "}).json() == {
        "error": "report_reason_required"
    }
    r = bot.post("/api/v3/post/report", json={"post_id": post.id, "reason": "modbot: nsfw"})
    assert r.json()["post_report_view"]["post_report"]["original_post_name"] == "look"
    r = bot.post("/api/v3/comment/report", json={"comment_id": comment.id, "reason": "gore"})
    assert r.json()["comment_report_view"]["comment_report"]["original_comment_text"] == "hi"
    assert [(x.kind, x.target_id, x.reason) for x in fake_lemmy.reports] == [
        ("post", post.id, "modbot: nsfw"),
        ("comment", comment.id, "gore"),
    ]
    assert [x.reason for x in fake_lemmy.post(post.id).reports] == ["modbot: nsfw"]
    listed = client(fake_lemmy, "mod").get(
        "/api/v3/post/report/list", params={"unresolved_only": "true"}
    )
    assert len(listed.json()["post_reports"]) == 1
    m = bot.post(
        "/api/v3/private_message", json={"content": "hello", "recipient_id": cast.admin.id}
    )
    assert m.json()["private_message_view"]["recipient"]["name"] == "admin"
    assert [(x.recipient_id, x.content) for x in fake_lemmy.private_messages] == [
        (cast.admin.id, "hello")
    ]
    as_string = bot.post(
        "/api/v3/private_message", json={"content": "x", "recipient_id": str(cast.admin.id)}
    )
    assert as_string.status_code == 400 and as_string.json()["error"] == "unknown"


# ---------------------------------------------------------------- faults, records
def test_fail_next_and_delay(fake_lemmy):
    c = client(fake_lemmy, "modbot")
    fake_lemmy.fail_next("/api/v3/post/list", times=2, status=400, error="rate_limit_error")
    fake_lemmy.fail_next("/api/v3/comment/list", times=1, status=502)
    answers = [c.get("/api/v3/post/list") for _ in range(3)]
    assert [(a.status_code, a.json() if a.status_code == 400 else None) for a in answers] == [
        (400, {"error": "rate_limit_error"}),
        (400, {"error": "rate_limit_error"}),
        (200, None),
    ]
    gateway = c.get("/api/v3/comment/list")
    assert gateway.status_code == 502 and "Bad Gateway" in gateway.text
    assert c.get("/api/v3/comment/list").status_code == 200
    fake_lemmy.delay("/api/v3/site", 0.3, times=1)
    started = time.monotonic()
    c.get("/api/v3/site")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    c.get("/api/v3/site")
    assert time.monotonic() - started < 0.3


def test_requests_are_recorded_and_mutations_counted(fake_lemmy, photos):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    bot = client(fake_lemmy, "modbot")
    bot.get("/api/v3/post/list", params={"sort": "New"})
    assert fake_lemmy.mutating_requests() == []  # login does not count
    bot.post("/api/v3/post/report", json={"post_id": post.id, "reason": "r"})
    bot.get(f"/pictrs/image/delete/{upload.delete_token}/{upload.alias}")
    httpx.post(f"{fake_lemmy.pictrs_url}/internal/purge", params={"alias": "x"})
    listing = next(r for r in fake_lemmy.requests if r.path == "/api/v3/post/list")
    assert (listing.method, listing.query, listing.user, listing.status, listing.server) == (
        "GET",
        {"sort": "New"},
        "modbot",
        200,
        "lemmy",
    )
    mutations = fake_lemmy.mutating_requests()
    assert [(m.server, m.path) for m in mutations] == [
        ("lemmy", "/api/v3/post/report"),
        ("lemmy", f"/pictrs/image/delete/{upload.delete_token}/{upload.alias}"),
        ("pictrs", "/internal/purge"),
    ]
    assert mutations[0].json == {"post_id": post.id, "reason": "r"}
    assert all(PASSWORD not in repr(r.user) for r in fake_lemmy.requests)


# ---------------------------------------------------------------- remote web
def test_remote_host_serves_files_and_hostile_answers(fake_lemmy, photos):
    cat = fake_lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    r = httpx.get(cat)
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        photos["chelsea"],
        "image/jpeg",
    )
    assert httpx.get(f"{fake_lemmy.remote_url}/nothing.jpg").status_code == 404
    html = fake_lemmy.add_remote_behaviour(
        "/fake.jpg", hostile.html_page(), content_type="image/jpeg"
    )
    r = httpx.get(html)
    assert r.headers["content-type"] == "image/jpeg" and r.content.startswith(b"<!DOCTYPE")
    chain = fake_lemmy.add_remote_behaviour("/hop.jpg", photos["coffee"], redirects=3)
    r = httpx.get(chain, follow_redirects=True)
    assert (len(r.history), r.content) == (3, photos["coffee"])
    for private in ("http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/"):
        url = fake_lemmy.add_remote_behaviour(f"/to{len(private)}", redirect_to=private)
        r = httpx.get(url)
        assert (r.status_code, r.headers["location"]) == (302, private)
    no_type = fake_lemmy.add_remote_behaviour("/bare", photos["coffee"], content_type=None)
    assert "content-type" not in httpx.get(no_type).headers


def test_remote_host_trickle_endless_and_lying_length(fake_lemmy):
    slow = fake_lemmy.add_remote_behaviour("/slow.jpg", b"x" * 30, trickle_bytes_per_s=20)
    started = time.monotonic()
    assert httpx.get(slow).content == b"x" * 30
    assert time.monotonic() - started >= 1.0
    endless = fake_lemmy.add_remote_behaviour("/endless.jpg", hostile.jpeg(), endless=True)
    received = 0
    with httpx.stream("GET", endless) as r:
        assert "content-length" not in r.headers
        for chunk in r.iter_bytes():
            received += len(chunk)
            if received > 2 * 1024 * 1024:
                break
    assert received > 2 * 1024 * 1024
    liar = fake_lemmy.add_remote_behaviour("/liar.jpg", b"abc", content_length=2_000_000_000)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(liar)


# ---------------------------------------------------------------- hostile files
def test_hostile_files_are_what_they_claim():
    import io

    from PIL import Image

    bomb = hostile.png_bomb()
    assert len(bomb) < 20_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))
    with pytest.raises(OSError):
        Image.open(io.BytesIO(hostile.truncated_jpeg())).load()
    assert len(hostile.large_file()) == 30 * 1024 * 1024
    for animated, fmt in ((hostile.animated_gif(), "GIF"), (hostile.animated_webp(), "WEBP")):
        image = Image.open(io.BytesIO(animated))
        assert (image.format, image.n_frames) == (fmt, 4)
    assert hostile.svg().lstrip().startswith(b"<?xml") and b"<svg" in hostile.svg()
    assert hostile.html_page().startswith(b"<!DOCTYPE html>")
    assert hostile.zero_byte() == b""
