"""Lemmy 1.0's site ban with `remove_or_restore_data` (LemmyNet/lemmy 1.0.0-beta.1,
crates/api/api_utils/src/utils.rs `remove_or_restore_user_data`): on a ban the
communities the person leads are removed and their icon and banner cleared, with no
modlog row of their own; an unban restores the posts and comments, never those
communities (that happens only "when removing, not restoring")."""

from __future__ import annotations

import httpx

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

V4 = "/api/v4"


def test_an_unban_restoring_data_leaves_the_communities_the_ban_removed():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        led = lemmy.add_community(
            "led",
            moderators=[cast.alice.id],
            icon=f"{lemmy.url}/api/v4/image/icon.png",
            banner=f"{lemmy.url}/api/v4/image/banner.png",
        )
        post = lemmy.add_post(cast.pics, cast.alice)
        bot = httpx.Client(base_url=lemmy.url, timeout=10)
        login = bot.post(
            f"{V4}/account/auth/login",
            json={"username_or_email": "modbot", "password": PASSWORD, "stay_logged_in": True},
        )
        bot.headers["Authorization"] = f"Bearer {login.json()['jwt']}"
        form = {"person_id": cast.alice.id, "reason": "x", "remove_or_restore_data": True}
        assert bot.post(f"{V4}/admin/ban", json={**form, "ban": True}).status_code == 200
        community = lemmy.state.communities[led.id]
        assert community.removed and (community.icon, community.banner) == (None, None)
        log = bot.get(f"{V4}/modlog", params={"show_bulk": "true"}).json()["items"]
        kinds = sorted(i["modlog"]["kind"] for i in log)
        assert kinds == ["admin_ban", "mod_remove_post"]
        assert bot.post(f"{V4}/admin/ban", json={**form, "ban": False}).status_code == 200
        assert not lemmy.post(post.id).removed
        assert lemmy.state.communities[led.id].removed, "an unban restores no community"
