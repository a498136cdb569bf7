"""The fake Lemmy 1.0's notification list leaves out what bot accounts sent a reader who
hides bot accounts, as Lemmy 1.0 does: list_notifications (crates/api/api/src/
local_user/notifications/list.rs at 1.0.0-beta.1) passes the reader's
`show_bot_accounts`, and NotificationQuery::list (crates/db_views/notification/src/
impls.rs) then filters `person::bot_account` of the notification's creator.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_notifications_sent_messages import contents
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_a_bots_message_is_hidden_from_a_reader_who_hides_bots(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bot, admin, alice = login(lemmy, "modbot"), login(lemmy, "admin"), login(lemmy, "alice")
    for sender, text in ((bot, "from the bot"), (admin, "from a person")):
        r = sender.post(
            "/api/v4/private_message", json={"content": text, "recipient_id": cast.alice.id}
        )
        assert r.status_code == 200, r.text
    assert contents(alice) == ["from a person", "from the bot"]
    cast.alice.show_bot_accounts = False
    assert contents(alice) == ["from a person"]
    # the bot's own sent messages, to a bot that hides bot accounts (modbot's cast does)
    assert contents(bot, type_="private_message") == []
    cast.bot.show_bot_accounts = True
    assert contents(bot, type_="private_message") == ["from the bot"]
