"""Lemmy 0.19: only a hidden community the bot moderates is read through ModeratorView.

147c570 sent ``posts(community_id=)`` for any community the bot moderates through
``ModeratorView`` pages (every community it moderates) filtered on the client: a visible
one (a community noted unlisted while hidden, that an admin un-hid since) cost pages of
every community the bot moderates instead of its own listing."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.lemmy.api import PAGE


def _post_lists(lemmy) -> list[dict[str, str]]:
    return [r.query for r in lemmy.requests if r.path == "/api/v3/post/list"]


def test_a_visible_community_the_bot_moderates_is_read_from_its_own_listing():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        busy = lemmy.add_community("busy", moderators=[cast.bot.id])
        opened = lemmy.add_community("opened", moderators=[cast.bot.id])
        mine = [lemmy.add_post(opened, cast.alice, name=f"own {n}") for n in range(3)]
        for n in range(PAGE):
            lemmy.add_post(busy, cast.bob, name=f"busy {n}")
        client = _client(lemmy)
        try:
            page = client.posts(None, community_id=opened.id)
        finally:
            client.close()
        assert {p.id for p in page.items} == {p.id for p in mine}
        asked = _post_lists(lemmy)
        assert [q.get("type_") for q in asked] == ["All"], asked
        assert asked[0].get("community_id") == str(opened.id)
        assert page.sent == 3  # its own posts, not a page of every community's
