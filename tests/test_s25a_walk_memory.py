"""What a walk leaves held in the Lemmy client: nothing that grows with the posts read."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from test_s25a_removed_post_comments import _client

import modbot.lemmy.v4
from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.source import Source
from modbot.store import Store

POSTS = 120


def _held_by_the_client(source: Source) -> int:
    """Bytes allocated in the client's module and still held after a walk."""
    tracemalloc.start()
    try:
        for _ in source.walk():
            pass
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    only = [tracemalloc.Filter(True, modbot.lemmy.v4.__file__)]
    return sum(stat.size for stat in snapshot.filter_traces(only).statistics("filename"))


def test_1_0_comment_cursors_are_not_kept_for_every_post_read(tmp_path: Path):
    """1.0's client kept the comment-page cursors of every post whose comments it read,
    for as long as it lived: a sweep of a large instance held them all (hundreds of MB
    for a million posts), and the daemon's client kept them between sweeps."""
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        for i in range(POSTS):
            post = lemmy.add_post(cast.pics, cast.alice, name=f"p{i}")
            lemmy.add_comment(post, cast.bob, content="c")
        client = _client(lemmy)
        try:
            source = Source(client, Store(tmp_path / "s.sqlite3"), scope="t", uploads=False)
            held = _held_by_the_client(source)
        finally:
            client.close()
    assert held < 20 * POSTS, f"{held} bytes held after reading {POSTS} posts' comments"
