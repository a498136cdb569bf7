"""Right before a remove, purge or ban the executor reads the site's admins afresh
(5ceba10). It asks `GET /site` alone: before, it read them with `site_info`, which on
Lemmy 1.0 also reads `GET /account` and `GET /custom_emoji/list` (three requests where
one says who the admins are)."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

PLAN = [PlannedAction("remove", "known abusive", {}, "r")]


@pytest.mark.both_lemmys
def test_the_admins_are_read_with_one_get_site_before_acting(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    kind = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    store = Store(tmp_path / "state.sqlite3")
    try:
        client.own_person_id()  # logged in beforehand, as a running bot is
        post = lemmy.add_post(cast.pics, cast.alice)
        target = Target(kind="post", id=post.id, author_id=cast.alice.id, community_id=cast.pics.id)
        executor = Executor(
            client,
            store,
            run_id="run",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        lemmy.person(cast.alice.id).admin = True  # made admin since the list was read
        lemmy.clear_requests()
        outcomes = executor.execute(target, PLAN)
        assert [(o.action, o.status) for o in outcomes] == [("remove", "skipped")]
        assert "made one since modbot last read the list" in outcomes[0].detail
        sent = [(r.method, r.path) for r in lemmy.requests]
        assert sent == [("GET", lemmy.api_path("/api/v3/site"))], sent
        assert not lemmy.post(post.id).removed
    finally:
        client.close()
        store.close()
