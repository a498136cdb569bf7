"""The fake Lemmy 1.0 answers a private message to no one as Lemmy 1.0 does: 400
`couldnt_create` with the database's words, after the content's checks.

create_private_message (crates/api/api_crud/src/private_message/create.rs at 1.0.0-beta.1)
never reads the recipient's person: it checks the content (is_valid_body_field), blocks,
the sender's `private_messages_enabled`, a local recipient's, then inserts, and the
insert's foreign-key error comes back as CouldntCreate (PrivateMessage::create,
crates/db_schema/src/impls/private_message.rs).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_a_message_to_no_one_is_couldnt_create(fake_lemmy):
    lemmy = fake_lemmy
    bot = login(lemmy, "modbot")
    r = bot.post("/api/v4/private_message", json={"content": "hi", "recipient_id": 999_999})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "couldnt_create"
    assert "private_message_recipient_id_fkey" in r.json()["cause"]
    # the content is checked first
    r = bot.post("/api/v4/private_message", json={"content": "x" * 10_001, "recipient_id": 999_999})
    assert r.json()["error"] == "invalid_body_field"
    assert lemmy.private_messages == []
