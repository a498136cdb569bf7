"""Lemmy 1.0 keeps an ``Idempotency-Key`` before its rate limiter and handlers run and
whatever they answer (crates/routes/src/middleware/idempotency.rs, wrapped around the
whole app in crates/server/src/lib.rs): a notice whose send Lemmy answered 429, the bot
killed in the backoff, must not be resent at restart under the key the 429 spent (a 422
that reads as "done" for a message that never went)."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

V4 = "/api/v4"


class Killed(BaseException):
    """The process dying (kill -9): nothing after it runs."""


@pytest.fixture
def lemmy4():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


@pytest.fixture
def make(lemmy4, tmp_path):
    """Executors sharing one store file, as successive runs of the bot do."""
    made = []

    def build():
        client = LemmyClientV4(lemmy4.url, "modbot", Secret("pw"), requests_per_minute=0)
        client._sleep = lambda _s: None
        store = Store(tmp_path / "state.sqlite3")
        cast = lemmy4.cast
        executor = Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        executor.stale_runs = {f"run{i}" for i in range(len(made))}
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


def notify(executor, post, message):
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    (outcome,) = executor.execute(target, [PlannedAction("notify_admins", message, {}, "a rule")])
    return outcome


def killed_in_the_backoff(executor):
    def dies(_seconds):
        raise Killed

    executor.client._sleep = dies


def test_a_notice_killed_in_a_429_backoff_still_reaches_the_admin(lemmy4, make):
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    first = make()
    lemmy4.fail_next(f"{V4}/private_message")  # Lemmy's rate limiter: 429, key kept
    killed_in_the_backoff(first)
    notify(first, post, "known abusive image")
    with pytest.raises(Killed):
        first.flush_notifications()
    assert lemmy4.private_messages == []

    again = make()  # the restart, well within the minutes Lemmy keeps the key
    outcome = notify(again, post, "known abusive image")
    again.flush_notifications()
    got = [m.recipient_id for m in lemmy4.private_messages]
    assert got == [lemmy4.cast.admin.id], outcome.detail
    assert outcome.status == "done", outcome.detail


def test_a_notice_killed_after_it_went_is_not_sent_twice(lemmy4, make):
    """The answer lost after Lemmy carried the message out (a cut connection): the
    restart's resend keeps the key, Lemmy drops it, the admin has one copy."""
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    first = make()
    send = first.client.send

    def went_then_died(method, url, **kwargs):
        answer = send(method, url, **kwargs)
        if url.endswith("/private_message"):
            raise Killed
        return answer

    first.client.send = went_then_died
    notify(first, post, "known abusive image")
    with pytest.raises(Killed):
        first.flush_notifications()
    assert len(lemmy4.private_messages) == 1

    again = make()
    outcome = notify(again, post, "known abusive image")
    again.flush_notifications()
    assert len(lemmy4.private_messages) == 1
    assert outcome.status == "done", outcome.detail


def test_a_notice_killed_in_two_backoffs_still_reaches_the_admin(lemmy4, make):
    """Killed in a 429's backoff twice in a row: each restart spends a new key."""
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    for _ in range(2):
        run = make()
        lemmy4.fail_next(f"{V4}/private_message")
        killed_in_the_backoff(run)
        notify(run, post, "known abusive image")
        with pytest.raises(Killed):
            run.flush_notifications()
    assert lemmy4.private_messages == []
    last = make()
    outcome = notify(last, post, "known abusive image")
    last.flush_notifications()
    assert [m.recipient_id for m in lemmy4.private_messages] == [lemmy4.cast.admin.id]
    assert outcome.status == "done", outcome.detail
