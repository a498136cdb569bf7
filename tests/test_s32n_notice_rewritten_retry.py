"""On Lemmy 0.19 a notice whose answer was lost (a proxy's page) is retried only when the
bot's sent messages do not show it. Lemmy stores a message as its Markdown processing
leaves it (process_markdown, crates/api_common/src/utils.rs at 0.19.9: remove_slurs,
then clean_urls_in_text strips tracking parameters such as `utm_source` from every URL),
so a notice naming an image by its URL (`{{image_url}}`) or an author whose name the
site's slur filter matches is stored other than it was sent. The check compared the
whole text, missed the stored copy and sent the notice again: the admin had it twice.
It is now recognised by its `(modbot message …)` marker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_s29f_notice_one_admin_failed import executor_for

from modbot.lemmy.transport import Transient
from modbot.model import PlannedAction, Target

pytestmark = pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)

PATH = "/api/v3/private_message"
SENT_URL = "https://img.example/a.jpg?utm_source=share"
STORED_URL = "https://img.example/a.jpg"
TEXT = f"image `{SENT_URL}` flagged by rule `csam` (score 0.97)"


def test_a_notice_lemmy_stored_rewritten_is_not_sent_again_after_its_answer_was_lost(
    fake_lemmy, tmp_path
):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")

    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    send = client.send
    lost = []

    def stored_as_lemmy_does_then_lost(method, url, **kwargs):
        answer = send(method, url, **kwargs)
        if method == "POST" and url.endswith(PATH) and not lost:
            # Lemmy stored it with the URL cleaned; its answer never came (a timeout)
            message = fake_lemmy.state.private_messages[-1]
            message.content = message.content.replace(SENT_URL, STORED_URL)
            lost.append(message.id)
            raise Transient("timed out")
        return answer

    client.send = stored_as_lemmy_does_then_lost
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
        row = store.action("notify", target.key)
    finally:
        client.close()
        store.close()

    sent = [m for m in fake_lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert len(sent) == 1, [m.content for m in sent]
    assert sum(r.path == PATH and r.method == "POST" for r in fake_lemmy.requests) == 1
    assert outcome.status == "done" and row["status"] == "done", outcome.detail


def test_a_notice_lost_on_a_lemmy_whose_clock_is_behind_is_not_sent_again(fake_lemmy, tmp_path):
    """The check also asked that the copy be published at most two minutes before the
    bot's own clock said it was sent: with Lemmy's clock five minutes behind (no NTP on
    one of the hosts), the copy that went was not recognised, and the admin had the
    notice twice. A copy carrying the message's marker is that message, whenever Lemmy
    says it was published."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    send = client.send

    def behind_then_lost(method, url, **kwargs):
        answer = send(method, url, **kwargs)
        if method == "POST" and url.endswith(PATH) and not getattr(client, "lost", False):
            message = fake_lemmy.state.private_messages[-1]
            message.published -= timedelta(minutes=5)  # Lemmy's clock
            client.lost = True
            raise Transient("timed out")
        return answer

    client.send = behind_then_lost
    try:
        client.login()
        (outcome,) = executor.execute(target, [PlannedAction("notify_admins", TEXT, {}, "r")])
        executor.flush_notifications()
    finally:
        client.close()
        store.close()
    sent = [m for m in fake_lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert len(sent) == 1, [m.content for m in sent]
    assert outcome.status == "done", outcome.detail


def test_a_lost_notice_whose_check_before_the_retry_failed_keeps_its_marker(fake_lemmy, tmp_path):
    """Before retrying a message whose answer was lost, the client reads the bot's sent
    messages. When that read failed with Lemmy's own answer (its rate limit, every
    retry), the message failed with that answer, taken for "Lemmy stored nothing": its
    marker was dropped and the next cycle sent it as a new message beside the copy that
    had gone. It now fails as an answer lost, keeping the marker, and the next cycle
    finds the copy."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    notify = [PlannedAction("notify_admins", "look at it", {}, "r")]

    executor, client, store = executor_for(fake_lemmy, tmp_path, 1, [cast.admin])
    send = client.send
    lost: list[int] = []

    def lost_then_limited(method, url, **kwargs):
        if method == "GET" and url.endswith("/private_message/list"):
            raise Transient("rate limited", code="rate_limit_error", unanswered=False)
        answer = send(method, url, **kwargs)
        if method == "POST" and url.endswith(PATH) and not lost:
            lost.append(1)
            raise Transient("timed out")  # stored; its answer never came
        return answer

    client.send = lost_then_limited
    try:
        client.login()
        (first,) = executor.execute(target, notify)
        executor.flush_notifications()
    finally:
        client.close()
        store.close()
    assert first.status == "failed" and first.retry, first.detail

    executor, client, store = executor_for(fake_lemmy, tmp_path, 2, [cast.admin])
    try:
        client.login()
        (again,) = executor.execute(target, notify)
        executor.flush_notifications()
    finally:
        client.close()
        store.close()
    sent = [m for m in fake_lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert len(sent) == 1, [m.content for m in sent]
    assert again.status == "done", again.detail
