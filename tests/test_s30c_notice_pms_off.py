"""An admin who turned private messages off on Lemmy 1.0: Lemmy answers the bot's
message `couldnt_create`, the code it also answers for a failed database insert (a
passing fault). Before, that admin was tried every cycle for ever, and the item behind
the notice decided again each time. Now the refusal is taken for lasting once Lemmy gave
it on `LASTING_CYCLES` cycles in a row spanning `LASTING_S`, no message reaching the
admin between: that admin is left out of the notice (done for the others, or failed and
not tried again), the record and the log say why, and a later message is tried once; one
that reaches them (private messages on again) starts the count afresh."""

from __future__ import annotations

import logging

import pytest

from modbot.actions import notices
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97) in post"
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def cycle(lemmy, tmp_path, run: int, admins, clock, posts) -> list:
    """One run's notices about ``posts``: their outcomes, after the flush."""
    client = LemmyClientV4(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None
    )
    store = Store(tmp_path / "state.sqlite3")
    cast = lemmy.cast
    executor = Executor(
        client,
        store,
        run_id=f"run{run}",
        dry_run=False,
        admin_ids={cast.bot.id, *(a.id for a in admins)},
        bot_person_id=cast.bot.id,
        clock=clock,
    )
    try:
        client.login()
        outcomes = []
        for post in posts:
            target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
            notify = [PlannedAction("notify_admins", f"{TEXT} {post.id}", {}, "a rule")]
            outcomes.extend(executor.execute(target, notify))
        executor.flush_notifications()
        return outcomes
    finally:
        client.close()
        store.close()


def tries(lemmy, person) -> int:
    """The private messages the bot sent (or tried to send) to ``person``."""
    path = lemmy.api_path("/api/v3/private_message")
    return sum(
        r.path == path and isinstance(r.json, dict) and r.json.get("recipient_id") == person.id
        for r in lemmy.requests
    )


def copies(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_an_admin_with_private_messages_off_is_not_tried_for_ever(fake_lemmy, tmp_path, caplog):
    cast = fake_lemmy.cast
    quiet = fake_lemmy.add_person("admin2", admin=True, password="pw")
    quiet.private_messages_enabled = False
    admins = [cast.admin, quiet]
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    clock = Clock()

    runs = []
    for run in range(1, 10):  # one cycle every half hour
        (outcome,) = cycle(fake_lemmy, tmp_path, run, admins, clock, [post])
        runs.append(outcome)
        if outcome.status != "failed":
            break
        clock.now += HOUR / 2
    # tried again while the refusal may be passing, then left out: the notice is done
    *failing, last = runs
    assert failing and all(o.status == "failed" and o.retry for o in failing), failing
    assert last.status == "done" and not last.retry, last.detail
    assert "refused for 1" in last.detail and "private messages off" in last.detail
    assert len(runs) == max(notices.LASTING_CYCLES, int(notices.LASTING_S / (HOUR / 2)) + 1)
    assert (copies(fake_lemmy, cast.admin), copies(fake_lemmy, quiet)) == (1, 0)
    assert tries(fake_lemmy, quiet) == len(runs)
    assert any(
        r.levelno == logging.WARNING and f"admin {quiet.id}" in r.getMessage()
        for r in caplog.records
    )

    # the next cycle: nothing more about that item; a new item's notice is tried once
    # with the quiet admin, who is left out at once
    before = tries(fake_lemmy, quiet)
    clock.now += HOUR / 2
    again, new = cycle(
        fake_lemmy, tmp_path, 20, admins, clock, [post, fake_lemmy.add_post(cast.pics, cast.bob)]
    )
    assert again.status == "skipped" and "notified already" in again.detail
    assert new.status == "done" and not new.retry and "refused for 1" in new.detail, new.detail
    assert tries(fake_lemmy, quiet) - before == 1

    # private messages on again: the next notice reaches them, and the count starts afresh
    quiet.private_messages_enabled = True
    clock.now += HOUR / 2
    (back,) = cycle(
        fake_lemmy, tmp_path, 21, admins, clock, [fake_lemmy.add_post(cast.pics, cast.bob)]
    )
    assert back.status == "done" and "refused" not in back.detail, back.detail
    assert copies(fake_lemmy, quiet) == 1
    quiet.private_messages_enabled = False
    clock.now += HOUR / 2
    (passing,) = cycle(
        fake_lemmy, tmp_path, 22, admins, clock, [fake_lemmy.add_post(cast.pics, cast.bob)]
    )
    assert passing.status == "failed" and passing.retry, passing.detail


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_the_only_admin_with_private_messages_off_fails_once_for_good(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    cast.admin.private_messages_enabled = False
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    clock = Clock()
    runs = []
    for run in range(1, 10):
        (outcome,) = cycle(fake_lemmy, tmp_path, run, [cast.admin], clock, [post])
        runs.append(outcome)
        if not outcome.retry:
            break
        clock.now += HOUR
    *failing, last = runs
    assert failing and all(o.status == "failed" and o.retry for o in failing), failing
    assert last.status == "failed" and not last.retry, last.detail
    assert "private messages off" in last.detail
    assert len(runs) == notices.LASTING_CYCLES
    assert tries(fake_lemmy, cast.admin) == notices.LASTING_CYCLES


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_couldnt_create_within_the_hour_is_tried_again(fake_lemmy, tmp_path):
    """A failed insert (disk full for a few minutes) is not taken for an admin's
    setting: many quick cycles within `LASTING_S` keep trying."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    path = fake_lemmy.api_path("/api/v3/private_message")
    clock = Clock()
    for run in range(1, notices.LASTING_CYCLES + 3):
        fake_lemmy.fail_next(path, status=400, error="couldnt_create")
        (outcome,) = cycle(fake_lemmy, tmp_path, run, [cast.admin], clock, [post])
        assert outcome.status == "failed" and outcome.retry, outcome.detail
        clock.now += 60
    (outcome,) = cycle(fake_lemmy, tmp_path, 99, [cast.admin], clock, [post])
    assert outcome.status == "done", outcome.detail
    assert copies(fake_lemmy, cast.admin) == 1
