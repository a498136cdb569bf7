"""The fake Lemmy 1.0's notification list leaves out a removed private message, as Lemmy
1.0 does: NotificationQuery::list (crates/db_views/notification/src/impls.rs at
1.0.0-beta.1) filters filter_deleted_and_removed, which hides a removed message (only a
mod action's row stays whatever its item). A site ban with remove_or_restore_data removes
the person's messages (remove_or_restore_user_data, crates/api/api_utils/src/utils.rs);
the unban restoring them brings them back.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_notifications_sent_messages import contents
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_a_banned_persons_removed_message_leaves_the_inbox(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admin, alice = login(lemmy, "admin"), login(lemmy, "alice")
    r = alice.post(
        "/api/v4/private_message", json={"content": "spam", "recipient_id": cast.admin.id}
    )
    assert r.status_code == 200, r.text
    assert contents(admin) == ["spam"]

    def ban(ban: bool) -> None:
        r = admin.post(
            "/api/v4/admin/ban",
            json={
                "person_id": cast.alice.id,
                "ban": ban,
                "reason": "r",
                "remove_or_restore_data": True,
            },
        )
        assert r.status_code == 200, r.text

    ban(True)
    assert contents(admin) == []
    assert contents(admin, type_="private_message") == []
    ban(False)
    assert contents(admin) == ["spam"]
