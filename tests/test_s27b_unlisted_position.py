"""A sweep stopped in the posts of Lemmy 1.0's unlisted communities resumes where it
stopped: the position it keeps is written, and read, as it was before the poll's and the
walk's paging of those posts became one (a position an older modbot stored must resume at
the same page)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4
from modbot.source import Source
from modbot.store import Store

KEYS = ["phase", "ids", "cursor", "page_ids", "pages", "cursors", "pages_seen"]


@pytest.fixture
def scene(tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        big = lemmy.add_community("big", visibility="unlisted")
        small = lemmy.add_community("small", visibility="unlisted")
        # newest first: the listing's first page holds the last 50 made
        big_posts = [lemmy.add_post(big, cast.alice, name=f"b{i}").id for i in range(60)]
        small_posts = [lemmy.add_post(small, cast.alice, name=f"s{i}").id for i in range(3)]
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, read_only=True
        )
        store = Store(tmp_path / "s.sqlite3")
        try:
            yield lemmy, client, store, big, small, big_posts, small_posts
        finally:
            client.close()
            store.close()


def _posts(batches, community_id=None) -> list[int]:
    return [
        i.id
        for batch in batches
        for i in batch
        if i.kind == "post" and (community_id is None or i.community.id == community_id)
    ]


def test_a_stopped_walk_keeps_its_place_in_an_unlisted_community_and_resumes_there(scene):
    lemmy, client, store, big, small, big_posts, _ = scene
    walk = Source(client, store, scope="t", uploads=False).walk()
    pages_of_big = 0
    for batch in walk:  # stop as the pipeline does: after a batch, before the next page
        if _posts([batch], big.id):
            pages_of_big += 1
            if pages_of_big == 2:
                break
    walk.close()
    text = store.get_cursor("t:sweep_position")
    position = json.loads(text)
    # the bytes an older modbot wrote: these keys in this order, json.dumps' spacing
    assert list(position) == KEYS and text == json.dumps(position)
    # the communities newest first: small was walked, big's second page is next
    assert position["phase"] == "unlisted" and position["ids"] == [big.id]
    assert position["pages"] == 1 and position["cursor"]
    assert sorted(position["page_ids"]) == sorted(big_posts[10:])

    lemmy.clear_requests()
    rest = list(Source(client, store, scope="t", uploads=False).walk())
    assert sorted(_posts(rest, big.id)) == sorted(big_posts[:10])
    assert _posts(rest, small.id) == []
    assert [r.query.get("community_id") for r in lemmy.requests if r.path.endswith("/post/list")][
        :1
    ] == [str(big.id)]
    assert store.get_cursor("t:sweep_position") is None, "the walk completed"


def test_a_position_written_by_an_older_modbot_resumes_at_its_page(scene):
    """The position as the walk wrote it before (built here from the listing's own
    cursor): the next page of `big`, then `small`."""
    lemmy, client, store, big, small, big_posts, small_posts = scene
    first = client.posts(None, community_id=big.id)
    older = json.dumps(
        {
            "phase": "unlisted",
            "ids": [big.id, small.id],  # as an older walk could have noted them
            "cursor": first.next,
            "page_ids": [i.id for i in first.items],
            "pages": 1,
            "cursors": {"mark": None, "power": 1, "steps": 0},
            "pages_seen": {"mark": None, "power": 1, "steps": 0},
        }
    )
    store.set_cursor("t:sweep_position", older)
    lemmy.clear_requests()
    rest = list(Source(client, store, scope="t", uploads=False).walk())
    assert sorted(_posts(rest, big.id)) == sorted(big_posts[:10])
    assert sorted(_posts(rest, small.id)) == sorted(small_posts)
    assert [r.query.get("community_id") for r in lemmy.requests if r.path.endswith("/post/list")][
        :2
    ] == [str(big.id), str(small.id)], "one page of big (the one left), then small"


def test_a_deep_poll_reads_an_unlisted_communitys_newest_pages_only(scene):
    """The poll's paging of the same listing: newest first, down to the lookback, one
    community after the other."""
    lemmy, client, store, big, small, big_posts, small_posts = scene
    for post_id in big_posts:
        lemmy.state.posts[post_id].published -= timedelta(days=2)
    source = Source(client, store, scope="p", uploads=False)
    source._note_unlisted([big.id, small.id], [], whole=True)
    lemmy.clear_requests()
    got = _posts(source.poll(deep=True))
    asked = [
        r.query.get("community_id")
        for r in lemmy.requests
        if r.path.endswith("/post/list") and "community_id" in r.query
    ]
    # big's first page is older than the lookback: one page; small's whole list
    assert asked == [str(big.id), str(small.id)]
    assert sorted(got) == sorted(big_posts[10:] + small_posts)
