"""A message whose answer was lost for one admin (Lemmy stored it; a proxy's page came
back) while Lemmy refused it to another for good (they blocked the bot). Before, the
refusal, being Lemmy's own answer, made the whole message count as "Lemmy stored
nothing": its marker was dropped, the next cycle sent it as a new message, and the
first admin had it twice. Now one lost answer keeps the marker, and the resend goes to
the admins who have no copy only (0.19: the bot's sent messages say; 1.0: the same
idempotency key, which Lemmy drops)."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
TEXT = "image flagged by rule `csam` (score 0.97)"


def cycle(lemmy, tmp_path, run: int, admins, target: Target):
    kind = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    client.retries, client.backoff = 0, 0.01
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
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome
    finally:
        client.close()
        store.close()


def copies(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


@pytest.mark.both_lemmys
def test_a_lost_answer_beside_a_refusal_is_not_sent_twice(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    second = fake_lemmy.add_person("admin2", admin=True, password="pw")
    blocked, lost = sorted([cast.admin, second], key=lambda p: p.id)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    path = fake_lemmy.api_path("/api/v3/private_message")
    # the first admin's copy (they go first): they blocked the bot
    fake_lemmy.fail_next(path, status=400, error="person_is_blocked")
    fake_lemmy.tamper(path, lambda body: PROXY_PAGE, times=1)  # the second's: stored, lost
    first = cycle(fake_lemmy, tmp_path, 1, [blocked, lost], target)
    assert first.status == "failed" and first.retry, first.detail
    assert (copies(fake_lemmy, blocked), copies(fake_lemmy, lost)) == (0, 1)

    fake_lemmy.fail_next(path, status=400, error="person_is_blocked")  # still blocked
    again = cycle(fake_lemmy, tmp_path, 2, [blocked, lost], target)
    assert (copies(fake_lemmy, blocked), copies(fake_lemmy, lost)) == (0, 1), "one copy"
    assert again.status in ("done", "skipped"), again.detail
