"""Lemmy has no report for an upload or a profile image: a rule's `report:` on one is a
message to the admins, claimed under the item as its `notify_admins:` is (one notice
per item). A rule with both (or two rules, one with each) sent the report's text alone:
the `notify_admins:` text, with what was not done to the item ("[failed: purge_image
…]"), was dropped as "admins are notified once per item", and the admins never read
it. Both texts now go in the item's one notice, and both actions record its sending."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import executor_for

from modbot.model import PlannedAction, Target


@pytest.mark.both_lemmys
def test_an_uploads_report_and_notice_both_reach_the_admins_in_one_message(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    url = f"{fake_lemmy.url}/pictrs/image/abc.png"
    target = Target(
        kind="upload", id="abc.png", author_id=cast.alice.id, image_alias="abc.png", image_url=url
    )
    actions = [
        PlannedAction("report", "looks like spam", {}, "spam"),
        PlannedAction("notify_admins", "possible CSAM (csam 0.97)", {}, "csam"),
    ]
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    try:
        client.login()
        outcomes = executor.execute(target, actions)
        executor.flush_notifications()
        row = store.action("notify", target.key)
    finally:
        client.close()
        store.close()

    (message,) = [m.content for m in fake_lemmy.private_messages]
    assert "looks like spam" in message and "possible CSAM (csam 0.97)" in message, message
    assert [(o.action, o.status) for o in outcomes] == [
        ("report", "done"),
        ("notify_admins", "done"),
    ], [o.detail for o in outcomes]
    assert outcomes[1].detail == "private message to 1 admin(s)"
    assert row["status"] == "done"


def test_the_same_text_twice_is_said_once():
    from modbot.actions.notices import Notice
    from modbot.model import ActionOutcome

    notice = Notice("upload:a", "look (upload `x`)", ActionOutcome("report", "queued"))
    second = ActionOutcome("notify_admins", "queued")
    notice.add("look (upload `x`)", second)
    assert notice.message == "look (upload `x`)"
    notice.settle("done", "private message to 2 admin(s)", done_at=5.0)
    assert (second.status, second.detail, second.done_at) == ("done", notice.outcome.detail, 5.0)


@pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)
def test_a_second_message_of_the_same_action_and_key_is_still_skipped(fake_lemmy, tmp_path):
    """A notice keyed by its cause, not an item (a remote image purge_image cannot
    purge, told once): the next item's is not added to it."""
    cast = fake_lemmy.cast
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    try:
        client.login()
        first = executor.notify("purge_image:remote", "cannot purge a remote image (post 1)")
        second = executor.notify("purge_image:remote", "cannot purge a remote image (post 2)")
        executor.flush_notifications()
    finally:
        client.close()
        store.close()
    (message,) = [m.content for m in fake_lemmy.private_messages]
    assert "(post 1)" in message and "(post 2)" not in message
    assert first.status == "done" and second.status == "skipped", second.detail
