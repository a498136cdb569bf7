"""The fake Lemmy 0.19's ``GET /private_message/list`` filters by ``creator_id`` as
0.19.0-0.19.20 do (PrivateMessageQuery in crates/db_views/src/private_message_view.rs):
without ``unread_only`` it is the conversation with that person, both ways
(``creator_id = i OR recipient_id = i``, among the reader's own messages); with
``unread_only`` the unread ones that person sent the reader. So a bot reading its own
sent messages by its own id (``creator_id`` = itself) gets those sent to it as well.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def _login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def _send(c: httpx.Client, to: int, text: str) -> None:
    r = c.post("/api/v3/private_message", json={"recipient_id": to, "content": text})
    assert r.status_code == 200, r.text


def _texts(c: httpx.Client, **params) -> list[str]:
    r = c.get("/api/v3/private_message/list", params=params)
    assert r.status_code == 200, r.text
    return [v["private_message"]["content"] for v in r.json()["private_messages"]]


def test_creator_id_is_the_conversation_unless_unread_only(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot, admin, alice = _login(lemmy, "modbot"), _login(lemmy, "admin"), _login(lemmy, "alice")
    _send(bot, cast.admin.id, "notice 1")
    _send(admin, cast.bot.id, "thanks")
    _send(alice, cast.bot.id, "why was I banned")
    _send(bot, cast.alice.id, "you were banned")

    everything = ["you were banned", "why was I banned", "thanks", "notice 1"]
    assert _texts(bot, unread_only="false") == everything
    assert _texts(bot, unread_only="false", creator_id=cast.bot.id) == everything
    assert _texts(bot, unread_only="false", creator_id=cast.admin.id) == ["thanks", "notice 1"]
    assert _texts(bot, unread_only="true", creator_id=cast.admin.id) == ["thanks"]
    assert _texts(bot, unread_only="true", creator_id=cast.bot.id) == []
