"""A notice whose message's answers were lost (Lemmy stored the copies, a proxy's page came
back) is looked up among the bot's sent messages before it goes again. The look-up
stopped at the first message published more than 10 minutes before the claim, by the
bot's clock against Lemmy's times: with Lemmy's clock 20 minutes behind, it stopped at
the first copy it found, and the other admin's copy, a little older, was taken for
never sent: that admin got the notice twice (1.0: under a new idempotency key). The
look-up now reads back by Lemmy's own times from a copy it found, and by a day's bound
of clock skew before it found one."""

from __future__ import annotations

from datetime import timedelta

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "image flagged by rule `csam` (score 0.97) in post 1"
PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
SEND = "/api/v4/private_message"


def cycle(lemmy, tmp_path, run: int, target: Target, admins) -> str:
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
    )
    try:
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome.status
    finally:
        client.close()
        store.close()


def copies(lemmy, person) -> int:
    return sum(TEXT in m.content for m in lemmy.private_messages if m.recipient_id == person.id)


def test_a_lemmy_clock_behind_the_bots_does_not_send_a_found_notice_twice(tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        cast = lemmy.cast = standard_cast(lemmy)
        cast.bot.show_bot_accounts = True  # as a live run sets it
        second = lemmy.add_person("admin2", admin=True, password="pw")
        admins = sorted([cast.admin, second], key=lambda p: p.id)
        post = lemmy.add_post(cast.pics, cast.alice)
        target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")

        lemmy.tamper(SEND, lambda body: PROXY_PAGE, times=2)  # both stored, answers lost
        assert cycle(lemmy, tmp_path, 1, target, admins) == "failed"
        assert [copies(lemmy, a) for a in admins] == [1, 1]

        # Lemmy's clock is 20 minutes behind the bot's: its times say so
        for m in lemmy.private_messages:
            m.published -= timedelta(minutes=20)
        lemmy.v4._idempotency.clear()  # minutes pass: Lemmy forgot the keys
        assert cycle(lemmy, tmp_path, 2, target, admins) == "done"
        assert [copies(lemmy, a) for a in admins] == [1, 1]
