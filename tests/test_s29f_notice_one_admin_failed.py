"""A notice whose private message went to one admin but failed for another (Lemmy's
proxy down for that admin's copy, every retry) reaches that admin next cycle, and
only that admin: the one who has it gets no second copy. Before, it was recorded
done for the one admin it reached, and the other never heard of it."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97) in post 1"


def executor_for(lemmy, tmp_path, run: int, admins) -> tuple[Executor, LemmyClient, Store]:
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)
    store = Store(tmp_path / "state.sqlite3")
    cast = lemmy.cast
    executor = Executor(
        client,
        store,
        run_id=f"run{run}",
        dry_run=False,
        admin_ids={cast.bot.id, *(a.id for a in admins)},
        bot_person_id=cast.bot.id,
    )
    return executor, client, store


def copies(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


@pytest.mark.both_lemmys
def test_an_admin_whose_copy_failed_gets_it_next_cycle_and_the_other_no_second(
    fake_lemmy, tmp_path
):
    cast = fake_lemmy.cast
    second = fake_lemmy.add_person("admin2", admin=True, password="pw")
    admins = sorted([cast.admin, second], key=lambda p: p.id)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    notify = [PlannedAction("notify_admins", TEXT, {}, "a rule")]

    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, admins)
    client.login()
    # the first admin's copy: a proxy's 502 for the first try and every retry
    fake_lemmy.fail_next(fake_lemmy.api_path("/api/v3/private_message"), times=6, status=502)
    (first,) = executor.execute(target, notify)
    executor.flush_notifications()
    client.close()
    store.close()
    assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (0, 1)
    assert first.status == "failed" and first.retry, first.detail
    assert "private message to 1 admin(s); failed for 1:" in first.detail

    for run in (2, 3):  # the next cycle sends the missing copy; the one after, nothing
        executor, client, store = executor_for(fake_lemmy, tmp_path, run, admins)
        (again,) = executor.execute(target, notify)
        executor.flush_notifications()
        client.close()
        store.close()
        assert (copies(fake_lemmy, admins[0]), copies(fake_lemmy, admins[1])) == (1, 1)
    assert again.status == "skipped" and "notified already" in again.detail
