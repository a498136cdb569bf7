"""Lemmy 1.0's report list with a row Lemmy never sends (a null, a report that is not an
object, a creator id that is not a number): the row is left out, never a traceback."""

from __future__ import annotations

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4


def test_a_malformed_report_row_on_1_0_is_left_out_of_the_reporters():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="a post")
        client = LemmyClientV4(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        try:
            client.report_post(post.id, "looks bad")
            assert client.reporters("post", post.id) == [cast.bot.id]

            def spoil(body):
                good = body["items"]
                odd = {"post_report": {"post_id": post.id, "creator_id": "7"}}
                return {**body, "items": [None, {"post_report": "x"}, odd, *good]}

            lemmy.tamper("/api/v4/report/list", spoil)
            assert client.reporters("post", post.id) == [cast.bot.id]
        finally:
            client.close()
