"""What the fake Lemmy 0.19's site ban with `remove_data` takes, release by release, as
Lemmy's `remove_user_data` (crates/api_common/src/utils.rs) does:

- 0.19.5-0.19.10: the avatar and banner purged from pict-rs and unset, the bio unset;
  every post removed, and each post whose url holds "pictrs/image" has its url and
  thumbnail purged (the whole file: every alias of it, whoever uploaded it) and unset;
  the person's other uploads stay. 0.19.10 also removes their private messages.
- 0.19.11+: nothing purged; every upload of the person loses its alias
  (`delete_local_user_images`, a copy of the same bytes under another alias stays), the
  avatar, banner and bio unset, post urls kept.
No `local_image` row is deleted in 0.19, so `list_all_media` still lists each upload.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def ban_removing_data(lemmy, person_id: int) -> None:
    r = client(lemmy, "modbot").post(
        "/api/v3/user/ban",
        json={"person_id": person_id, "ban": True, "remove_data": True, "reason": "x"},
    )
    assert r.status_code == 200, r.text


def setup(lemmy, photos):
    cast = lemmy.cast
    avatar = lemmy.add_upload(cast.alice, photos["astronaut"])
    banner = lemmy.add_upload(cast.alice, photos["china"])
    lemmy.set_images(cast.alice, avatar=avatar.url, banner=banner.url)
    lemmy.person(cast.alice.id).bio = "about me"
    image = lemmy.add_upload(cast.alice, photos["coffee"])
    copy = lemmy.add_upload(cast.bob, photos["coffee"])  # the same bytes, bob's alias
    unposted = lemmy.add_upload(cast.alice, photos["chelsea"])
    post = lemmy.add_post(cast.pics, cast.alice, url=image.url)
    thumb = lemmy.add_thumbnail(photos["grace_hopper"], post=post)
    remote = lemmy.add_post(cast.pics, cast.alice, url="https://elsewhere.example/a.jpg")
    return {
        "avatar": avatar,
        "banner": banner,
        "image": image,
        "copy": copy,
        "unposted": unposted,
        "thumb": thumb,
        "post": post,
        "remote": remote,
    }


def seen(lemmy, things):
    """What an admin sees afterwards: the person, the two posts, the media list."""
    admin = client(lemmy, "admin")
    person = admin.get("/api/v3/user", params={"person_id": lemmy.cast.alice.id}).json()
    posts = {
        name: admin.get("/api/v3/post", params={"id": things[name].id}).json()["post_view"]
        for name in ("post", "remote")
    }
    media = admin.get("/api/v3/admin/list_all_media", params={"limit": 50}).json()
    listed = {m["local_image"]["pictrs_alias"] for m in media["images"]}
    return person["person_view"]["person"], posts, listed


def test_0_19_9_purges_avatar_banner_and_image_posts_but_keeps_other_uploads(fake_lemmy, photos):
    lemmy = fake_lemmy
    things = setup(lemmy, photos)
    ban_removing_data(lemmy, lemmy.cast.alice.id)
    person, posts, listed = seen(lemmy, things)
    assert "avatar" not in person and "banner" not in person and "bio" not in person
    for name in ("avatar", "banner", "image", "thumb"):
        assert not lemmy.image_exists(things[name].alias), name
    assert not lemmy.image_exists(things["copy"].alias)  # purged by its bytes: bob's too
    assert lemmy.image_exists(things["unposted"].alias)  # 0.19.9 leaves other uploads
    post = posts["post"]["post"]
    assert post["removed"] is True and "url" not in post and "thumbnail_url" not in post
    remote = posts["remote"]["post"]
    assert remote["removed"] is True and remote["url"] == "https://elsewhere.example/a.jpg"
    # Lemmy 0.19 deletes no local_image row here: every upload is still listed
    for name in ("avatar", "banner", "image", "copy", "unposted"):
        assert things[name].alias in listed, name


@pytest.mark.parametrize("version", ["0.19.11", "0.19.20"])
def test_0_19_11_on_delete_every_upload_alias_and_purge_nothing(photos, version):
    with FakeLemmy(version=version) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        things = setup(lemmy, photos)
        ban_removing_data(lemmy, lemmy.cast.alice.id)
        person, posts, listed = seen(lemmy, things)
        assert "avatar" not in person and "banner" not in person and "bio" not in person
        for name in ("avatar", "banner", "image", "unposted"):
            assert not lemmy.image_exists(things[name].alias), name
        assert lemmy.image_exists(things["copy"].alias)  # an alias delete: bob's stays
        assert lemmy.image_exists(things["thumb"].alias)  # no uploader: not hers
        assert lemmy.purged_images == []
        post = posts["post"]["post"]
        assert post["removed"] is True and post["url"] == things["image"].url
        assert things["unposted"].alias in listed


@pytest.mark.parametrize(("version", "removed"), [("0.19.9", False), ("0.19.10", True)])
def test_private_messages_are_removed_from_0_19_10(photos, version, removed):
    with FakeLemmy(version=version) as lemmy:
        lemmy.cast = cast = standard_cast(lemmy)
        sent = client(lemmy, "alice").post(
            "/api/v3/private_message", json={"content": "hi", "recipient_id": cast.bob.id}
        )
        assert sent.status_code == 200, sent.text
        ban_removing_data(lemmy, cast.alice.id)
        (message,) = lemmy.private_messages
        assert message.removed is removed
