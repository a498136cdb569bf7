"""The fake Lemmy 0.19 does what a site ban with `remove_data` does to communities in
Lemmy 0.19.6-0.19.10 (`remove_user_data`, api_common/src/utils.rs): every community the
banned person is the first (top) moderator of is removed, its icon and banner purged from
pict-rs and unset; a community where someone else was made moderator first is left."""

import httpx


def client(lemmy, username):
    token = httpx.post(
        f"{lemmy.url}/api/v3/user/login", json={"username_or_email": username, "password": "pw"}
    ).json()["jwt"]
    return httpx.Client(base_url=lemmy.url, headers={"Authorization": f"Bearer {token}"})


def community_of(bot, community_id):
    r = bot.get("/api/v3/community", params={"id": community_id})
    assert r.status_code == 200, r.text
    return r.json()["community_view"]["community"]


def test_a_ban_removing_data_removes_the_communities_they_lead(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    icon = lemmy.add_upload(cast.mod, photos["astronaut"])  # someone else's upload
    banner = lemmy.add_upload(cast.alice, photos["china"])
    led = lemmy.add_community(
        "alices", moderators=[cast.alice.id, cast.mod.id], icon=icon.url, banner=banner.url
    )
    others_post = lemmy.add_post(led, cast.admin, name="everyone's")
    kept_icon = lemmy.add_upload(cast.mod, photos["chelsea"])
    second = lemmy.add_community(
        "mods", moderators=[cast.mod.id, cast.alice.id], icon=kept_icon.url
    )
    bot = client(lemmy, "modbot")
    r = bot.post(
        "/api/v3/user/ban",
        json={"person_id": cast.alice.id, "ban": True, "remove_data": True, "reason": "x"},
    )
    assert r.status_code == 200, r.text
    gone = community_of(bot, led.id)
    assert gone["removed"] is True
    assert "icon" not in gone and "banner" not in gone  # unset (and left out of the JSON)
    assert not lemmy.image_exists(icon.alias)  # purged, though the moderator uploaded it
    assert not lemmy.image_exists(banner.alias)
    # what was in it goes with it: the admin's post is no longer listed
    posts = bot.get("/api/v3/post/list", params={"type_": "All", "limit": 50}).json()["posts"]
    assert others_post.id not in [p["post"]["id"] for p in posts]
    # where she is a moderator, not the first one: nothing changes
    kept = community_of(bot, second.id)
    assert kept["removed"] is False and kept["icon"] == kept_icon.url
    assert lemmy.image_exists(kept_icon.alias)


def test_a_ban_without_remove_data_leaves_the_communities(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    icon = lemmy.add_upload(cast.alice, photos["astronaut"])
    led = lemmy.add_community("alices", moderators=[cast.alice.id], icon=icon.url)
    bot = client(lemmy, "modbot")
    r = bot.post("/api/v3/user/ban", json={"person_id": cast.alice.id, "ban": True})
    assert r.status_code == 200, r.text
    kept = community_of(bot, led.id)
    assert kept["removed"] is False and kept["icon"] == icon.url
    assert lemmy.image_exists(icon.alias)
