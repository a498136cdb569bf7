"""A poll that meets the last comment page a Lemmy 0.19 serves says what it did not read.

0.19.14 serves no comment page past 10 (500 comments): a poll after some downtime on a
busy instance stopped there without a word, the older new comments left to a sweep the
admin had no reason to run; only at 0.19.15+'s page 100 did the poll say so."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.lemmy.api import PAGE
from modbot.source import Source
from modbot.store import Store


def test_a_poll_says_the_comments_past_0_19_14s_last_page_were_not_read(tmp_path):
    with FakeLemmy(version="0.19.14") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="busy")
        for n in range(10 * PAGE + 3):
            lemmy.add_comment(post, cast.bob, content=f"comment {n}")
        said: list[str] = []
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", uploads=False, warn=said.append)
            read = [i for batch in source.poll(deep=True) for i in batch if i.kind == "comment"]
            assert len(read) == 10 * PAGE
            cut = [w for w in said if w.startswith("comments:")]
            assert len(cut) == 1, said
            assert "page 10" in cut[0] and "sweep" in cut[0], cut
        finally:
            client.close()
            store.close()
