"""A notice whose answer was lost (Lemmy stored it, a proxy's page came back) is looked up
among the bot's sent messages before it goes again. When that look-up itself got no
answer (Lemmy's proxy down for that one request), it was taken for "cannot tell": on
0.19 the notice went again as a new message, on 1.0 again under its idempotency keys,
which Lemmy had forgotten by then: the admin had it twice. Now, as for an action a
killed run was sending, no answer about it means it is asked again next cycle, and
it is sent only once Lemmy shows it did not go."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies, executor_for

from modbot.model import PlannedAction, Target

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
SEND = {"v3": "/api/v3/private_message", "v4": "/api/v4/private_message"}
SENT_LIST = {"v3": "/api/v3/private_message/list", "v4": "/api/v4/account/notification/list"}


def cycle(lemmy, tmp_path, run: int, target: Target):
    executor, client, store = executor_for(lemmy, tmp_path, run, [lemmy.cast.admin])
    client.retries = 0
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        return outcome, store.action("notify", target.key)
    finally:
        client.close()
        store.close()


@pytest.mark.both_lemmys
def test_a_lost_notice_whose_look_up_got_no_answer_is_asked_again_not_sent_twice(
    fake_lemmy, tmp_path
):
    lemmy, version = fake_lemmy, fake_lemmy.api_version
    lemmy.cast.bot.show_bot_accounts = True  # as a live run sets it
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")

    lemmy.tamper(SEND[version], lambda body: PROXY_PAGE, times=1)  # stored, answer lost
    first, _ = cycle(lemmy, tmp_path, 1, target)
    assert first.status == "failed" and first.retry, first.detail
    assert copies(lemmy, lemmy.cast.admin) == 1

    if lemmy.v4 is not None:
        lemmy.v4._idempotency.clear()  # minutes pass: Lemmy forgot the keys
    lemmy.fail_next(SENT_LIST[version], status=502)  # the look-up gets a proxy's page
    second, row = cycle(lemmy, tmp_path, 2, target)
    assert copies(lemmy, lemmy.cast.admin) == 1, "not sent blind"
    assert second.status == "failed" and second.retry, second.detail
    assert "asked again next cycle" in second.detail
    assert row["status"] == "failed"

    third, row = cycle(lemmy, tmp_path, 3, target)  # Lemmy answers: it went
    assert copies(lemmy, lemmy.cast.admin) == 1
    assert third.status == "done" and row["status"] == "done", third.detail
