"""Lemmy 1.0 keeps an `Idempotency-Key` whatever it answers under it (a 400 too), and
answers a later request under that key 422, "done", without doing anything. A notice
whose message Lemmy refused to one admin with its own error (`couldnt_create`: a failed
insert) while another admin got it is sent next cycle to that admin only, under its
marker. Before, that resend went under the key Lemmy had kept: 422, recorded done, and
the admin never had the message. Now a key Lemmy answered an error under is spent, and
the resend goes under the next one."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97) in post"


def cycle(lemmy, tmp_path, run: int, admins, target: Target):
    client = LemmyClientV4(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None
    )
    store = Store(tmp_path / "state.sqlite3")
    executor = Executor(
        client,
        store,
        run_id=f"run{run}",
        dry_run=False,
        admin_ids={lemmy.cast.bot.id, *(a.id for a in admins)},
        bot_person_id=lemmy.cast.bot.id,
    )
    try:
        client.login()
        notify = [PlannedAction("notify_admins", TEXT, {}, "a rule")]
        (outcome,) = executor.execute(target, notify)
        executor.flush_notifications()
        return outcome
    finally:
        client.close()
        store.close()


def copies(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_copy_lemmy_refused_reaches_the_admin_next_cycle(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    second = fake_lemmy.add_person("admin2", admin=True, password="pw")
    admins = sorted([cast.admin, second], key=lambda p: p.id)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    # the first admin's copy: Lemmy's own error (an insert that failed), then it passes
    fake_lemmy.fail_next(
        fake_lemmy.api_path("/api/v3/private_message"), status=400, error="couldnt_create"
    )
    first = cycle(fake_lemmy, tmp_path, 1, admins, target)
    assert first.status == "failed" and first.retry, first.detail
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (0, 1)

    again = cycle(fake_lemmy, tmp_path, 2, admins, target)  # within Lemmy's key memory
    assert again.status == "done", again.detail
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (1, 1)


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_copy_refused_after_a_rate_limit_reaches_the_admin_next_cycle(fake_lemmy, tmp_path):
    """The first try rate-limited (the client moves on to the next key), the retry
    refused with Lemmy's own error: the key spent is the retry's, not the first one."""
    cast = fake_lemmy.cast
    second = fake_lemmy.add_person("admin2", admin=True, password="pw")
    admins = sorted([cast.admin, second], key=lambda p: p.id)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    path = fake_lemmy.api_path("/api/v3/private_message")
    fake_lemmy.fail_next(path, status=429)
    fake_lemmy.fail_next(path, status=400, error="couldnt_create")
    first = cycle(fake_lemmy, tmp_path, 1, admins, target)
    assert first.status == "failed" and first.retry, first.detail
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (0, 1)

    again = cycle(fake_lemmy, tmp_path, 2, admins, target)
    assert again.status == "done", again.detail
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (1, 1)
