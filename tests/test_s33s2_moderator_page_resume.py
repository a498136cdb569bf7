"""Lemmy 0.19: a ModeratorView page whose cursor's post was purged resumes after the page.

A hidden community the bot moderates is read through ``ModeratorView`` pages (every
community the bot moderates) kept to its posts; the caller resumes a purged cursor
after the posts it was given, the community's alone: a page holding none of them read
the listing from its newest post again (a page re-read, "reading from the newest post
again" in the log) instead of after the page's other posts."""

from __future__ import annotations

import logging

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.lemmy.api import PAGE


def _post_lists(lemmy) -> list[dict[str, str]]:
    return [r.query for r in lemmy.requests if r.path == "/api/v3/post/list"]


def test_a_purged_cursor_resumes_after_the_moderator_page_not_from_the_newest(caplog):
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        led = lemmy.add_community("led", hidden=True, moderators=[cast.bot.id])
        busy = lemmy.add_community("busy", moderators=[cast.bot.id])
        old = lemmy.add_post(led, cast.alice, name="an older post of the hidden community")
        newer = [lemmy.add_post(busy, cast.bob, name=f"busy {n}") for n in range(PAGE + 5)]
        client = _client(lemmy)
        try:
            first = client.posts(None, community_id=led.id)
            assert first.items == [] and first.sent == PAGE and first.next
            # the page's last post (the cursor's) is purged meanwhile (by the bot, say)
            with lemmy.state.lock:
                lemmy.state.posts[newer[5].id].purged = True
            with caplog.at_level(logging.INFO, logger="modbot.lemmy"):
                second = client.posts(
                    first.next, resume_after=[p.id for p in first.items], community_id=led.id
                )
        finally:
            client.close()
        assert [p.id for p in second.items] == [old.id]
        asked = _post_lists(lemmy)
        # resumed after the page's post before the purged one, not from the newest again
        assert asked[-1].get("page_cursor") == f"P{newer[6].id:x}", asked
        assert "reading from the newest post again" not in caplog.text
