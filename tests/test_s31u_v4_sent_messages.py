"""Lemmy 1.0 lists the private messages one sent among one's private-message notifications
(NotificationQuery::list, crates/db_views/notification/src/impls.rs at 1.0.0-beta.1:
"show messages FROM you also"), hidden from a reader with show_bot_accounts off when the
sender is a bot account. Before, ``LemmyClientV4.sent_messages`` said 1.0 keeps no such
list: after a lost answer to a notice, or a kill while sending it, the bot resent it
under the same idempotency key, and an admin had it twice once Lemmy had forgotten the
key (a few minutes). Now the bot looks for its copy first, as on 0.19."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies, executor_for

from modbot.actions.notices import FAILED_PREFIX
from modbot.errors import LemmyError
from modbot.model import PlannedAction, Target

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)

PATH = "/api/v4/private_message"
PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class Killed(BaseException):
    """The process dying (kill -9): nothing after it runs."""


def forget_keys(lemmy) -> None:
    """Minutes pass: Lemmy forgets the idempotency keys it was sent."""
    lemmy.v4._idempotency.clear()


def cycle(lemmy, tmp_path, run: int, target: Target, *, kill_after_send: bool = False):
    executor, client, store = executor_for(lemmy, tmp_path, run, [lemmy.cast.admin])
    executor.stale_runs = {f"run{i}" for i in range(1, run)}
    client.retries = 0
    if kill_after_send:  # dies once Lemmy stored the message, before its answer is read
        send = client.private_message

        def dies(*args, **kwargs):
            send(*args, **kwargs)
            raise Killed

        client.private_message = dies
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome, store.action("notify", target.key)
    finally:
        client.close()
        store.close()


def a_post(lemmy) -> Target:
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice)
    return Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")


def sends(lemmy) -> int:
    return sum(r.path == PATH for r in lemmy.requests)


def test_a_notice_whose_answer_was_lost_is_not_sent_twice_after_lemmy_forgot_its_key(
    fake_lemmy, tmp_path
):
    fake_lemmy.cast.bot.show_bot_accounts = True  # as a live run sets it
    target = a_post(fake_lemmy)
    fake_lemmy.tamper(PATH, lambda body: PROXY_PAGE, times=1)  # stored, its answer lost
    first, row = cycle(fake_lemmy, tmp_path, 1, target)
    assert first.status == "failed" and first.retry, first.detail
    assert row["detail"].startswith(FAILED_PREFIX), row
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1

    forget_keys(fake_lemmy)
    before = sends(fake_lemmy)
    again, row = cycle(fake_lemmy, tmp_path, 2, target)
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1, "one copy"
    assert sends(fake_lemmy) == before, "not sent again: Lemmy shows it went"
    assert again.status == "done" and row["status"] == "done", again.detail


def test_a_notice_lost_in_a_kill_is_not_sent_twice_after_lemmy_forgot_its_key(fake_lemmy, tmp_path):
    fake_lemmy.cast.bot.show_bot_accounts = True
    target = a_post(fake_lemmy)
    with pytest.raises(Killed):
        cycle(fake_lemmy, tmp_path, 1, target, kill_after_send=True)
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1

    forget_keys(fake_lemmy)
    before = sends(fake_lemmy)
    _, row = cycle(fake_lemmy, tmp_path, 2, target)
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1, "one copy"
    assert sends(fake_lemmy) == before
    assert row["status"] == "done" and "Lemmy shows it done" in row["detail"], row


def test_a_notice_whose_answer_was_lost_and_never_stored_still_reaches_the_admin(
    fake_lemmy, tmp_path
):
    fake_lemmy.cast.bot.show_bot_accounts = True
    target = a_post(fake_lemmy)
    fake_lemmy.fail_next(PATH, status=504)  # a proxy's page: Lemmy never had it
    first, _ = cycle(fake_lemmy, tmp_path, 1, target)
    assert first.status == "failed" and first.retry, first.detail
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 0

    again, row = cycle(fake_lemmy, tmp_path, 2, target)
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1
    assert again.status == "done" and row["status"] == "done", again.detail


def test_a_bot_that_hides_bot_accounts_cannot_tell_and_resends_under_the_same_key(
    fake_lemmy, tmp_path
):
    """show_bot_accounts off (a dry run, or a run whose settings could not be saved):
    Lemmy hides the bot's own messages from it, so an empty list is no answer. The
    message goes again under its key, which Lemmy drops while it remembers it."""
    target = a_post(fake_lemmy)
    fake_lemmy.tamper(PATH, lambda body: PROXY_PAGE, times=1)
    cycle(fake_lemmy, tmp_path, 1, target)
    again, _ = cycle(fake_lemmy, tmp_path, 2, target)
    assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1
    assert [r.status for r in fake_lemmy.requests if r.path == PATH][-1] == 422
    assert again.status == "done", again.detail


def test_sent_messages_pages_past_the_messages_the_bot_received(fake_lemmy, tmp_path):
    """A page holds 50 of the bot's own messages however many it was sent between them
    (a short page is the last, as the notices read it)."""
    from modbot.config.settings import Secret
    from modbot.lemmy import LemmyClientV4

    cast = fake_lemmy.cast
    cast.bot.show_bot_accounts = True
    client = LemmyClientV4(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    alice = LemmyClientV4(fake_lemmy.url, "alice", Secret("pw"), requests_per_minute=0)
    try:
        for i in range(52):
            client.private_message(cast.admin.id, f"notice {i}")
        for i in range(70):
            alice.private_message(cast.bot.id, f"hello {i}")
        client.private_message(cast.admin.id, "notice 52")

        first = client.sent_messages(cast.bot.id, 1)
        assert [m.content for m in first[:2]] == ["notice 52", "notice 51"]
        assert len(first) >= 50 and {m.recipient_id for m in first} == {cast.admin.id}
        second = client.sent_messages(cast.bot.id, 2)
        assert [m.content for m in first + second] == [f"notice {i}" for i in range(52, -1, -1)]
        assert client.sent_messages(cast.bot.id, 3) == []
        with pytest.raises(LemmyError, match="only the bot's own"):
            client.sent_messages(cast.alice.id, 1)
        cast.bot.show_bot_accounts = False
        with pytest.raises(LemmyError, match="show_bot_accounts"):
            client.sent_messages(cast.bot.id, 1)
    finally:
        client.close()
        alice.close()


def test_in_one_process_a_second_lost_answer_is_looked_up_again(fake_lemmy, tmp_path):
    """Review R3 of 68dcf53: the markers looked up were remembered for the whole process
    (the daemon's executor lives as long), so a notice whose resend's answer was lost
    too went a third time unlooked-up, a second copy once Lemmy forgot the key. Each
    cycle looks up afresh."""
    fake_lemmy.cast.bot.show_bot_accounts = True
    target = a_post(fake_lemmy)
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [fake_lemmy.cast.admin])
    client.retries = 0
    notify = [PlannedAction("notify_admins", TEXT, {}, "r")]
    try:
        client.login()
        fake_lemmy.fail_next(PATH, status=504)  # cycle 1: Lemmy never had it
        executor.execute(target, notify)
        executor.flush_notifications()
        assert copies(fake_lemmy, fake_lemmy.cast.admin) == 0
        fake_lemmy.tamper(PATH, lambda body: PROXY_PAGE, times=1)  # cycle 2: stored, lost
        executor.execute(target, notify)
        executor.flush_notifications()
        assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1
        forget_keys(fake_lemmy)
        before = sends(fake_lemmy)
        executor.execute(target, notify)  # cycle 3: looked up again, found
        executor.flush_notifications()
        assert copies(fake_lemmy, fake_lemmy.cast.admin) == 1, "one copy"
        assert sends(fake_lemmy) == before
    finally:
        client.close()
        store.close()
