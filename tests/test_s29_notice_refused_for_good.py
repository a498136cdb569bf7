"""A notice Lemmy refuses for good to one admin (one who blocked the bot, a deleted
account: `person_is_blocked`, `couldnt_find_person`, not an outage). 57aecca made a message that failed for one
admin wait for that admin and be tried again next cycle; for a refusal that never
passes that was every cycle, for ever, its item decided again each time. Now such an
admin is not tried again: the notice is done for the others, the refusal said."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies, executor_for

from modbot.model import PlannedAction, Target


@pytest.mark.both_lemmys
def test_an_admin_lemmy_refuses_for_good_is_not_tried_again(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    second = fake_lemmy.add_person("admin2", admin=True, password="pw")
    admins = sorted([cast.admin, second], key=lambda p: p.id)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    notify = [PlannedAction("notify_admins", TEXT, {}, "a rule")]
    path = fake_lemmy.api_path("/api/v3/private_message")
    sent_before = sum(r.path == path for r in fake_lemmy.requests)

    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, admins)
    client.login()
    fake_lemmy.fail_next(path, status=400, error="person_is_blocked")  # the first admin's
    (first,) = executor.execute(target, notify)
    executor.flush_notifications()
    client.close()
    store.close()
    assert first.status == "done" and not first.retry, first.detail
    assert "private message to 1 admin(s); refused for 1:" in first.detail
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (0, 1)

    executor, client, store = executor_for(fake_lemmy, tmp_path, 2, admins)
    (again,) = executor.execute(target, notify)
    executor.flush_notifications()
    client.close()
    store.close()
    assert again.status == "skipped" and "notified already" in again.detail
    assert sum(r.path == path for r in fake_lemmy.requests) - sent_before == 2


@pytest.mark.both_lemmys
def test_refused_to_the_only_admin_is_failed_and_not_retried(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    client.login()
    path = fake_lemmy.api_path("/api/v3/private_message")
    fake_lemmy.fail_next(path, status=400, error="couldnt_find_person")  # purged
    (only,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "a rule")])
    executor.flush_notifications()
    client.close()
    store.close()
    assert only.status == "failed" and not only.retry, only.detail


@pytest.mark.both_lemmys
def test_a_message_given_up_to_a_stop_keeps_its_marker(fake_lemmy, tmp_path):
    """A message whose answer was lost (a 504: Lemmy may have stored it) and whose retry
    a stop (SIGTERM) gave up: its record keeps the message's marker, so the next run
    looks for the copy Lemmy may hold before it sends again (a new marker would be a
    second message). Before, a stop's error was taken for Lemmy's answer."""
    import threading

    from modbot.actions.notices import FAILED_PREFIX

    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    client.login()
    client.stop = threading.Event()
    client.stop.set()  # SIGTERM while the message was on its way
    fake_lemmy.fail_next(fake_lemmy.api_path("/api/v3/private_message"), status=504)
    (only,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "a rule")])
    executor.flush_notifications()
    row = store.action("notify", target.key)
    client.close()
    store.close()
    assert only.status == "failed" and "stopping" in only.detail, only.detail
    assert row["detail"].startswith(FAILED_PREFIX), row
