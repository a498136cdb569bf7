"""A remote account banned by its home instance, as Lemmy shows it.

Lemmy 1.0.0-beta.1 keeps each instance's ban of a person as its own ``instance_actions``
row. A federated ban from the home instance (apub activities/src/block/block_user.rs,
``receive``) writes the row for the person's own instance and a modlog ``admin_ban``
line by the remote admin, whose ``target_instance`` is that admin's instance
(``ModlogInsertForm::admin_ban``: crates/db_schema/src/impls/modlog.rs). ``PersonView.banned``
(``GET /person``) and a post's or comment's ``creator_banned`` are this instance's ban *or*
the home one (``creator_local_home_banned``, ``creator_local_home_community_banned``:
crates/db_schema/src/utils/queries/selects.rs), ``ban_expires_at`` the first set of
this instance's end and the home one's (``coalesce``). An unban here leaves the home ban.
Lemmy 0.19.9 has one ``person.banned`` column: the home instance's ban sets it
(apub/src/activities/block/block_user.rs), with a ``ModBan`` line by the remote admin.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4


def _login(lemmy, name: str, path: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(path, json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def _bans(admin: httpx.Client, person_id: int) -> list[dict]:
    r = admin.get("/api/v4/modlog", params={"type_": "admin_ban", "other_person_id": person_id})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_home_ban_on_1_0_is_its_own_row_shown_with_the_local_one():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.bob, name="from afar")
        home_end = now() + timedelta(days=30)
        lemmy.ban_at_home(cast.bob, reason="spam at home", expires=home_end)
        admin = _login(lemmy, "admin", "/api/v4/account/auth/login")

        def view() -> dict:
            r = admin.get("/api/v4/person", params={"person_id": cast.bob.id})
            assert r.status_code == 200, r.text
            return r.json()["person_view"]

        assert view()["banned"] is True
        assert view()["ban_expires_at"].startswith(home_end.strftime("%Y-%m-%dT%H:%M:%S"))
        r = admin.get("/api/v4/post", params={"id": post.id})
        assert r.json()["post_view"]["creator_banned"] is True
        (line,) = _bans(admin, cast.bob.id)
        assert line["moderator"]["local"] is False
        assert line["target_instance"]["domain"] == "remote.example"
        assert line["modlog"]["reason"] == "spam at home"

        # this instance's permanent ban on top: the view's end is still the home one's
        # (coalesce takes the first one set), the modlog line is the local admin's
        r = admin.post(
            "/api/v4/admin/ban",
            json={"person_id": cast.bob.id, "ban": True, "reason": "csam"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["person_view"]["banned"] is True
        assert view()["ban_expires_at"].startswith(home_end.strftime("%Y-%m-%dT%H:%M:%S"))
        newest = _bans(admin, cast.bob.id)[0]
        assert newest["moderator"]["local"] is True
        assert newest["target_instance"]["domain"] == lemmy.url.split("//", 1)[1]

        # lifted here, still banned at home
        r = admin.post(
            "/api/v4/admin/ban",
            json={"person_id": cast.bob.id, "ban": False, "reason": "appeal"},
        )
        assert r.json()["person_view"]["banned"] is True
        assert cast.bob.banned is False and cast.bob.home_banned is True
        # lifted at home too
        lemmy.ban_at_home(cast.bob, ban=False, reason="forgiven")
        assert view()["banned"] is False and "ban_expires_at" not in view()
        assert _bans(admin, cast.bob.id)[0]["modlog"]["is_revert"] is True


def test_modbot_reads_only_this_instance_s_ban_of_a_home_banned_account():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        lemmy.ban_at_home(cast.bob, reason="spam at home")
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            assert client.person(cast.bob.id).banned is False
            ends = int((now() + timedelta(days=3)).timestamp())
            client.ban_site(cast.bob.id, "csam", expires=ends, remove_data=False)
            bob = client.person(cast.bob.id)
            assert bob.banned is True and bob.ban_expires is not None
            assert int(bob.ban_expires.timestamp()) == ends
        finally:
            client.close()


def test_a_home_ban_on_0_19_sets_the_one_column():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        lemmy.ban_at_home(cast.bob, reason="spam at home")
        admin = _login(lemmy, "admin", "/api/v3/user/login")
        r = admin.get("/api/v3/user", params={"person_id": cast.bob.id})
        assert r.json()["person_view"]["person"]["banned"] is True
        r = admin.get("/api/v3/modlog", params={"type_": "ModBan"})
        (line,) = r.json()["banned"]
        assert line["moderator"]["local"] is False and line["mod_ban"]["banned"] is True


def test_only_a_remote_person_has_a_home_instance_of_their_own():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        with pytest.raises(ValueError, match="local"):
            lemmy.ban_at_home(cast.alice)
