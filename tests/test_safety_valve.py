"""The safety valve: a long dry run simulates it per hour as the real one counts, and the
admins hear that it tripped even when Lemmy failed the first message."""

from __future__ import annotations

import time

from support.bot import remote_photo, sha
from support.policies import BAD

TEMPORARY_BAN = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: 3d, reason: "known abusive image"}
"""

REMOVE_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


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
