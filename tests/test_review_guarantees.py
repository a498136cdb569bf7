"""Adversarial checks of the promises an admin relies on: dry-run changes nothing,
admins are never acted on, nothing is repeated, the audit explains, secrets stay secret."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from test_pipeline import (  # noqa: F401  (pipeline_for and tiny are fixtures)
    BAD,
    Bot,
    pipeline_for,
    remote_photo,
    sha,
    tiny,
    write_rules,
)

from fakelemmy.state import now

PURGE_IMAGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      purge_image: true
"""


def test_an_uploads_delete_token_is_never_logged_even_at_v(fake_lemmy, photos, tiny, tmp_path):
    """Without PICTRS_*, an upload is deleted with its token, which is part of the URL:
    httpx logs every URL at -v."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])  # never posted
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE),
        pictrs=False,
    )
    run = bot("-v", "run", "--once")
    assert not lemmy.image_exists(upload.alias), "deleted with its token"
    logs = run.stdout + run.stderr
    assert "/pictrs/image/delete/<delete-token>/" in logs
    assert upload.delete_token not in logs


def test_a_passing_failure_of_an_upload_delete_is_tried_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    pipeline.executor.purge_by_alias = False  # no PICTRS_*: the delete token is the way
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.fail_next("/pictrs/image/delete/*", times=2, status=502)
    first = pipeline.poll_once(deep=True)
    assert first.actions == {"purge_image:failed": 1} and lemmy.image_exists(upload.alias)
    (record,) = pipeline.store.decisions()
    assert "HTTP 502" in record["actions"][0]["detail"]
    assert upload.delete_token not in str(record)
    second = pipeline.poll_once(deep=True)
    assert second.actions == {"purge_image:done": 1}, "the upload is looked at again"
    assert not lemmy.image_exists(upload.alias)


def test_an_admins_upload_shown_in_someone_elses_post_is_not_purged(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    mine = lemmy.add_upload(cast.admin, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=mine.url)
    comment = lemmy.add_comment(post, cast.bob, content=f"![again]({mine.url})")
    for purge_by_alias in (False, True):  # with and without PICTRS_*
        pipeline = pipeline_for(
            lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE, dry_run=not purge_by_alias
        )
        pipeline.executor.purge_by_alias = purge_by_alias
        pipeline.poll_once(deep=True)
        assert lemmy.image_exists(mine.alias) and not lemmy.post(post.id).purged
        assert not [r for r in lemmy.mutating_requests() if "purge" in r.path or "delete" in r.path]
        records = [
            r
            for r in pipeline.store.decisions(run_id=pipeline.run_id)
            if r["item"]["kind"] in ("post", "comment")
        ]
        assert sorted(r["item"]["id"] for r in records) == sorted([post.id, comment.id])
        for r in records:
            assert r["actions"] == [
                {
                    "action": "purge_image",
                    "status": "skipped",
                    "detail": "the image is an admin's upload or in an admin's post: never acted on",
                }
            ]


def test_the_same_bytes_as_an_admins_upload_are_not_purged(fake_lemmy, photos, tiny, pipeline_for):
    """pict-rs keeps identical bytes as one file: purging alice's alias purges the admin's."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    mine = lemmy.add_upload(cast.admin, photos[BAD])
    pipeline.poll_once(deep=True)  # the admin's upload is looked at (and left alone)
    copy = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=copy.url)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(mine.alias) and lemmy.image_exists(copy.alias)
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert record["actions"][0]["status"] == "skipped"
    assert "admin's upload" in record["actions"][0]["detail"]


REMOVE_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


def test_one_file_under_several_aliases_is_purged_once(fake_lemmy, photos, tiny, pipeline_for):
    """A spammer uploads the same file three times (three aliases, one pict-rs file): the
    first purge removes every alias; the others must not be purged again, nor count
    against the safety valve."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    uploads = [lemmy.add_upload(cast.alice, photos[BAD]) for _ in range(3)]
    posts = [lemmy.add_post(cast.pics, cast.alice, url=u.url) for u in uploads]
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    pipeline.executor.max_destructive_per_hour = 4  # 3 removals + 1 purge
    stats = pipeline.poll_once(deep=True)
    assert all(lemmy.post(p.id).removed for p in posts), stats
    assert not lemmy.reports and not lemmy.private_messages, "the safety valve did not trip"
    purges = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert len(purges) == 1 and not any(lemmy.image_exists(u.alias) for u in uploads)
    assert stats.actions == {"remove:done": 3, "purge_image:done": 1, "purge_image:skipped": 2}
    skipped = [
        a["detail"]
        for r in pipeline.store.decisions()
        for a in r["actions"]
        if a["status"] == "skipped"
    ]
    assert len(skipped) == 2 and all("the same file" in d for d in skipped)
    assert pipeline.store.destructive_done_since(0) == 4
    # and across a restart: nothing is purged again
    again = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    again.poll_once(deep=True)
    assert len([r for r in lemmy.requests if r.path == "/internal/purge"]) == 1


EVERY_ACTION = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      purge_item: true
      ban: {scope: community, duration: 3d, remove_data: true, reason: "known abusive image"}
      notify_admins: "known abusive image at {{permalink}}"
  - name: probe
    if: {labels: [probe]}
    then:
      report: "probe"
      notify_admins: "probe matched at {{permalink}}"
"""


