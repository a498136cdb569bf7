"""The daemon sends no ban while `modbot undo` (beside it, under its own lock) is lifting
that person's ban: the two could reach Lemmy in either order, and the new ban be lifted
with the old one. A claim a killed undo left long ago holds nothing back."""

from __future__ import annotations

import time

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import SENDING, Store


def test_no_ban_is_sent_while_undo_lifts_one(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    key = f"site:person:{cast.alice.id}"
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    store = Store(tmp_path / "state.sqlite3")
    try:

        def ban_now():
            executor = Executor(
                client,
                store,
                run_id="daemon",
                dry_run=False,
                admin_ids={cast.admin.id, cast.bot.id},
                bot_person_id=cast.bot.id,
            )
            target = Target(
                kind="post",
                id=post.id,
                url=f"https://x/post/{post.id}",
                author_id=cast.alice.id,
                community_id=post.community_id,
            )
            plan = PlannedAction("ban", "why", {"scope": "site", "duration_seconds": 3600}, "r")
            return executor.execute(target, [plan])[0]

        # an undo has claimed the unban and is sending it
        assert store.claim_action("unban", key, "undo-run", "lift the ban").outcome == "claimed"
        outcome = ban_now()
        assert outcome.status == "failed" and outcome.retry, outcome
        assert "modbot undo is lifting" in outcome.detail
        assert not [r for r in lemmy.requests if r.path == "/api/v3/user/ban"]
        assert not lemmy.person(cast.alice.id).banned

        # a claim an undo killed an hour ago left: the ban goes
        store.record_action(
            "unban", key, SENDING, "lift the ban", "undo-run", at=time.time() - 3600
        )
        assert ban_now().status == "done"
        assert lemmy.person(cast.alice.id).banned
    finally:
        client.close()
        store.close()
