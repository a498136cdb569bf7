"""3af7bdd made a poll on Lemmy 0.19.14 warn when it met the last comment page Lemmy
serves (10 pages, 500 comments). R2: a deep poll reads down to the last poll's mark
minus the lookback (6 h), so on any instance with over 500 comments in 6 hours every
deep poll warned that comments "were not read", though the polls before had read them:
a warning the admin learns to ignore. It is now said only when the cut leaves comments
newer than the last poll's mark unread."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.lemmy.api import PAGE
from modbot.source import Source
from modbot.store import Store


def test_a_deep_poll_over_comments_read_before_does_not_warn(tmp_path):
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
            for batch in source.poll(deep=True):
                for item in batch:
                    store.mark_seen("t", item.kind, item.id, item.updated)
            assert len([w for w in said if w.startswith("comments:")]) == 1, said
            # the next deep poll, nothing new: the same cut, of comments read already
            lemmy.add_comment(post, cast.bob, content="one more")
            new = [i for b in source.poll(deep=True) for i in b if i.kind == "comment"]
            assert [i.text for i in new] == ["one more"]
            assert len([w for w in said if w.startswith("comments:")]) == 1, said
        finally:
            client.close()
            store.close()
