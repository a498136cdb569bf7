"""The walk of pict-rs' store (``modbot.store_source``) between the pages: a stop is
honoured and the position kept while pages hold nothing new, and the walk goes on by
time, when its page vanished, without skipping a file."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from support.pictrs import store_reader
from test_store_sweep import jpeg

from modbot import store_source
from modbot.store import Store
from modbot.store_source import StoreSource


def listings(lemmy, limit: int) -> list:
    return [
        r
        for r in lemmy.requests
        if r.path == "/internal/hashes" and r.query.get("limit") == str(limit)
    ]


def stop_at_page(lemmy, stop: threading.Event, limit: int, number: int) -> None:
    """``stop`` is set while pict-rs answers the ``number``-th page of ``limit`` files."""

    def change(body):
        if len(listings(lemmy, limit)) >= number:
            stop.set()
        return body

    lemmy.tamper("/internal/hashes", change, server="pictrs")


def test_a_stop_is_honoured_and_the_position_kept_while_pages_hold_nothing_new(
    fake_lemmy, pipeline_for
):
    """A second sweep (every file seen): each page read is handed over, empty, so the
    sweep stops between pages (SIGTERM), and the position of each page read is saved
    (a kill -9 resumes there), not only once a page has something new."""
    lemmy = fake_lemmy
    for i in range(12):
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    pipeline = pipeline_for(lemmy)
    scope = pipeline.source.scope

    def source() -> StoreSource:
        return StoreSource(
            pipeline.client, pipeline.store, scope=scope, page_size=1, files_per_second=0
        )

    first = source()
    pipeline.run_batches(first.batches)
    assert first.done == 12 and not first.in_progress()
    lemmy.clear_requests()
    stop = threading.Event()
    stop_at_page(lemmy, stop, limit=1, number=3)
    again = source()
    stats = pipeline.run_batches(again.batches, stop=stop)
    assert stats.items_seen == 0
    assert len(listings(lemmy, 1)) == 3  # not the whole store inside one page's wait
    position = json.loads(pipeline.store.get_cursor(f"{scope}:store_sweep"))
    third = listings(lemmy, 1)[2].query["slug"]
    assert (position["slug"], position["done"], position["total"]) == (third, 2, 12)


def test_a_stop_is_honoured_while_the_files_are_counted(fake_lemmy, pipeline_for, monkeypatch):
    """The counting pass before the walk reads the whole listing: a stop is honoured
    between its pages too, and the next sweep counts again and walks."""
    monkeypatch.setattr(store_source, "COUNT_PAGE", 2)
    lemmy = fake_lemmy
    for i in range(10):
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    pipeline = pipeline_for(lemmy)
    scope = pipeline.source.scope

    def source() -> StoreSource:
        return StoreSource(
            pipeline.client, pipeline.store, scope=scope, page_size=5, files_per_second=0
        )

    stop = threading.Event()
    stop_at_page(lemmy, stop, limit=2, number=2)
    stopped = source()
    stats = pipeline.run_batches(stopped.batches, stop=stop)
    assert len(listings(lemmy, 2)) == 2 and not listings(lemmy, 5)
    assert stats.items_seen == 0 and stopped.in_progress()  # "interrupted", to resume
    lemmy.tamper("/internal/hashes", None, server="pictrs")
    resumed = source()
    stats = pipeline.run_batches(resumed.batches)
    assert stats.items_seen == 10 and resumed.total == 10 and resumed.done == 10
    assert not resumed.in_progress()


@pytest.mark.parametrize("repo", ["sled", "postgres"])
def test_the_walk_by_time_skips_no_file_validated_slowly(fake_lemmy, tmp_path, repo):
    """pict-rs lists a file by when it was stored, after external validation; its
    details' ``created_at`` is from before. The page the walk was at vanishes (its file
    purged): the walk goes on by time and still reaches every older file, once, whether
    pict-rs' repo answers "nothing older" with an empty page (sled) or the newest one
    (Postgres)."""
    lemmy = fake_lemmy
    lemmy.pictrs.repo = repo
    lemmy.pictrs.validation = timedelta(seconds=2)
    uploads = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(6)]
    store = Store(tmp_path / "state.sqlite3")
    try:
        source = StoreSource(
            store_reader(lemmy), store, scope="dry-run", page_size=1, files_per_second=0
        )
        walked = []
        for batch in source.batches():
            for item in batch:  # recorded, as the pipeline does
                store.mark_seen("dry-run", item.kind, item.id, item.updated)
                walked.append(item.upload.alias)
                if item.upload.alias == uploads[2].alias:
                    lemmy.purge_alias(uploads[1].alias)  # the next page's file goes
        assert walked == [u.alias for u in uploads[::-1] if u is not uploads[1]]
        hashes = [r for r in lemmy.requests if r.path == "/internal/hashes"]
        assert any("timestamp" in r.query for r in hashes)  # gone on by time
        assert not source.in_progress()
    finally:
        store.close()
