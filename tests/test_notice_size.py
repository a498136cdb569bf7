"""The admins' notices against Lemmy's limit on a private message: Lemmy (0.19 and 1.0)
refuses one over 10,000 UTF-16 code units (`invalid_body_field`). A busy cycle's notices
go in as many messages as they need, each claimed and sent on its own; a notice too long
for one message is cut, never refused."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

LIMIT = 10_000


def units(text: str) -> int:
    """Lemmy's length of a text: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@pytest.fixture
def make(fake_lemmy, tmp_path):
    """Executors sharing one store file, as successive runs of the bot do."""
    made = []

    def build():
        kind = LemmyClient if fake_lemmy.api_version == "v3" else LemmyClientV4
        client = kind(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        store = Store(tmp_path / "state.sqlite3")
        cast = fake_lemmy.cast
        executor = Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=False,
            max_destructive_per_hour=20,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


def notify(executor, post, message):
    target = Target(kind="post", id=post.id, url=f"https://x/post/{post.id}")
    (outcome,) = executor.execute(target, [PlannedAction("notify_admins", message, {}, "a rule")])
    return outcome


def texts_told(lemmy, notices):
    """For each notice, how many of the admin's messages hold it."""
    to_admin = [m.content for m in lemmy.private_messages if m.recipient_id == lemmy.cast.admin.id]
    return {n: sum(n in m for m in to_admin) for n in notices}


@pytest.mark.both_lemmys
def test_a_busy_cycle_reaches_the_admins_in_messages_lemmy_takes(fake_lemmy, make):
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(40)]
    # 134 characters but 254 UTF-16 code units each: over the limit as Lemmy counts
    notices = [f"notice {i:02d}: " + "😀" * 120 for i in range(40)]
    executor = make()
    outcomes = [notify(executor, post, text) for post, text in zip(posts, notices, strict=True)]
    executor.flush_notifications()

    assert {o.status for o in outcomes} == {"done"}, {o.detail for o in outcomes}
    messages = fake_lemmy.private_messages
    assert len(messages) >= 2 and all(units(m.content) <= LIMIT for m in messages)
    assert texts_told(fake_lemmy, notices) == dict.fromkeys(notices, 1)
    # each message has its own marker: the next run's claims tell which one went
    markers = [m.content.rsplit("(modbot message ", 1)[1] for m in messages]
    assert len(set(markers)) == len(messages)  # one admin: one copy of each


@pytest.mark.both_lemmys
def test_a_message_lemmy_failed_is_sent_again_and_the_others_are_not(fake_lemmy, make):
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(40)]
    notices = [f"notice {i:02d}: " + "x" * 290 for i in range(40)]
    path = fake_lemmy.api_path("/api/v3/private_message")
    fake_lemmy.fail_next(path, status=400, error="couldnt_create_private_message")  # the first
    executor = make()
    first = [notify(executor, post, text) for post, text in zip(posts, notices, strict=True)]
    executor.flush_notifications()
    failed = [n for n, o in zip(notices, first, strict=True) if o.status == "failed"]
    assert failed and len(failed) < len(notices), [o.status for o in first]
    assert all(o.retry for o in first if o.status == "failed")
    told = texts_told(fake_lemmy, notices)
    assert told == {n: 0 if n in failed else 1 for n in notices}

    again = make()  # the next cycle: every item decided again
    second = [notify(again, post, text) for post, text in zip(posts, notices, strict=True)]
    again.flush_notifications()
    assert [o.status for o in second] == ["done" if n in failed else "skipped" for n in notices]
    assert texts_told(fake_lemmy, notices) == dict.fromkeys(notices, 1)


@pytest.mark.both_lemmys
def test_a_notice_too_long_for_one_message_is_cut_not_refused(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    long = "the start of a long notice " + "y" * 12_000 + " the end"
    executor = make()
    outcome = notify(executor, post, long)
    executor.flush_notifications()
    assert outcome.status == "done", outcome.detail
    (message,) = fake_lemmy.private_messages
    assert units(message.content) <= LIMIT
    assert "the start of a long notice yyy" in message.content
    assert "the end" not in message.content and "(cut: too long" in message.content


def test_a_notice_is_never_cut_inside_a_value_shown_inert(fake_lemmy, make):
    """A cut inside a code span would leave its opening backticks alone, and the rest of
    the value (from the content) live Markdown: the cut goes before the value instead."""
    from markdown_it import MarkdownIt

    from modbot.markdown import inert

    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    value = inert("![px](http://tracker.example/p.png) " + "z" * 250)
    executor = make()
    outcome = notify(executor, post, "x" * 8_850 + " " + value + " the end")
    executor.flush_notifications()
    assert outcome.status == "done", outcome.detail
    (message,) = fake_lemmy.private_messages
    assert "x" * 8_850 + " … (cut: too long" in message.content
    assert "tracker.example" not in message.content
    # as lemmy-ui renders it: no image, no link
    html = MarkdownIt("js-default", {"html": False, "linkify": True}).render(message.content)
    assert "<img" not in html and "<a " not in html


class Killed(BaseException):
    """The process dying (kill -9) while a message is in flight: nothing after it runs."""


@pytest.mark.both_lemmys
def test_killed_between_two_admins_copies_the_second_admin_still_gets_one(fake_lemmy, make):
    """The first admin's copy went, the bot died sending the second's. At restart the
    admin missing the message gets it (0.19: the bot's sent messages say who has it;
    1.0: the resend's idempotency key drops the copy that went), and no admin gets two."""
    cast = fake_lemmy.cast
    admin2 = fake_lemmy.add_person("admin2", admin=True)
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    first = make()
    first.admin_ids |= {admin2.id}
    send, calls = first.client.private_message, []

    def dies_on_the_second(recipient_id, content, *, key=None):
        calls.append(recipient_id)
        if len(calls) == 2:
            raise Killed
        return send(recipient_id, content, key=key)

    first.client.private_message = dies_on_the_second
    notify(first, post, "known abusive image")
    with pytest.raises(Killed):
        first.flush_notifications()
    assert [m.recipient_id for m in fake_lemmy.private_messages] == [cast.admin.id]

    again = make()  # the restart: the killed run's claims are settled by asking Lemmy
    again.admin_ids |= {admin2.id}
    again.stale_runs = {"run0"}
    outcome = notify(again, post, "known abusive image")
    again.flush_notifications()
    got = sorted(m.recipient_id for m in fake_lemmy.private_messages)
    assert got == sorted([cast.admin.id, admin2.id]), "each admin has one copy"
    assert outcome.status == "done", outcome.detail
    assert outcome.detail.startswith("private message to 2 admin(s)"), outcome.detail