@pytest.mark.both_lemmys
def test_dry_run_sends_nothing_on_any_path(fake_lemmy, photos, tiny, tmp_path):
    """Every action kind, uploads with delete tokens, a safety valve that would trip,
    settings that hide content, a dropped login, rate limits and 5xx answers: through
    `run --once --dry-run`, `sweep --dry-run` and `report`, with and without PICTRS_*."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_upload(cast.alice, photos[BAD])  # never posted
    for i in range(3):
        up = lemmy.add_upload(cast.alice, photos[BAD])
        post = lemmy.add_post(cast.nsfw, cast.alice, name=f"bad {i}", url=up.url)
        lemmy.add_comment(post, cast.bob, content=f"![x]({remote_photo(lemmy, photos, BAD)})")
    lemmy.add_post(
        cast.pics,
        cast.bob,
        name="old",
        url=remote_photo(lemmy, photos, tiny.flagged),
        published=now() - timedelta(days=2),
    )
    lemmy.add_post(cast.pics, cast.bob, name="probe", url=remote_photo(lemmy, photos, tiny.flagged))
    rules = write_rules(
        tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], valve=2, rules=EVERY_ACTION
    )
    for pictrs in (True, False):
        state = tmp_path / f"pictrs-{pictrs}"
        state.mkdir()
        bot = Bot(lemmy, state, rules, pictrs=pictrs)
        lemmy.invalidate_tokens("modbot")
        lemmy.fail_next(lemmy.api_path("/api/v3/post/list"), times=1, status=502)
        lemmy.fail_next(lemmy.api_path("/api/v3/comment/list"), times=1)  # rate limited
        bot("run", "--once", "--dry-run")
        bot("sweep", "--dry-run", "--since", "7d")
        bot("report", "--since", "7d", "--out", str(state / "report.json"))
        assert lemmy.mutating_requests() == []
        statuses = {a["status"] for r in bot.decisions() for a in r["actions"]}
        # not_possible: a purge_image modbot could not do here (nothing is sent either)
        assert statuses <= {"planned", "skipped", "not_possible"} and "planned" in statuses
        actions = {a["action"] for r in bot.decisions() for a in r["actions"]}
        assert {"remove", "purge_image", "purge_item", "ban", "notify_admins", "report"} <= actions
        assert any(
            "safety valve would trip" in a["detail"] for r in bot.decisions() for a in r["actions"]
        )


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
    # a permanent ban, or one still running, is not repeated: covered by test_pipeline


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


def test_a_long_dry_run_simulates_the_safety_valve_per_hour(fake_lemmy, photos, tiny, pipeline_for):
    """`modbot run --dry-run` as a daemon for a week: the valve it simulates counts the
    last hour, as the real one does, not every action planned since the start."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=TEMPORARY_BAN, dry_run=True)
    pipeline.executor.max_destructive_per_hour = 2
    start = time.time()
    pipeline.executor.clock = lambda: start
    lemmy.add_post(cast.pics, cast.alice, url=bad_url)  # remove + ban: 2 destructive
    first = pipeline.poll_once(deep=True)
    assert first.actions == {"remove:planned": 1, "ban:planned": 1}
    pipeline.executor.clock = lambda: start + 2 * 3600  # two hours later
    lemmy.add_post(cast.pics, cast.bob, url=bad_url)
    later = pipeline.poll_once(deep=True)
    assert later.actions == {"remove:planned": 1, "ban:planned": 1}, later.actions
    # where it would trip, it stays tripped (as the real one does until an admin resets it)
    lemmy.add_post(cast.pics, cast.alice, url=bad_url)
    pipeline.executor.max_destructive_per_hour = 1
    tripped = pipeline.poll_once(deep=True)
    assert tripped.actions == {"remove:skipped": 1, "ban:skipped": 1, "report:planned": 1}
    pipeline.executor.clock = lambda: start + 4 * 3600
    lemmy.add_post(cast.pics, cast.bob, url=bad_url)
    assert pipeline.poll_once(deep=True).actions == tripped.actions


def test_the_image_of_an_admins_post_is_not_purged_through_a_comment(
    fake_lemmy, photos, tiny, pipeline_for
):
    """Lemmy stores a link's thumbnail itself (no uploader): an admin's post's thumbnail,
    shown again in someone else's comment, is still the admin's post's image."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[BAD])
    post = lemmy.add_post(
        cast.pics,
        cast.admin,
        name="news",
        url=lemmy.add_remote_file("article.html", b"<html></html>", content_type="text/html"),
        thumbnail_url=thumb.url,
    )
    comment = lemmy.add_comment(post, cast.alice, content=f"![this]({thumb.url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(thumb.alias)
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("comment", comment.id)
    ]
    assert "admin's post" in record["actions"][0]["detail"]


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


REMOVE_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


def test_the_admins_hear_of_the_safety_valve_even_if_lemmy_failed_the_first_message(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    for i in range(2):
        lemmy.add_post(cast.pics, cast.alice, name=f"bad {i}", url=bad_url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_ONLY)
    pipeline.executor.max_destructive_per_hour = 1
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.fail_next("/api/v3/private_message", times=2, status=502)
    pipeline.poll_once(deep=True)
    assert pipeline.store.valve_tripped() and lemmy.private_messages == []
    pipeline.poll_once(deep=True)
    (message,) = lemmy.private_messages
    assert "SAFETY VALVE" in message.content and message.recipient_id == cast.admin.id
    pipeline.poll_once(deep=True)
    assert len(lemmy.private_messages) == 1, "once"
