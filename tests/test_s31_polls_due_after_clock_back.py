"""A deep poll (and the never-posted uploads' poll) is due when its interval has passed
since the last one. The last one's time is stored; when it was stored while this host's
clock was ahead (a wrong clock at boot, corrected by NTP later), now - last is negative
and the poll was not due until the clock caught up: days without a deep poll (edits,
the lookback) or a look at the uploads never posted. A time stored in the future is
taken as no time at all: the poll is due."""

from __future__ import annotations

from datetime import timedelta

from modbot.source import Source
from modbot.store import Store


class _NoLemmy:
    url = "https://lemmy.example"


def test_a_last_poll_stored_in_the_future_makes_the_poll_due(tmp_path):
    now = 1_800_000_000.0
    store = Store(tmp_path / "state.sqlite3")
    source = Source(
        _NoLemmy(),  # type: ignore[arg-type]  # deep_due reads the store only
        store,
        scope="live",
        deep_every=timedelta(minutes=10),
        clock=lambda: now,
    )
    store.set_cursor(source._cursor("last_deep_poll"), repr(now - 60))
    assert not source.deep_due()  # a minute ago: not yet
    store.set_cursor(source._cursor("last_deep_poll"), repr(now - 601))
    assert source.deep_due()
    # stored while the clock was a day ahead
    store.set_cursor(source._cursor("last_deep_poll"), repr(now + 86_400))
    assert source.deep_due()
    store.close()
