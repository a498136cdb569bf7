"""The fake Lemmy 0.19's `admin/purge/person` does what Lemmy 0.19.9 does
(crates/api/src/site/purge/person.rs, `purge_user_account` in
crates/api_common/src/utils.rs): the person row is kept, deleted and banned, so a second
purge succeeds too; every upload of theirs loses its alias (the `local_image` rows stay),
the avatar and banner are purged (their own uploads are gone by then), each post whose url
is a pict-rs image has its url and thumbnail purged and unset, every post and comment is
kept as deleted with its text replaced by "*Permanently Deleted*", and they leave every
mod team.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_purge_person_keeps_the_person_and_their_content_as_deleted(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    own = lemmy.add_upload(cast.alice, photos["coffee"])
    copy = lemmy.add_upload(cast.bob, photos["coffee"])  # the same bytes, bob's alias
    bobs = lemmy.add_upload(cast.bob, photos["china"])  # bob's, posted by alice
    unposted = lemmy.add_upload(cast.alice, photos["chelsea"])
    lemmy.set_images(cast.alice, avatar=own.url)
    post = lemmy.add_post(cast.pics, cast.alice, url=own.url, body="mine")
    reposted = lemmy.add_post(cast.pics, cast.alice, url=bobs.url)
    thumb = lemmy.add_thumbnail(photos["grace_hopper"], post=reposted)
    comment = lemmy.add_comment(post, cast.alice, content="hello")
    led = lemmy.add_community("alices", moderators=[cast.alice.id, cast.mod.id])
    bot, admin = client(lemmy, "modbot"), client(lemmy, "admin")

    form = {"person_id": cast.alice.id, "reason": "csam"}
    r = bot.post("/api/v3/admin/purge/person", json=form)
    assert (r.status_code, r.json()) == (200, {"success": True})

    # the images: her aliases deleted (bob's copy of the same bytes stays), the file of
    # bob's image she posted purged with every alias of it, her post's thumbnail purged
    assert not lemmy.image_exists(own.alias) and not lemmy.image_exists(unposted.alias)
    assert lemmy.image_exists(copy.alias)
    assert not lemmy.image_exists(bobs.alias) and not lemmy.image_exists(thumb.alias)
    media = admin.get("/api/v3/admin/list_all_media", params={"limit": 50}).json()
    listed = {m["local_image"]["pictrs_alias"] for m in media["images"]}
    assert {own.alias, unposted.alias} <= listed  # 0.19 deletes no local_image row here

    # her posts and comment are still there, deleted, their text replaced
    for post_id in (post.id, reposted.id):
        got = admin.get("/api/v3/post", params={"id": post_id})
        assert got.status_code == 200, got.text
        seen = got.json()["post_view"]["post"]
        assert seen["deleted"] is True and seen["name"] == "*Permanently Deleted*"
        assert "url" not in seen
    assert (
        "thumbnail_url"
        not in admin.get("/api/v3/post", params={"id": reposted.id}).json()["post_view"]["post"]
    )
    assert lemmy.post(post.id).body == "*Permanently Deleted*"
    kept = lemmy.comment(comment.id)
    assert (kept.deleted, kept.content, kept.purged) == (True, "*Permanently Deleted*", False)

    # she left the mod team; her row stays, deleted and banned, her profile cleared
    assert lemmy.community(led.id).moderators == [cast.mod.id]
    person = lemmy.person(cast.alice.id)
    assert (person.purged, person.deleted, person.banned) == (False, True, True)
    assert person.avatar is None and person.display_name is None

    # so a second purge finds her again
    again = bot.post("/api/v3/admin/purge/person", json=form)
    assert (again.status_code, again.json()) == (200, {"success": True})
    assert [a.action for a in lemmy.modlog] == ["purge_person", "purge_person"]
