"""A notice whose answer was lost (Lemmy stored it, a proxy's page came back) is looked up
among the bot's sent messages next cycle. Since 50cda9b a notice goes to the admins Lemmy
lists when it is sent, but the look-up still asked for a copy for every admin of the
session's list, which keeps one demoted since: the notice, which went to every admin
there is, was judged not delivered and queued again (on 1.0 under idempotency keys for
the demoted admin), and the record said it failed. The look-up now asks for the admins
the notice goes to."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
SEND = {"v3": "/api/v3/private_message", "v4": "/api/v4/private_message"}


def cycle(lemmy, tmp_path, run: int, target: Target, admin_ids: set[int]):
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)
    client.retries = 0
    store = Store(tmp_path / "state.sqlite3")
    executor = Executor(  # the admins as the session read them at its last check
        client,
        store,
        run_id=f"run{run}",
        dry_run=False,
        admin_ids=admin_ids,
        bot_person_id=lemmy.cast.bot.id,
    )
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome, store.action("notify", target.key)
    finally:
        client.close()
        store.close()


@pytest.mark.both_lemmys
def test_a_lost_notice_that_reached_every_admin_there_is_is_done(fake_lemmy, tmp_path):
    lemmy, version = fake_lemmy, fake_lemmy.api_version
    cast = lemmy.cast
    cast.bot.show_bot_accounts = True  # as a live run sets it
    demoted = lemmy.add_person("admin2", admin=True, password="pw")
    session_admins = {cast.bot.id, cast.admin.id, demoted.id}
    demoted.admin = False  # an admin takes it away; the session's list has it still
    post = lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")

    lemmy.tamper(SEND[version], lambda body: PROXY_PAGE, times=1)  # stored, answer lost
    first, _ = cycle(lemmy, tmp_path, 1, target, session_admins)
    assert first.status == "failed" and first.retry, first.detail
    assert (copies(lemmy, cast.admin), copies(lemmy, demoted)) == (1, 0)

    sent_before = sum(r.path == SEND[version] for r in lemmy.requests)
    second, row = cycle(lemmy, tmp_path, 2, target, session_admins)
    assert second.status == "done" and row["status"] == "done", second.detail
    assert "Lemmy shows it sent" in second.detail
    assert sum(r.path == SEND[version] for r in lemmy.requests) == sent_before  # none sent
    assert (copies(lemmy, cast.admin), copies(lemmy, demoted)) == (1, 0)
