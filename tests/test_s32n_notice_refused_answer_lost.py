"""Lemmy 1.0 keeps an idempotency key before its handler runs, whatever the handler
answers (routes/src/middleware/idempotency.rs at 1.0.0-beta.1), and drops a second
request under it (422) for two to four minutes. A notice Lemmy refused (the insert
failed: `couldnt_create`) whose answer was lost on the way (a proxy's timeout) was
looked up next cycle, shown not sent, and sent again under the same key: Lemmy
answered 422, read as "done", and the admin never had the notice. A message the bot's
sent messages show did not go to an admin now goes to them under a fresh key."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies, executor_for

from modbot.errors import LemmyError
from modbot.lemmy.transport import Transient
from modbot.model import PlannedAction, Target

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)

PATH = "/api/v4/private_message"


def cycle(lemmy, tmp_path, run: int, target: Target, *, answer_lost: bool = False):
    executor, client, store = executor_for(lemmy, tmp_path, run, [lemmy.cast.admin])
    executor.stale_runs = {f"run{i}" for i in range(1, run)}
    client.retries = 0
    if answer_lost:  # Lemmy's own answer (an error) never reaches the bot
        send = client.send

        def lost(method, url, **kwargs):
            try:
                return send(method, url, **kwargs)
            except LemmyError:
                if url.endswith(PATH):
                    raise Transient("timed out") from None
                raise

        client.send = lost
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome, store.action("notify", target.key)
    finally:
        client.close()
        store.close()


def test_a_refused_notice_whose_answer_was_lost_reaches_the_admin_next_cycle(fake_lemmy, tmp_path):
    lemmy, admin = fake_lemmy, fake_lemmy.cast.admin
    lemmy.cast.bot.show_bot_accounts = True  # as a live run sets it
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")

    admin.private_messages_enabled = False  # Lemmy refuses it (couldnt_create)
    first, _ = cycle(lemmy, tmp_path, 1, target, answer_lost=True)
    assert first.status == "failed" and first.retry, first.detail
    assert copies(lemmy, admin) == 0

    admin.private_messages_enabled = True  # a passing refusal; Lemmy still has the key
    again, row = cycle(lemmy, tmp_path, 2, target)
    assert copies(lemmy, admin) == 1, again.detail
    assert again.status == "done" and row["status"] == "done", again.detail
    assert [r.status for r in lemmy.requests if r.path == PATH][-1] == 200

    third, _ = cycle(lemmy, tmp_path, 3, target)  # and not again
    assert copies(lemmy, admin) == 1
    assert third.status == "skipped", third.detail
