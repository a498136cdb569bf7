"""Lemmy 0.19.14 refuses any page past 10 (``PAGE_LIMIT_MAX``, LemmyNet/lemmy #6252;
0.19.15 raised it to 100): modbot read page numbers up to 100 from every 0.19, so on
0.19.14 the 11th page of a listing failed the poll or the sweep, at each cycle. It now
stops at the release's last page, and says what lies past it where it says so at 100."""

from __future__ import annotations

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.lemmy.api import PAGE


def walk(listing) -> int:
    pages, cursor = 0, None
    while True:
        page = listing(cursor)
        pages += 1
        if not page.next:
            return pages
        cursor = page.next


def test_0_19_14s_listings_are_read_to_its_tenth_page_and_no_further():
    with FakeLemmy(version="0.19.14") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="busy")
        for n in range(10 * PAGE + 3):
            lemmy.add_comment(post, cast.bob, content=f"comment {n}")
            lemmy.add_community(f"c{n}")
        client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            assert walk(lambda c: client.comments(int(c or 1))) == 10
            assert walk(lambda c: client.comments(int(c or 1), post_id=post.id)) == 10
            assert client.comments(11).items == []
            assert walk(client.communities) == 10
            said = " ".join(client.not_reached())
            assert "no further than page 10 (500 communities" in said, said
        finally:
            client.close()
