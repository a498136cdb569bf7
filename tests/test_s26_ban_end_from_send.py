"""A timed ban lasts the rule's length from when it is sent, rounded up: not from before
the reads that come first (the person, the modlog, the admins), which on a loaded
machine or a slow Lemmy made a short ban reach Lemmy over already
(`ban_expiration_in_past`) and every ban end early by that time."""

from __future__ import annotations

import time

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

MINUTES_10 = 600


@pytest.mark.both_lemmys
def test_the_ban_counts_from_when_it_is_sent(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    v4 = lemmy.v4 is not None
    post = lemmy.add_post(cast.pics, cast.alice)
    # the bot's clock reads an hour ago until the person is read: as if the reads before
    # the ban took that long
    behind = [3600.0]

    def person_read(body):
        behind[0] = 0.0
        return body

    lemmy.tamper("/api/v4/person" if v4 else "/api/v3/user", person_read, times=1)
    client = (LemmyClientV4 if v4 else LemmyClient)(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0
    )
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(
            client,
            store,
            run_id="run",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            clock=lambda: time.time() - behind[0],
        )
        target = Target(
            kind="post",
            id=post.id,
            url=f"https://x/post/{post.id}",
            author_id=cast.alice.id,
            community_id=post.community_id,
        )
        ban = PlannedAction("ban", "why", {"scope": "site", "duration_seconds": MINUTES_10}, "r")
        sent_at = time.time()
        (outcome,) = executor.execute(target, [ban])
    finally:
        client.close()
        store.close()
    assert outcome.status == "done", outcome
    person = lemmy.person(cast.alice.id)
    assert person.banned
    assert person.ban_expires.timestamp() >= sent_at + MINUTES_10
