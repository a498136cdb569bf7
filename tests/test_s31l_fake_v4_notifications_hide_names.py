"""The fake Lemmy 1.0's notification list hides who acted from a reader who is not an
admin, as Lemmy 1.0 does: list_notifications (crates/api/api/src/local_user/
notifications/list.rs at 1.0.0-beta.1) passes hide_modlog_names (crates/api/api/src/
lib.rs: not an admin), and map_to_enum (crates/db_views/notification/src/impls.rs) then
drops a mod action's `moderator` and sets every row's `creator_id` to 0, a private
message's too (its `creator` stays in the message's view).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def notes(c) -> list[dict]:
    r = c.get("/api/v4/account/notification/list")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_who_acted_is_hidden_from_a_user_shown_to_an_admin(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    mod, alice, admin = login(lemmy, "mod"), login(lemmy, "alice"), login(lemmy, "admin")
    r = mod.post("/api/v4/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"})
    assert r.status_code == 200, r.text
    r = admin.post("/api/v4/private_message", json={"content": "hi", "recipient_id": cast.alice.id})
    assert r.status_code == 200, r.text
    r = alice.post("/api/v4/private_message", json={"content": "yo", "recipient_id": cast.admin.id})
    assert r.status_code == 200, r.text

    message, action = notes(alice)
    assert message["notification"]["creator_id"] == 0
    assert message["data"]["creator"]["id"] == cast.admin.id
    assert action["notification"]["creator_id"] == 0
    assert action["data"]["type_"] == "mod_action" and "moderator" not in action["data"]
    assert action["data"]["target_person"]["id"] == cast.alice.id

    (to_admin,) = notes(admin)
    assert to_admin["notification"]["creator_id"] == cast.alice.id
