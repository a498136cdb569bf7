"""The store sweep first counts pict-rs' files (for its total and ETA), a page of
``COUNT_PAGE`` files at a time, handing an empty batch over between pages so that the
walk can stop. A stop there (the daemon's slice out of time, SIGTERM) kept nothing of
the count: the next part counted again from the newest file. A store whose count takes
longer than a daemon slice (half a poll interval: a few million files) was counted
from the start by every slice, for ever, and no file was ever walked. The count's place
is now kept with the position, as the walk's is: each part carries it on."""

from __future__ import annotations

import json
import re
import threading

import modbot.modes.daemon as daemon_module
import modbot.store_source as store_source
from modbot.modes.daemon import Daemon


class OnePage(threading.Event):
    """A slice whose budget is spent once the pipeline read two batches (two pages)."""

    def __init__(self, stop, seconds) -> None:
        super().__init__()
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > 2

    def only_spent(self) -> bool:
        return True


def test_a_store_count_longer_than_a_slice_goes_on_in_the_next_slice(
    fake_lemmy, photos, pipeline_for, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    files = [lemmy.add_upload(cast.alice, bytes([i]) * 64 + b"x") for i in range(7)]
    monkeypatch.setattr(store_source, "COUNT_PAGE", 2)  # four pages to count
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    assert daemon.can_sweep_store
    daemon.request_store_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    lemmy.clear_requests()
    said = []
    for _ in range(40):
        line, _stats = daemon._sweep_slice()
        said.append(line)
        if not pipeline.store.get_cursor(daemon.store_sweep_request_cursor):
            break
    assert said[-1].startswith(f"store sweep finished ({len(files)} of {len(files)} stored"), [
        s[:60] for s in said
    ]
    # each counting page read once
    counted = [
        r.query.get("slug")
        for r in lemmy.requests
        if r.path == "/internal/hashes" and r.query.get("limit") == "2"
    ]
    assert len(counted) == len(set(counted)) == 4, counted
    assert json.loads(pipeline.store.get_cursor("dry-run:store_sweep") or "null") is None


def test_files_stored_while_the_store_was_counted_count_in_the_total(
    fake_lemmy, photos, pipeline_for, monkeypatch
):
    """The walk starts at the newest file once the count is done: a file stored while
    the count went on (behind it, newest first; for hours when it spans slices) is
    walked but was not counted. The sweep said "9 of 7 stored files walked" (and, for
    a run resuming past the count, a negative total and percentage); the total is now
    never below the files walked."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for i in range(7):
        lemmy.add_upload(cast.alice, bytes([i]) * 64 + b"x")
    monkeypatch.setattr(store_source, "COUNT_PAGE", 2)
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    daemon.request_store_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    line, _stats = daemon._sweep_slice()  # counting, stopped midway
    assert "the store being counted" in line, line
    for i in range(2):  # uploaded meanwhile: newer than the count's place
        lemmy.add_upload(cast.bob, bytes([100 + i]) * 64 + b"y")
    said = []
    for _ in range(40):
        line, _stats = daemon._sweep_slice()
        said.append(line)
        if not pipeline.store.get_cursor(daemon.store_sweep_request_cursor):
            break
    assert said[-1].startswith("store sweep finished (9 of 9 stored files walked)"), said[-1]
    walked = [re.search(r"\((\d+) of (\d+) stored", s) for s in said]
    assert all(int(m[1]) <= int(m[2]) for m in walked if m), said


def test_a_count_spanning_slices_says_how_far_it_got(fake_lemmy, pipeline_for, monkeypatch):
    """While the count spans slices, each slice said only "the store not counted yet":
    an admin could not tell a count going on from one started again each time."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for i in range(7):
        lemmy.add_upload(cast.alice, bytes([i]) * 64 + b"x")
    monkeypatch.setattr(store_source, "COUNT_PAGE", 1)  # a slice counts two pages here
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    daemon.request_store_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    lines = [daemon._sweep_slice()[0] for _ in range(2)]
    counted = [re.search(r"the store being counted: (\d+) files so far", s) for s in lines]
    assert all(counted), lines
    assert [int(m[1]) for m in counted if m] == [2, 4], lines
