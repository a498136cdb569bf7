"""Lemmy 0.19's last page (d6571ac: 10 on 0.19.14, else 100) is read from nodeinfo. When
nodeinfo could not be read (a proxy answering 502 for /nodeinfo while /api/v3 works),
it was asked again at every page, twice a page of comments, each time through the
request's retries: a sweep waited on it page after page. Now it is asked again only
after a while, the listings read up to page 100 meanwhile."""

from __future__ import annotations

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient


def test_an_unreadable_nodeinfo_is_not_asked_again_at_each_page():
    with FakeLemmy(version="0.19.14") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="busy")
        lemmy.add_comment(post, cast.bob, content="one")
        lemmy.fail_next("/nodeinfo/*", times=100, status=502)
        client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, retries=0)
        try:
            for page in (1, 2, 3):
                client.comments(page)
            asked = [r for r in lemmy.requests if r.path.startswith("/nodeinfo")]
            assert len(asked) == 1, [r.path for r in asked]
        finally:
            client.close()
