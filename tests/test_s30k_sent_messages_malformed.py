"""Lemmy 0.19's list of the private messages the bot sent, of a shape Lemmy never sends
(a null in it, an object where a string is, the list missing): a ``LemmyBadAnswer`` that
says so, never a traceback."""

from __future__ import annotations

import pytest

from modbot.config.settings import Secret
from modbot.lemmy import LemmyBadAnswer, LemmyClient


@pytest.mark.parametrize(
    "spoil",
    [
        lambda body: {**body, "private_messages": [None, *body["private_messages"]]},
        lambda body: {**body, "private_messages": [{"private_message": "sent"}]},
        lambda body: {**body, "private_messages": [{"private_message": {"content": 5}}]},
        lambda body: {**body, "private_messages": 5},
        lambda body: {},
    ],
    ids=["null", "message-a-string", "content-a-number", "list-a-number", "no-list"],
)
def test_the_bots_sent_messages_malformed_are_a_bad_answer_not_a_traceback(fake_lemmy, spoil):
    """0.19: what the bot sent is read after a crash to tell whether a message went; a
    traceback there stopped the cycle, an empty list sent the admins a second copy."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        client.private_message(cast.admin.id, "a notice")
        assert [m.content for m in client.sent_messages(cast.bot.id, 1)] == ["a notice"]
        lemmy.tamper("/api/v3/private_message/list", spoil)
        with pytest.raises(LemmyBadAnswer, match="private_message/list"):
            client.sent_messages(cast.bot.id, 1)
    finally:
        client.close()
