"""The fake Lemmy 1.0 lists a reader's sent private messages under `type_=private_message`,
as Lemmy 1.0 does: NotificationQuery::list (crates/db_views/notification/src/impls.rs at
1.0.0-beta.1) shows, for that type only and without `unread_only`, the messages the
reader sent as well as those to them ("show messages FROM you also"), and with
`creator_id` the conversation both ways.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def contents(c, **params) -> list[str]:
    r = c.get("/api/v4/account/notification/list", params=params)
    assert r.status_code == 200, r.text
    return [n["data"]["private_message"]["content"] for n in r.json()["items"]]


def test_sent_messages_are_listed_by_type_private_message(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admin, alice = login(lemmy, "admin"), login(lemmy, "alice")
    for sender, to, text in ((admin, cast.alice, "one"), (alice, cast.admin, "two")):
        r = sender.post("/api/v4/private_message", json={"content": text, "recipient_id": to.id})
        assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v4/private_message", json={"content": "three", "recipient_id": cast.mod.id}
    )
    assert r.status_code == 200, r.text

    assert contents(admin) == ["two"]
    assert contents(admin, type_="private_message") == ["three", "two", "one"]
    assert contents(admin, type_="private_message", unread_only="true") == ["two"]
    conversation = contents(admin, type_="private_message", creator_id=cast.alice.id)
    assert conversation == ["two", "one"]
    assert contents(admin, creator_id=cast.alice.id) == ["two"]
