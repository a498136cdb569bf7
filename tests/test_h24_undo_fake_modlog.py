"""The fake Lemmy 0.19's `GET /api/v3/modlog` answers as 0.19.9 does (api/src/site/
mod_log.rs, db_views_moderator): one list per kind of action, newest first, each paged
on its own (limit at most 50); who acted is shown to admins and community moderators
only (the site hides modlog mod names), the `mod_person_id` filter dropped for the
others; filters by post, comment, person, community and type; purged targets' rows gone.
Its JSON is checked against lemmy-js-client 0.19.9 in tests/test_schemas.py."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD


def login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=f"{lemmy.url}/api/v3", timeout=10)
    r = c.post("/user/login", json={"username_or_email": name, "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


@pytest.fixture
def acted(fake_lemmy):
    """The bot removed a post, the moderator restored it and removed it again; an admin
    banned and unbanned alice; the moderator removed a comment."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    other = lemmy.add_post(cast.pics, cast.alice, name="other")
    comment = lemmy.add_comment(other, cast.alice, content="c")
    bot, mod, admin = login(lemmy, "modbot"), login(lemmy, "mod"), login(lemmy, "admin")
    for who, removed in ((bot, True), (mod, False), (mod, True)):
        r = who.post("/post/remove", json={"post_id": post.id, "removed": removed, "reason": "r"})
        assert r.status_code == 200, r.text
    for ban in (True, False):
        r = admin.post("/user/ban", json={"person_id": cast.alice.id, "ban": ban})
        assert r.status_code == 200, r.text
    r = mod.post("/comment/remove", json={"comment_id": comment.id, "removed": True})
    assert r.status_code == 200, r.text
    return lemmy, cast, post, other, comment, bot, mod


def test_a_posts_removals_newest_first_with_who_for_an_admin(acted):
    _lemmy, cast, post, _, _, bot, _ = acted
    r = bot.get("/modlog", params={"type_": "ModRemovePost", "post_id": post.id})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["removed_posts"]
    assert [(v["mod_remove_post"]["removed"], v["moderator"]["name"]) for v in rows] == [
        (True, "mod"),
        (False, "mod"),
        (True, "modbot"),
    ]
    assert rows[0]["mod_remove_post"]["mod_person_id"] == cast.mod.id
    assert rows[0]["post"]["id"] == post.id and rows[0]["community"]["id"] == cast.pics.id
    assert all(body[k] == [] for k in body if k != "removed_posts"), body  # type_ filter
    one = bot.get("/modlog", params={"post_id": post.id, "limit": 1, "page": 2}).json()
    assert [v["mod_remove_post"]["removed"] for v in one["removed_posts"]] == [False]
    assert one["banned"] == [] and one["removed_comments"] == []  # post_id: none of those


def test_who_acted_is_hidden_from_a_plain_user_and_anonymous(acted):
    lemmy, cast, post, _, _, _, _ = acted
    alice = login(lemmy, "alice")
    for client in (alice, httpx.Client(base_url=f"{lemmy.url}/api/v3", timeout=10)):
        body = client.get("/modlog", params={"post_id": post.id}).json()
        rows = body["removed_posts"]
        assert len(rows) == 3 and all("moderator" not in v for v in rows), rows
        # the filter by moderator is dropped for them, as Lemmy drops it
        by_bot = client.get("/modlog", params={"mod_person_id": cast.bot.id}).json()
        assert len(by_bot["removed_posts"]) == 3 and len(by_bot["banned"]) == 2


def test_filters_by_person_comment_community_and_moderator(acted):
    _lemmy, cast, _post, _other, comment, bot, mod = acted
    bans = bot.get("/modlog", params={"other_person_id": cast.alice.id}).json()
    assert [(v["mod_ban"]["banned"], v["moderator"]["name"]) for v in bans["banned"]] == [
        (False, "admin"),
        (True, "admin"),
    ]
    assert len(bans["removed_posts"]) == 3 and len(bans["removed_comments"]) == 1
    comments = bot.get("/modlog", params={"comment_id": comment.id}).json()
    assert comments["removed_posts"] == [] and len(comments["removed_comments"]) == 1
    assert comments["removed_comments"][0]["commenter"]["id"] == cast.alice.id
    in_nsfw = bot.get("/modlog", params={"community_id": cast.nsfw.id}).json()
    assert all(v == [] for v in in_nsfw.values()), in_nsfw
    in_pics = mod.get("/modlog", params={"community_id": cast.pics.id}).json()
    assert len(in_pics["removed_posts"]) == 3 and in_pics["banned"] == []  # site bans: no
    assert in_pics["removed_posts"][0]["moderator"]["name"] == "mod"  # a moderator sees who
    by_bot = bot.get("/modlog", params={"mod_person_id": cast.bot.id}).json()
    assert len(by_bot["removed_posts"]) == 1 and by_bot["banned"] == []


def test_paging_limits_and_purged_targets(acted):
    _lemmy, cast, post, _, _, bot, _ = acted
    r = bot.get("/modlog", params={"limit": 51})
    assert (r.status_code, r.json()["error"]) == (400, "unknown"), r.text
    r = bot.get("/modlog", params={"type_": "Removals"})
    assert r.status_code == 400 and "unknown variant" in r.json()["message"], r.text
    r = bot.post("/admin/purge/post", json={"post_id": post.id})
    assert r.status_code == 200, r.text
    body = bot.get("/modlog", params={"post_id": post.id}).json()
    assert body["removed_posts"] == []  # gone with the post
    purges = bot.get("/modlog", params={"type_": "AdminPurgePost"}).json()
    (row,) = purges["admin_purged_posts"]
    assert row["admin"]["name"] == "modbot" and row["community"]["id"] == cast.pics.id
