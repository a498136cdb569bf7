"""The store sweep first counts pict-rs' files (for its total and ETA), a page of
``COUNT_PAGE`` files at a time, handing an empty batch over between pages so that the
walk can stop. A stop there (the daemon's slice out of time, SIGTERM) kept nothing of
the count: the next part counted again from the newest file. A store whose count takes
longer than a daemon slice (half a poll interval: a few million files) was counted
from the start by every slice, for ever, and no file was ever walked. The count's place
is now kept with the position, as the walk's is: each part carries it on."""

from __future__ import annotations

import json
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
