"""A notice whose message Lemmy held back before it was sent (the login resting after
logins Lemmy did not answer, or a proxy's 503 with a long Retry-After: a ``Held``, with
no Lemmy error code) was recorded as one whose answer was lost, "failed: private message
<marker>": the next cycle looked among the bot's sent messages for a message that never
left, and while Lemmy could not say, the admins' notice waited with "its message may
have gone (its answer was lost)". A held message was never sent: it is tried again
as it is."""

from __future__ import annotations

import json
import time

import pytest

from modbot.actions.executor import Executor
from modbot.actions.notices import FAILED_PREFIX
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97)"
SENT_LIST = {"v3": "/api/v3/private_message/list", "v4": "/api/v4/account/notification/list"}


def cycle(lemmy, tmp_path, run: int, target: Target, holds: str | None = None):
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)
    client.restore_holds(holds)
    store = Store(tmp_path / "state.sqlite3")
    cast = lemmy.cast
    executor = Executor(
        client,
        store,
        run_id=f"run{run}",
        dry_run=False,
        admin_ids={cast.bot.id, cast.admin.id},
        bot_person_id=cast.bot.id,
    )
    try:
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome, store.action("notify", target.key)
    finally:
        client.close()
        store.close()


@pytest.mark.both_lemmys
def test_a_notice_held_before_it_was_sent_is_not_looked_up_as_lost(fake_lemmy, tmp_path):
    lemmy = fake_lemmy
    lemmy.cast.bot.show_bot_accounts = True  # as a live run sets it
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    now = time.time()
    rest = {
        "since": now - 10,
        "until": now + 300,
        "why": "login as 'modbot' failed: timed out, 2 times; Lemmy may have counted each",
        "error": None,
        "status": None,
    }
    first, row = cycle(lemmy, tmp_path, 1, target, json.dumps({"login": rest}))
    assert first.status == "failed" and first.retry, first.detail
    assert not str(row["detail"]).startswith(FAILED_PREFIX), row["detail"]
    assert not lemmy.private_messages

    second, row = cycle(lemmy, tmp_path, 2, target)  # the rest over
    assert second.status == "done" and row["status"] == "done", second.detail
    assert not [r for r in lemmy.requests if r.path == SENT_LIST[lemmy.api_version]]
    assert sum(TEXT in m.content for m in lemmy.private_messages) == 1
