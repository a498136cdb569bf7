"""A stop (the daemon's SIGTERM) is honoured between the pages of Lemmy's media list,
which the store walk reads first into its alias -> uploader index: on a large 1.0
instance that list is millions of uploads, read before the first file, and the daemon
kept reading it to its end. Now the read stops at the next page, no file is walked
with half an index, and the next walk reads the list again."""

from __future__ import annotations

import threading

import pytest
from test_store_sweep import jpeg

from modbot.modes.store_sweep import store_source

MEDIA = "/api/v4/image/list"


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_stop_ends_the_media_list_read_at_the_next_page(fake_lemmy, pipeline_for):
    lemmy = fake_lemmy
    for i in range(120):  # three pages of the media list (50 a page)
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    pipeline = pipeline_for(lemmy)
    stop = threading.Event()

    def stop_on_first_page(body):
        stop.set()  # as SIGTERM arriving while Lemmy answers the first page
        return body

    lemmy.tamper(MEDIA, stop_on_first_page)
    lemmy.clear_requests()
    source = store_source(pipeline, files_per_second=0, stop=stop)
    assert list(source.batches()) == []  # no file walked
    assert [r.path for r in lemmy.requests if r.path == MEDIA] == [MEDIA]  # one page, not 3
    assert not [r for r in lemmy.requests if r.path == "/internal/hashes"]
    assert not source.ended

    lemmy.tamper(MEDIA, None)
    lemmy.clear_requests()
    again = store_source(pipeline, files_per_second=0, stop=threading.Event())
    walked = sum(len(batch) for batch in again.batches())
    assert len([r for r in lemmy.requests if r.path == MEDIA]) == 3  # the list read again
    assert walked == 120 and again.ended
