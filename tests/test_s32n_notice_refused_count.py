"""A message that reached one admin, was refused for good to a second (who blocked the
bot: `person_is_blocked`) and failed for a passing reason to a third is sent to the
third next cycle. The second was recorded among the admins it "went to" (so it is not
tried again), and the record then said the message reached all three: an admin reading
the audit took every admin for told. Now it names the refusal, and counts the two it
reached."""

from __future__ import annotations

import pytest
from test_s29f_notice_one_admin_failed import TEXT, copies, executor_for

from modbot.errors import LemmyError
from modbot.model import PlannedAction, Target

pytestmark = pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)

PATH = "/api/v3/private_message"


def test_an_admin_refused_for_good_is_not_counted_as_reached_when_the_others_get_it(
    fake_lemmy, tmp_path
):
    cast = fake_lemmy.cast
    blocking = fake_lemmy.add_person("admin2", admin=True, password="pw")
    late = fake_lemmy.add_person("admin3", admin=True, password="pw")
    admins = [cast.admin, blocking, late]
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    notify = [PlannedAction("notify_admins", TEXT, {}, "a rule")]

    def run(number: int, *, rate_limited: bool = False):
        executor, client, store = executor_for(fake_lemmy, tmp_path, number, admins)
        client.retries = 0
        send = client.send

        def refusing(method, url, **kwargs):
            to = (kwargs.get("json") or {}).get("recipient_id")
            if url.endswith(PATH) and to == blocking.id:  # (the fake models no blocks)
                tried.append(to)
                raise LemmyError("blocked", status=400, error="person_is_blocked")
            if url.endswith(PATH) and to == late.id and rate_limited:  # Lemmy's rate limit
                raise LemmyError("rate limited", status=400, error="rate_limit_error")
            return send(method, url, **kwargs)

        client.send = refusing
        try:
            client.login()
            (outcome,) = executor.execute(target, notify)
            executor.flush_notifications()
            return outcome, store.action("notify", target.key)
        finally:
            client.close()
            store.close()

    tried: list[int] = []
    first, _ = run(1, rate_limited=True)
    assert first.status == "failed" and first.retry, first.detail
    assert [copies(fake_lemmy, a) for a in admins] == [1, 0, 0]

    again, row = run(2)
    assert [copies(fake_lemmy, a) for a in admins] == [1, 0, 1]
    assert again.status == "done" and row["status"] == "done", again.detail
    assert row["detail"].startswith("2 admin(s); refused for 1"), row["detail"]
    assert again.detail.startswith("private message to 2 admin(s); refused for 1"), again.detail
    assert f"admin {blocking.id}" in again.detail
    assert tried == [blocking.id], "the admin who refused it is not tried again"
