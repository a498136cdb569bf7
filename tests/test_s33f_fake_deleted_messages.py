"""Deleted and removed private messages are left out of the lists, by release.

Facts, LemmyNet/lemmy:
- 0.19.0-0.19.9, db_views/src/private_message_view.rs ``list``: ``deleted = false``
  (0.19.9: :96); 0.19.10-0.19.20 also ``removed = false`` (:96-97), the column a
  ban's remove_data sets from 0.19.10.
- 1.0.0-beta.1, db_views/notification/src/impls.rs:328-334 (``filter_deleted_and_removed``):
  a deleted message never, a removed one not (but in a modlog item).
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast


def _login(lemmy, name: str, path: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(path, json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


@pytest.mark.parametrize(("version", "removed_listed"), [("0.19.9", True), ("0.19.10", False)])
def test_0_19_lists_no_deleted_message_and_from_0_19_10_no_removed_one(version, removed_listed):
    with FakeLemmy(version=version) as lemmy:
        cast = standard_cast(lemmy)
        alice = _login(lemmy, "alice", "/api/v3/user/login")
        sent = []
        for text in ("kept", "deleted", "removed"):
            r = alice.post(
                "/api/v3/private_message",
                json={"content": text, "recipient_id": cast.bot.id},
            )
            assert r.status_code == 200, r.text
            sent.append(r.json()["private_message_view"]["private_message"]["id"])
        messages = {m.id: m for m in lemmy.private_messages}
        messages[sent[1]].deleted = True
        messages[sent[2]].removed = True
        bot = _login(lemmy, "modbot", "/api/v3/user/login")
        for params in ({}, {"unread_only": "true"}):
            r = bot.get("/api/v3/private_message/list", params=params)
            listed = [v["private_message"]["content"] for v in r.json()["private_messages"]]
            assert listed == (["removed", "kept"] if removed_listed else ["kept"])


def test_1_0_lists_no_deleted_message():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        alice = _login(lemmy, "alice", "/api/v4/account/auth/login")
        for text in ("kept", "deleted"):
            r = alice.post(
                "/api/v4/private_message", json={"content": text, "recipient_id": cast.bot.id}
            )
            assert r.status_code == 200, r.text
        lemmy.private_messages[-1].deleted = True
        bot = _login(lemmy, "modbot", "/api/v4/account/auth/login")
        r = bot.get("/api/v4/account/notification/list", params={"type_": "private_message"})
        assert r.status_code == 200, r.text
        assert [n["data"]["private_message"]["content"] for n in r.json()["items"]] == ["kept"]
