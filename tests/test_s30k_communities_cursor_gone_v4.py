"""Lemmy 1.0's community list pages by a cursor naming the last community of the page
before; once that community is purged, Lemmy answers 404 ``not_found`` for the cursor.
A sweep's walk of the communities, which keeps its cursor in its stored position, failed
there, and again at each sweep after, never reaching the end of the list."""

from __future__ import annotations

import logging

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.api import PAGE
from modbot.lemmy.v4 import LemmyClientV4


def test_a_community_cursor_whose_community_was_purged_ends_the_walk_said(caplog):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        for n in range(PAGE + 5):
            lemmy.add_community(f"c{n}")
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            first = client.communities(None)
            assert first.sent == PAGE and first.next
            lemmy.state.communities[first.items[-1].id].purged = True  # the cursor's
            with caplog.at_level(logging.WARNING, logger="modbot.lemmy.v4"):
                after = client.communities(first.next)
            assert after.items == [] and after.next is None
            assert "community list stops here" in caplog.text
        finally:
            client.close()
