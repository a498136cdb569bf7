"""The fake Lemmy 1.0 answers `POST /account/notification/mark_as_read` with success for
an id that is not the reader's, or no notification at all, as Lemmy 1.0 does:
mark_notification_as_read (crates/api/api/src/local_user/notifications/
mark_notification_read.rs at 1.0.0-beta.1) runs Notification::mark_read_by_id_and_person
(crates/db_schema/src/impls/notification.rs), an UPDATE filtered by id and recipient
whose count of rows is not checked: nothing changes, and nothing is refused.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_marking_someone_elses_or_no_notification_succeeds_and_changes_nothing(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admin, alice = login(lemmy, "admin"), login(lemmy, "alice")
    r = admin.post("/api/v4/private_message", json={"content": "hi", "recipient_id": cast.alice.id})
    assert r.status_code == 200, r.text
    (note,) = lemmy.notifications
    for reader, number in ((admin, note.id), (alice, 999_999)):
        r = reader.post(
            "/api/v4/account/notification/mark_as_read",
            json={"notification_id": number, "read": True},
        )
        assert (r.status_code, r.json()) == (200, {"success": True}), r.text
    assert not note.read
    r = alice.post(
        "/api/v4/account/notification/mark_as_read", json={"notification_id": note.id, "read": True}
    )
    assert r.status_code == 200 and note.read
