"""The admins' message about an item says which of the rule's actions failed, or were
not done because the author is an admin. The rule's text says what the rule does
("The rule removes it, purges the image and bans the account", as rules.yaml's do).
Before, a removal Lemmy refused (or a ban, after every retry of a 502) went unsaid:
the admin read that the post was removed while it was still up."""

from __future__ import annotations

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store

TEXT = "Possible CSAM. The rule removes it and bans the account."


def run_plan(lemmy, tmp_path, target: Target, plan: list[PlannedAction]):
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)
    store = Store(tmp_path / "state.sqlite3")
    cast = lemmy.cast
    executor = Executor(
        client,
        store,
        run_id="run1",
        dry_run=False,
        admin_ids={cast.bot.id, cast.admin.id},
        bot_person_id=cast.bot.id,
    )
    try:
        client.login()
        outcomes = executor.execute(target, plan)
        executor.flush_notifications()
        return outcomes
    finally:
        client.close()
        store.close()


def plan() -> list[PlannedAction]:
    ban = {"scope": "site", "duration_seconds": None, "remove_data": False}
    return [
        PlannedAction("remove", "csam", {}, "csam"),
        PlannedAction("ban", "csam", ban, "csam"),
        PlannedAction("notify_admins", TEXT, {}, "csam"),
    ]


def message_to(lemmy, person) -> str:
    (message,) = [m for m in lemmy.private_messages if m.recipient_id == person.id]
    return message.content


@pytest.mark.both_lemmys
def test_the_message_says_a_removal_lemmy_refused_and_a_ban_that_failed(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(
        kind="post", id=post.id, url=f"https://x/post/{post.id}", author_id=cast.alice.id
    )
    fake_lemmy.fail_next(
        fake_lemmy.api_path("/api/v3/post/remove"), status=400, error="couldnt_update_post"
    )
    fake_lemmy.fail_next(fake_lemmy.api_path("/api/v3/user/ban"), times=10, status=502)
    remove, ban, notify = run_plan(fake_lemmy, tmp_path, target, plan())
    assert (remove.status, ban.status, notify.status) == ("failed", "failed", "done")
    assert not fake_lemmy.post(post.id).removed
    content = message_to(fake_lemmy, cast.admin)
    assert TEXT in content
    assert "[failed: remove" in content and "couldnt_update_post" in content, content
    assert "[failed: ban" in content and "tried again" in content, content


@pytest.mark.both_lemmys
def test_the_message_says_an_admins_post_was_not_acted_on(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.admin)
    target = Target(
        kind="post", id=post.id, url=f"https://x/post/{post.id}", author_id=cast.admin.id
    )
    remove, ban, _notify = run_plan(fake_lemmy, tmp_path, target, plan())
    assert (remove.status, ban.status) == ("skipped", "skipped")
    assert not fake_lemmy.post(post.id).removed
    content = message_to(fake_lemmy, cast.admin)
    assert "[not done: remove, ban: the author is an admin: never acted on]" in content, content


@pytest.mark.both_lemmys
def test_a_message_about_actions_done_is_the_rules_text(fake_lemmy, tmp_path):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(
        kind="post", id=post.id, url=f"https://x/post/{post.id}", author_id=cast.alice.id
    )
    remove, ban, notify = run_plan(fake_lemmy, tmp_path, target, plan())
    assert (remove.status, ban.status, notify.status) == ("done", "done", "done")
    content = message_to(fake_lemmy, cast.admin)
    assert f"{TEXT} (https://x/post/{post.id})" in content and "[" not in content, content
