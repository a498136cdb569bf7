"""A dry run tells what a live run would do with the admins' notices, and sends none:
with no admin to tell (the bot is the instance's only admin) a live run skips them, so
the dry run says that too, not "planned: private message to 0 admin(s)"."""

from __future__ import annotations

from modbot.actions.notices import Notice, Notices
from modbot.model import ActionOutcome


class NoSends:
    def private_message(self, *args, **kwargs):
        raise AssertionError("a dry run sends nothing")


def outcome_of(dry_run: bool, admins: list[int]) -> ActionOutcome:
    notices = Notices(NoSends(), store=None, run_id="run0", dry_run=dry_run)  # type: ignore[arg-type]
    outcome = ActionOutcome("notify_admins", "queued", "private message to the admins")
    notices.queue.append(Notice("post:1", "known abusive image", outcome))
    if dry_run or not admins:
        notices.flush(admins)
    return outcome


def test_dry_run_with_no_admin_says_what_a_live_run_does():
    live, dry = outcome_of(False, []), outcome_of(True, [])
    assert (
        (dry.status, dry.detail)
        == (live.status, live.detail)
        == (
            "skipped",
            "no admin to notify",
        )
    )


def test_dry_run_with_admins_plans_one_message_each():
    dry = outcome_of(True, [1, 2])
    assert (dry.status, dry.detail) == ("planned", "private message to 2 admin(s)")
