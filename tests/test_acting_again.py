"""What is done again and what is not: a new offence after a temporary ban ran out is
banned again; an action that failed (a dropped login while acting, the post removed
meanwhile) is tried again in the next cycle; nothing done is repeated."""

from __future__ import annotations

import time

import pytest
from support.bot import remote_photo, sha
from support.policies import BAD

TEMPORARY_BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: 3d, reason: "known abusive image"}
"""


def test_a_new_offence_after_a_temporary_ban_ran_out_is_banned_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    post = lemmy.add_post(cast.pics, cast.bob, name="a thread")
    first = lemmy.add_comment(post, cast.alice, content=f"![x]({bad_url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=TEMPORARY_BAN)
    pipeline.poll_once(deep=True)
    assert lemmy.person(cast.alice.id).banned

    def bans():
        return [r.json for r in lemmy.requests if r.path == "/api/v3/user/ban"]

    assert len(bans()) == 1
    # Four days later the ban has run out.
    pipeline.executor.clock = lambda: time.time() + 4 * 86400
    lemmy.person(cast.alice.id).banned = False
    lemmy.person(cast.alice.id).ban_expires = None
    lemmy.edit_comment(first.id, content=f"edited ![x]({bad_url})")
    pipeline.poll_once(deep=True)
    assert len(bans()) == 1, "the item that was banned for is not banned for again"
    second = lemmy.add_comment(post, cast.alice, content=f"again ![x]({bad_url})")
    pipeline.poll_once(deep=True)
    assert lemmy.comment(second.id).removed
    assert len(bans()) == 2 and lemmy.person(cast.alice.id).banned, "a new offence, a new ban"
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == second.id]
    assert [(a["action"], a["status"]) for a in record["actions"]] == [
        ("remove", "done"),
        ("ban", "done"),
    ]


def test_a_failed_login_again_while_acting_is_tried_again_next_cycle(
    fake_lemmy, photos, tiny, pipeline_for
):
    """The token was dropped and Lemmy is briefly down when the bot logs in again to act:
    the removal is a passing failure, not a final one that leaves the post up for good."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=TEMPORARY_BAN)
    pipeline.poll_once(deep=True)
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.invalidate_tokens("modbot")
    lemmy.fail_next("/api/v3/user/login", times=2, status=502)
    post = lemmy.add_post(cast.pics, cast.alice, url=remote_photo(lemmy, photos, BAD))
    first = pipeline.poll_once(deep=False)
    assert first.actions["remove:failed"] == 1 and not lemmy.post(post.id).removed
    second = pipeline.poll_once(deep=False)
    assert second.actions["remove:done"] == 1 and lemmy.post(post.id).removed


def test_an_action_that_failed_after_the_post_was_removed_is_tried_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    """The removal hides the post from post/list (even for admins): a ban that failed for
    a passing reason right after it must still be tried again next cycle."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, url=remote_photo(lemmy, photos, BAD))
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=TEMPORARY_BAN)
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.fail_next("/api/v3/user/ban", times=2, status=502)
    first = pipeline.poll_once(deep=True)
    assert first.actions == {"remove:done": 1, "ban:failed": 1}
    assert lemmy.post(post.id).removed and not lemmy.person(cast.alice.id).banned
    second = pipeline.poll_once(deep=True)
    assert second.actions == {"remove:skipped": 1, "ban:done": 1}
    assert lemmy.person(cast.alice.id).banned
    assert pipeline.poll_once(deep=True).actions == {}, "and then it is done"


# --------------------------------------------------------------------------- after a kill


class Killed(BaseException):
    """kill -9 just as a request reached Lemmy: nothing after it runs."""


def killed_after(client, name: str) -> None:
    """The next ``client.<name>(...)`` is carried out, then the process "dies"."""
    real = getattr(client, name)

    def call(*args, **kwargs):
        real(*args, **kwargs)
        raise Killed

    setattr(client, name, call)


def test_a_temporary_ban_in_flight_at_a_kill_still_runs_out_after_the_restart(
    fake_lemmy, photos, tiny, pipeline_for
):
    """The restart finds the ban done on Lemmy and does not send it again; it still knows
    when that ban ends, so a new offence once it ran out is banned anew."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=bad_url)
    known_bad = [sha(photos[BAD])]
    first = pipeline_for(lemmy, known_bad=known_bad, rules=TEMPORARY_BAN)
    killed_after(first.client, "ban_site")
    with pytest.raises(Killed):
        first.poll_once(deep=True)
    assert lemmy.person(cast.alice.id).banned

    def bans():
        return [r.json for r in lemmy.requests if r.path == "/api/v3/user/ban"]

    restarted = pipeline_for(lemmy, known_bad=known_bad, rules=TEMPORARY_BAN)
    restarted.poll_once(deep=True)
    assert lemmy.post(post.id).removed and len(bans()) == 1, "Lemmy shows the ban: not again"
    # Four days later the ban has run out, and alice posts the image again.
    restarted.executor.clock = lambda: time.time() + 4 * 86400
    lemmy.person(cast.alice.id).banned = False
    lemmy.person(cast.alice.id).ban_expires = None
    again = lemmy.add_post(cast.pics, cast.alice, name="bad again", url=bad_url)
    restarted.poll_once(deep=True)
    assert lemmy.post(again.id).removed
    assert len(bans()) == 2 and lemmy.person(cast.alice.id).banned, "a new offence, a new ban"
    (record,) = [r for r in restarted.store.decisions() if r["item"]["id"] == again.id]
    assert [(a["action"], a["status"]) for a in record["actions"]] == [
        ("remove", "done"),
        ("ban", "done"),
    ]


