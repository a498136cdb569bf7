"""The safety valve counts the destructive actions of the last hour since an admin last
reset it. A reset recorded while this host's clock was ahead (a wrong clock at boot,
corrected by NTP later) lay in the future: the valve counted nothing since it and could
not trip until the clock caught up (found by helper P). A reset in the future happened at
a time not known: the whole last hour counts."""

from __future__ import annotations

import time

from support.bot import remote_photo, sha
from support.policies import BAD

REMOVE_ONLY = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


def test_a_valve_reset_recorded_a_day_ahead_still_trips(fake_lemmy, photos, tiny, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    posts = [lemmy.add_post(cast.pics, cast.alice, name=f"bad {i}", url=bad_url) for i in range(3)]
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_ONLY)
    pipeline.executor.max_destructive_per_hour = 2
    pipeline.store.set_cursor("safety_valve_reset_at", repr(time.time() + 86_400))
    pipeline.poll_once(deep=True)
    assert pipeline.store.valve_tripped(), "more than 2 removals within the hour"
    assert sum(lemmy.post(p.id).removed for p in posts) == 2


def test_a_valve_reset_in_the_future_is_said_once(fake_lemmy, photos, tiny, pipeline_for, caplog):
    # review R3: counting the whole hour, the valve may trip on actions the admin's reset
    # was to clear; the log says why, and what to do
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    for i in range(2):
        lemmy.add_post(cast.pics, cast.alice, name=f"bad {i}", url=bad_url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_ONLY)
    pipeline.store.set_cursor("safety_valve_reset_at", repr(time.time() + 86_400))
    pipeline.poll_once(deep=True)
    said = [r.getMessage() for r in caplog.records if "in the future" in r.getMessage()]
    assert len(said) == 1 and "--reset-safety-valve" in said[0], said
