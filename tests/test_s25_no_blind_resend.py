"""Lemmy 0.19 has no idempotency keys: a ban or a removal whose answer did not come (a
timeout after it was sent, a 500 or 504) may have been carried out, and the client sent it again
at once, within the same call: two ban lines in the modlog, a timed ban counted from the
resend. Now such a call is not sent again blind: it fails, and the next cycle looks on
Lemmy whether it was done (fc8a5e9) before sending it. A rate limit, which Lemmy answers
before acting, and a proxy's 502 or 503 (Lemmy not reached) are still retried at once."""

from __future__ import annotations

import time

import pytest
from test_s25o_answer_lost import act, sent, target_of

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.store import Store


@pytest.fixture
def make(fake_lemmy, tmp_path):
    made = []

    def build():
        client = LemmyClient(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        client.retries, client.backoff, client.timeout = 3, 0.01, 1.0
        store = Store(tmp_path / "state.sqlite3")
        cast = fake_lemmy.cast
        made.append((client, store))
        return Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            clock=time.time,
        )

    yield build
    for client, store in made:
        client.close()
        store.close()


def test_a_ban_whose_answer_timed_out_is_sent_once_and_found_done_next_cycle(fake_lemmy, make):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.delay("/api/v3/user/ban", 1.5, times=1)  # past the client's 1 s timeout
    ban = act("ban", scope="site", duration_seconds=3 * 86400)
    (first,) = make().execute(target_of(post, cast.alice), [ban])
    assert first.status == "failed" and first.retry, first
    assert "not sent again" in first.detail, first.detail
    time.sleep(1.0)  # the fake finishes the slow request
    assert len(sent(lemmy, "/api/v3/user/ban")) == 1
    (second,) = make().execute(target_of(post, cast.alice), [ban])
    assert second.status == "done" and "Lemmy shows it done" in second.detail, second
    assert len(sent(lemmy, "/api/v3/user/ban")) == 1
    assert len([m for m in lemmy.modlog if m.action == "ban"]) == 1


def test_a_removal_answered_504_is_not_sent_again_within_the_call(fake_lemmy, make):
    """A gateway timeout: Lemmy may have acted after the proxy gave up on it."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.fail_next("/api/v3/post/remove", status=504)
    (first,) = make().execute(target_of(post, cast.alice), [act("remove")])
    assert first.status == "failed" and first.retry, first
    assert len(sent(lemmy, "/api/v3/post/remove")) == 1
    (second,) = make().execute(target_of(post, cast.alice), [act("remove")])
    assert second.status == "done" and lemmy.post(post.id).removed, second
    assert len([m for m in lemmy.modlog if m.action == "remove_post"]) == 1


@pytest.mark.parametrize(
    "refusal",
    [{"error": "rate_limit_error"}, {"status": 502}, {"status": 503}],
    ids=["rate limit", "proxy 502", "proxy 503"],
)
def test_a_removal_lemmy_never_got_is_still_retried_at_once(fake_lemmy, make, refusal):
    """Refused before Lemmy acted: its rate limit, or a proxy that could not reach it."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    lemmy.fail_next("/api/v3/post/remove", **refusal)
    (done,) = make().execute(target_of(post, cast.alice), [act("remove")])
    assert done.status == "done" and lemmy.post(post.id).removed, done
    assert len(sent(lemmy, "/api/v3/post/remove")) == 2