REPORT_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      report: "known abusive image"
"""


@pytest.mark.parametrize("arrived", [True, False], ids=["report-went", "report-never-arrived"])
def test_a_report_in_flight_at_a_kill_by_a_bot_that_is_no_admin_is_never_sent_twice(
    fake_lemmy, photos, tiny, pipeline_for, arrived
):
    """Lemmy lists reports only to moderators and admins: a bot account that is neither
    cannot see whether its report went. The report is not sent again (a second report
    in the moderators' queue); the decision says it was interrupted, also when the post
    is decided again later."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    cast.bot.admin = False  # a supported setup: reports need no admin rights
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    known_bad = [sha(photos[BAD])]
    first = pipeline_for(lemmy, known_bad=known_bad, rules=REPORT_ONLY)
    if arrived:
        killed_after(first.client, "report_post")
    else:

        def dies(*args, **kwargs):
            raise Killed

        first.client.report_post = dies
    with pytest.raises(Killed):
        first.poll_once(deep=True)
    assert len(lemmy.reports) == (1 if arrived else 0)

    restarted = pipeline_for(lemmy, known_bad=known_bad, rules=REPORT_ONLY)
    restarted.poll_once(deep=True)
    assert len(lemmy.reports) == (1 if arrived else 0), "never a second report"
    (record,) = [r for r in restarted.store.decisions() if r["item"]["id"] == post.id]
    (report,) = record["actions"]
    assert report["action"] == "report" and report["status"] == "failed", report
    assert "cannot show whether it was done" in report["detail"], report
    assert "not sent again" in report["detail"], report
    # Edited, the post is decided again: the report still is not sent again.
    lemmy.edit_post(post.id, name="bad, edited")
    restarted.poll_once(deep=True)
    assert len(lemmy.reports) == (1 if arrived else 0)
    last = [r for r in restarted.store.decisions() if r["item"]["id"] == post.id][-1]
    assert [(a["action"], a["status"]) for a in last["actions"]] == [("report", "skipped")]


def test_a_report_in_flight_at_a_kill_by_an_admin_bot_is_sent_once(
    fake_lemmy, photos, tiny, pipeline_for
):
    """An admin sees every report: one that never reached Lemmy is sent at the restart."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    known_bad = [sha(photos[BAD])]
    first = pipeline_for(lemmy, known_bad=known_bad, rules=REPORT_ONLY)

    def dies(*args, **kwargs):
        raise Killed

    first.client.report_post = dies
    with pytest.raises(Killed):
        first.poll_once(deep=True)
    restarted = pipeline_for(lemmy, known_bad=known_bad, rules=REPORT_ONLY)
    restarted.poll_once(deep=True)
    assert [r.target_id for r in lemmy.reports] == [post.id]


NOTIFY_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      notify_admins: "known abusive image"
"""


def test_a_message_in_flight_at_a_kill_lemmy_0_19_cannot_show_is_never_sent_twice(
    fake_lemmy, photos, tiny, pipeline_for
):
    """0.19 has no idempotency keys: when the bot's sent messages cannot be read at the
    restart, the message that may have gone is not sent a second time."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    known_bad = [sha(photos[BAD])]
    first = pipeline_for(lemmy, known_bad=known_bad, rules=NOTIFY_ONLY)
    killed_after(first.client, "private_message")
    with pytest.raises(Killed):
        first.poll_once(deep=True)
    assert len(lemmy.private_messages) == 1

    restarted = pipeline_for(lemmy, known_bad=known_bad, rules=NOTIFY_ONLY)
    lemmy.fail_next("/api/v3/private_message/list", status=400, error="unknown")
    restarted.poll_once(deep=True)
    assert len(lemmy.private_messages) == 1, "never a second message"
    (record,) = [r for r in restarted.store.decisions() if r["item"]["id"] == post.id]
    (notice,) = record["actions"]
    assert notice["status"] == "failed" and "not sent again" in notice["detail"], notice
