"""A poll that meets the last page of the media list a Lemmy serves says what it did not
read.

0.19.14 serves no page past 10 of ``list_all_media`` (500 uploads): a flood of uploads
between two polls (an account uploading hundreds of files in minutes) was read down to
page 10, the watermark moved past the rest, and nothing said so: the uploads past page
10 were never looked at by a poll (and a 0.19.14 sweep's media list stops there too)."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy, hostile
from fakelemmy.scenarios import standard_cast
from modbot.lemmy.api import PAGE
from modbot.source import Source
from modbot.store import Store


def _poll_uploads(lemmy: FakeLemmy, tmp_path, count: int) -> tuple[int, list[str]]:
    cast = standard_cast(lemmy)
    for n in range(count):
        lemmy.add_upload(cast.bob, hostile.jpeg(color=(n % 256, n // 256, 7)))
    said: list[str] = []
    client = _client(lemmy)
    store = Store(tmp_path / "s.sqlite3")
    try:
        source = Source(client, store, scope="t", warn=said.append)
        read = [i for batch in source.poll(deep=True) for i in batch if i.kind == "upload"]
        return len(read), said
    finally:
        client.close()
        store.close()


def test_a_poll_says_the_uploads_past_0_19_14s_last_page_were_not_read(tmp_path):
    with FakeLemmy(version="0.19.14") as lemmy:
        read, said = _poll_uploads(lemmy, tmp_path, 10 * PAGE + 3)
    assert read == 10 * PAGE
    cut = [w for w in said if w.startswith("uploads:")]
    assert len(cut) == 1, said
    assert "page 10" in cut[0] and "modbot sweep --store" in cut[0], cut


def test_a_poll_that_reads_to_the_end_of_the_list_says_nothing(tmp_path):
    with FakeLemmy(version="0.19.14") as lemmy:
        read, said = _poll_uploads(lemmy, tmp_path, 2 * PAGE + 3)
    assert read == 2 * PAGE + 3
    assert not [w for w in said if w.startswith("uploads:")], said


def test_on_1_0_a_poll_says_the_uploads_past_those_its_walk_keeps_were_not_read(
    tmp_path, monkeypatch
):
    """1.0's media list has no order: a walk keeps its newest ``MEDIA_KEPT`` (5,000; two
    pages here) for the poll; those it left out are said, as on 0.19.14."""
    monkeypatch.setattr("modbot.lemmy.v4.MEDIA_KEPT", 2 * PAGE)
    with FakeLemmy(version="1.0") as lemmy:
        read, said = _poll_uploads(lemmy, tmp_path, 2 * PAGE + 3)
    assert read == 2 * PAGE
    cut = [w for w in said if w.startswith("uploads:")]
    assert len(cut) == 1 and "page 2" in cut[0], said


def test_on_1_0_a_walk_that_kept_every_upload_says_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("modbot.lemmy.v4.MEDIA_KEPT", 2 * PAGE)
    with FakeLemmy(version="1.0") as lemmy:
        read, said = _poll_uploads(lemmy, tmp_path, 2 * PAGE)
    assert read == 2 * PAGE
    assert not [w for w in said if w.startswith("uploads:")], said


def test_an_upload_waiting_for_a_retry_past_the_last_page_is_left_to_the_store_sweep(tmp_path):
    """Its warning named "the next sweep", whose media list 0.19.14 cuts at page 10 too:
    only ``modbot sweep --store`` (pict-rs' own list) reaches it."""
    with FakeLemmy(version="0.19.14") as lemmy:
        cast = standard_cast(lemmy)
        waiting = lemmy.add_upload(cast.bob, hostile.jpeg(color=(1, 2, 3)))
        for n in range(10 * PAGE + 3):
            lemmy.add_upload(cast.bob, hostile.jpeg(color=(n % 256, n // 256, 9)))
        said: list[str] = []
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", warn=said.append)
            source.set_retry("upload", waiting.alias, True)
            list(source.poll(deep=True))
        finally:
            client.close()
            store.close()
    named = [w for w in said if w.startswith(f"upload {waiting.alias}")]
    assert len(named) == 1, said
    assert "page 10" in named[0] and "modbot sweep --store" in named[0], named
