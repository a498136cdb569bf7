"""An action Lemmy carried out but whose answer was lost (a proxy's page where Lemmy's JSON
should be, a timeout after Lemmy acted): the next cycle asks Lemmy before sending it again,
so a ban or a removal is never sent twice, nor a timed ban made to end later."""

from __future__ import annotations

import time

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def act(kind, reason="why", **params):
    return PlannedAction(kind, reason, params, "a rule")


@pytest.fixture
def make(fake_lemmy, tmp_path):
    """Executors sharing one store file, as the bot's successive cycles and runs do."""
    made = []

    def build(*, clock=time.time):
        kind = LemmyClientV4 if fake_lemmy.v4 is not None else LemmyClient
        client = kind(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        client.retries, client.backoff = 0, 0.01
        store = Store(tmp_path / "state.sqlite3")
        cast = fake_lemmy.cast
        executor = Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            clock=clock,
        )
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


def target_of(post, author):
    return Target(
        kind="post",
        id=post.id,
        url=f"https://x/post/{post.id}",
        author_id=author.id,
        community_id=post.community_id,
    )


def sent(lemmy, path):
    return [r.json for r in lemmy.requests if r.path == path]


def test_a_ban_lemmy_did_whose_answer_was_lost_is_not_sent_again(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.tamper("/api/v3/user/ban", lambda body: PROXY_PAGE, times=1)
    start = time.time()
    (first,) = make(clock=lambda: start).execute(
        target_of(post, cast.alice), [act("ban", scope="site", duration_seconds=3 * 86400)]
    )
    assert first.status == "failed" and first.retry, first
    assert lemmy.person(cast.alice.id).banned, "Lemmy carried it out"
    ends = lemmy.person(cast.alice.id).ban_expires

    # the next cycle, an hour later
    (second,) = make(clock=lambda: start + 3600).execute(
        target_of(post, cast.alice), [act("ban", scope="site", duration_seconds=3 * 86400)]
    )
    assert second.status == "done", second
    assert "Lemmy shows it done" in second.detail
    assert len(sent(lemmy, "/api/v3/user/ban")) == 1, "the ban is not sent a second time"
    assert lemmy.person(cast.alice.id).ban_expires == ends, "the ban ends when the rule said"
    assert len([m for m in lemmy.modlog if m.action == "ban"]) == 1


def test_a_removal_lemmy_did_whose_answer_was_lost_is_not_sent_again(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.tamper("/api/v3/post/remove", lambda body: PROXY_PAGE, times=1)
    (first,) = make().execute(target_of(post, cast.alice), [act("remove")])
    assert first.status == "failed" and first.retry and lemmy.post(post.id).removed
    (second,) = make().execute(target_of(post, cast.alice), [act("remove")])
    assert second.status == "done" and "Lemmy shows it done" in second.detail, second
    assert len(sent(lemmy, "/api/v3/post/remove")) == 1
    assert len([m for m in lemmy.modlog if m.action == "remove_post"]) == 1


def test_an_action_lemmy_did_not_do_is_sent_again_next_cycle(fake_lemmy, make):
    """Lemmy down (its proxy's 502, Lemmy never saw it): the ban goes next cycle."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.fail_next("/api/v3/user/ban", status=502)
    ban = act("ban", scope="site", duration_seconds=None)
    (first,) = make().execute(target_of(post, cast.alice), [ban])
    assert first.status == "failed" and first.retry and not lemmy.person(cast.alice.id).banned
    (second,) = make().execute(target_of(post, cast.alice), [ban])
    assert second.status == "done" and "Lemmy shows it done" not in second.detail, second
    assert lemmy.person(cast.alice.id).banned
    assert len(sent(lemmy, "/api/v3/user/ban")) == 2


@pytest.mark.both_lemmys
def test_a_message_lemmy_stored_whose_answer_was_lost_is_not_sent_again(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.tamper(lemmy.api_path("/api/v3/private_message"), lambda body: PROXY_PAGE, times=1)
    first = make()
    (queued,) = first.execute(target_of(post, cast.alice), [act("notify_admins", "look")])
    first.flush_notifications()
    assert queued.status == "failed" and queued.retry, queued
    assert len(lemmy.private_messages) == 1, "Lemmy stored it"
    second = make()
    (again,) = second.execute(target_of(post, cast.alice), [act("notify_admins", "look")])
    second.flush_notifications()
    assert len(lemmy.private_messages) == 1, "the admin gets one message"
    assert again.status in ("done", "skipped"), again


@pytest.mark.both_lemmys
def test_a_message_lemmy_never_got_is_sent_next_cycle(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.fail_next(lemmy.api_path("/api/v3/private_message"), status=502)
    first = make()
    (queued,) = first.execute(target_of(post, cast.alice), [act("notify_admins", "look")])
    first.flush_notifications()
    assert queued.status == "failed" and lemmy.private_messages == []
    second = make()
    (again,) = second.execute(target_of(post, cast.alice), [act("notify_admins", "look")])
    second.flush_notifications()
    assert again.status == "done", again
    (message,) = lemmy.private_messages
    assert message.recipient_id == cast.admin.id and "look (https://x/post/" in message.content
