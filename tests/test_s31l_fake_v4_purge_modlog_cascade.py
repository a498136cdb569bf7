"""The fake Lemmy 1.0's modlog loses the rows of what an admin purges, as Lemmy 1.0 does.

Lemmy 1.0 keeps the modlog in one table whose target columns reference post, comment and
community ON DELETE CASCADE (migrations/2026-03-08-202630-0000_add_modlog_foreign_keys at
1.0.0-beta.1, despite its comment saying "set null"), and the notification of a row and a
bulk row's children reference it the same way (…_merge-modlog-tables/up.sql,
…_add_bulk_to_modlog/up.sql). A purge deletes the post, comment or community row
(crates/api/api/src/site/purge/*.rs), so every modlog row naming it goes too, and every
notice of those rows.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v4/account/auth/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def modlog(c: httpx.Client, **params) -> list[dict]:
    r = c.get("/api/v4/modlog", params={"show_bulk": "true", "limit": 50, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def kinds(items: list[dict]) -> list[str]:
    return [i["modlog"]["kind"] for i in items]


def test_a_post_purge_takes_its_removal_rows_and_their_notices(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="kept")
    gone = lemmy.add_post(cast.pics, cast.alice, name="purged")
    comment = lemmy.add_comment(gone, cast.alice, content="under it")
    mod, admin = login(lemmy, "mod"), login(lemmy, "admin")
    for target in (post, gone):
        r = mod.post(
            "/api/v4/post/remove", json={"post_id": target.id, "removed": True, "reason": "r"}
        )
        assert r.status_code == 200, r.text
    r = mod.post(
        "/api/v4/comment/remove",
        json={"comment_id": comment.id, "removed": True, "reason": "r"},
    )
    assert r.status_code == 200, r.text
    alice = login(lemmy, "alice")
    before = alice.get("/api/v4/account/notification/list").json()["items"]
    assert len(before) == 3

    r = admin.post("/api/v4/admin/purge/post", json={"post_id": gone.id, "reason": "csam"})
    assert r.status_code == 200, r.text

    items = modlog(admin)
    assert kinds(items) == ["admin_purge_post", "mod_remove_post"]
    assert items[1]["target_post"]["id"] == post.id
    assert modlog(admin, post_id=gone.id) == []
    assert modlog(admin, comment_id=comment.id) == []
    # the notices of the rows that went are gone with them
    after = alice.get("/api/v4/account/notification/list").json()["items"]
    assert [n["data"]["target_post"]["id"] for n in after] == [post.id]


def test_a_comment_purge_takes_its_removal_row(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    comment = lemmy.add_comment(post, cast.alice, content="bad")
    mod, admin = login(lemmy, "mod"), login(lemmy, "admin")
    r = mod.post(
        "/api/v4/comment/remove",
        json={"comment_id": comment.id, "removed": True, "reason": "r"},
    )
    assert r.status_code == 200, r.text
    r = admin.post("/api/v4/admin/purge/comment", json={"comment_id": comment.id, "reason": "x"})
    assert r.status_code == 200, r.text
    assert kinds(modlog(admin)) == ["admin_purge_comment"]


def test_a_community_purge_takes_every_row_naming_it_and_a_bans_children(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    other = lemmy.add_community("other", moderators=[cast.mod.id])
    post = lemmy.add_post(cast.pics, cast.alice)
    kept = lemmy.add_post(other, cast.alice)
    mod, admin = login(lemmy, "mod"), login(lemmy, "admin")
    r = mod.post(
        "/api/v4/community/ban_user",
        json={
            "community_id": cast.pics.id,
            "person_id": cast.alice.id,
            "ban": True,
            "remove_or_restore_data": True,
            "reason": "spam",
        },
    )
    assert r.status_code == 200, r.text
    r = mod.post("/api/v4/post/remove", json={"post_id": kept.id, "removed": True, "reason": "r"})
    assert r.status_code == 200, r.text
    assert kinds(modlog(admin)) == ["mod_remove_post", "mod_remove_post", "mod_ban_from_community"]

    r = admin.post(
        "/api/v4/admin/purge/community", json={"community_id": cast.pics.id, "reason": "x"}
    )
    assert r.status_code == 200, r.text
    items = modlog(admin)
    assert kinds(items) == ["admin_purge_community", "mod_remove_post"]
    assert items[1]["target_post"]["id"] == kept.id
    assert post.id != kept.id
