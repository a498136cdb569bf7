"""The fake Lemmy 1.0 checks a ban of an unknown person in Lemmy 1.0's order, and answers
what its database does.

ban_from_site (crates/api/api/src/local_user/ban_person.rs at 1.0.0-beta.1) never reads
the person: the rank check (an unknown id is no admin), the reason, the expiry, then the
ban's insert (foreign key: 400 unknown) or, for an unban, an update of nothing and the
modlog row's insert (400 couldnt_create, Modlog::create). ban_from_community
(crates/api/api/src/community/ban.rs) checks the expiry before it reads the community,
reads no person either, and its insert's error is couldnt_update
(CommunityActions::ban, crates/db_schema/src/impls/community.rs).
"""

from __future__ import annotations

import time

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)

NOBODY = 999_999


def test_site_ban_of_no_person(fake_lemmy):
    admin = login(fake_lemmy, "admin")

    def ban(**body):
        r = admin.post("/api/v4/admin/ban", json={"person_id": NOBODY, "reason": "r", **body})
        assert r.status_code == 400, r.text
        return r.json()

    assert ban(ban=True, expires_at=int(time.time()) - 60)["error"] == "ban_expiration_in_past"
    assert ban(ban=True, reason="x" * 10_001)["error"] == "invalid_body_field"
    assert "instance_actions_person_id_fkey" in ban(ban=True)["message"]
    unban = ban(ban=False)
    assert unban["error"] == "couldnt_create"
    assert "modlog_target_person_fkey" in unban["cause"]
    assert fake_lemmy.modlog == []


def test_community_ban_of_no_person_and_order(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    mod = login(lemmy, "mod")

    def ban(**body):
        r = mod.post(
            "/api/v4/community/ban_user",
            json={"community_id": cast.pics.id, "person_id": NOBODY, "ban": True, "reason": "r"}
            | body,
        )
        return r.status_code, r.json()

    past = int(time.time()) - 60
    # the expiry before the community is read
    status, body = ban(community_id=NOBODY, expires_at=past)
    assert (status, body["error"]) == (400, "ban_expiration_in_past")
    status, body = ban()
    assert (status, body["error"]) == (400, "couldnt_update")
    assert "community_actions_person_id_fkey" in body["cause"]
    assert lemmy.community_bans == {} and lemmy.modlog == []
