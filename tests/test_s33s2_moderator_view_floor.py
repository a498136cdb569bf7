"""Lemmy 0.19: a sweep of a hidden community the bot moderates stops at its floor.

Its posts are read from ``ModeratorView`` pages (every community the bot moderates) kept
to the community's; the sweep stopped at a post of the community older than its floor
only, so past the community's last post it read every other community's posts, to the
listing's end (``MAX_UNLISTED_PAGES`` pages at most), for each hidden community."""

from __future__ import annotations

from datetime import timedelta

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from fakelemmy.state import now
from modbot.lemmy.api import PAGE
from modbot.source import Source
from modbot.store import Store


def test_a_sweep_of_a_hidden_moderated_community_stops_where_the_listing_passes_its_floor(
    tmp_path,
):
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        quiet = lemmy.add_community("quiet", hidden=True, moderators=[cast.bot.id])
        busy = lemmy.add_community("busy", moderators=[cast.bot.id])
        for n in range(2 * PAGE + 1):  # a month old: older than the sweep's floor
            lemmy.add_post(busy, cast.bob, name=f"old {n}", published=now() - timedelta(days=30))
        new = lemmy.add_post(quiet, cast.alice, name="new", published=now() - timedelta(hours=1))
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", uploads=False, warn=lambda _: None)
            read = [i for batch in source.walk(since=now() - timedelta(days=7)) for i in batch]
        finally:
            client.close()
            store.close()
        assert ("post", new.id) in {(i.kind, i.id) for i in read}
        moderator_pages = [
            r.query.get("page_cursor")
            for r in lemmy.requests
            if r.path == "/api/v3/post/list" and r.query.get("type_") == "ModeratorView"
        ]
        assert moderator_pages == [None], moderator_pages  # not the busy community's 3 pages
