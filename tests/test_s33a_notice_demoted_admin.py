"""An admin demoted while the bot runs was still sent the admins' notices (what the bot
found: links to flagged images, the rules' messages) until the session next read the
list of admins, up to five minutes later. The notices now go to the admins Lemmy lists
when they are sent (one read of the list, kept a few seconds); a list that cannot be
read leaves the session's."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97)"


def got(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


@pytest.mark.both_lemmys
def test_an_admin_demoted_since_the_session_read_the_list_gets_no_notice(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    demoted = lemmy.add_person("admin2", admin=True, password="pw")
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(  # the admins as the session read them at its last check
            client,
            store,
            run_id="run1",
            dry_run=False,
            admin_ids={cast.bot.id, cast.admin.id, demoted.id},
            bot_person_id=cast.bot.id,
        )
        demoted.admin = False  # an admin takes it away
        posts = [lemmy.add_post(cast.pics, cast.alice) for _ in range(2)]
        for post in posts:
            target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
            (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
            executor.flush_notifications()
            assert outcome.status == "done", outcome.detail
    finally:
        client.close()
        store.close()
    assert got(lemmy, cast.admin) == 2
    assert got(lemmy, demoted) == 0
