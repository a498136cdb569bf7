"""The daemon sweeps the backlog in slices, one a cycle, each logging only its own
figures ("sweep in progress: 12 items ..."): an admin could not tell how far the walk
had gone across its slices, nor how long it had run. The walk now keeps how far it went
with its position (pages walked past in all its parts, parts, since when) and logs it
as each part resumes and as the walk ends; the figures are those of the one walk, so a
walk in many slices ends with the same page count as one walked at once."""

from __future__ import annotations

import logging
import re
import threading

from support.policies import backlog

import modbot.modes.daemon as daemon_module
from modbot.modes.daemon import Daemon

RESUMED = re.compile(
    r"resuming the interrupted sweep \((\w+)\): (\d+) pages walked so far, in (\d+) parts?, since "
)
COMPLETE = re.compile(r"the sweep is complete: (\d+) pages walked in all, in (\d+) parts?, since ")


class OnePage(threading.Event):
    """A slice whose budget is spent once the pipeline read its first batch."""

    def __init__(self, stop, seconds) -> None:
        super().__init__()
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > 1

    def only_spent(self) -> bool:
        return True


def _said(caplog, pattern) -> list[tuple]:
    return [m.groups() for r in caplog.records if (m := pattern.search(r.getMessage()))]


def test_a_sweep_in_slices_logs_how_far_the_whole_walk_went(
    fake_lemmy, photos, pipeline_for, monkeypatch, caplog
):
    lemmy = fake_lemmy
    backlog(lemmy, photos, posts=120, days_old=2)  # three pages of posts, and more phases
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    caplog.set_level(logging.INFO, logger="modbot.source")
    daemon.request_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    for _ in range(60):
        daemon._sweep_slice()  # what each cycle runs after its poll
        if not pipeline.store.get_cursor(daemon.sweep_request_cursor):
            break
    assert not pipeline.store.get_cursor(daemon.sweep_request_cursor), "the walk ended"
    resumed = _said(caplog, RESUMED)
    assert len(resumed) > 3, "each slice resumes the walk and says how far it went"
    pages = [int(p) for _, p, _ in resumed]
    parts = [int(k) for _, _, k in resumed]
    assert pages == sorted(pages) and pages[-1] > pages[0], pages
    assert parts == list(range(1, len(parts) + 1)), parts
    assert {phase for phase, _, _ in resumed} >= {"posts", "communities"}
    [(total, in_parts)] = _said(caplog, COMPLETE)
    assert int(in_parts) == len(resumed) + 1 and int(total) >= pages[-1]

    # the same walk at once (every item seen now): the same pages, in one part
    caplog.clear()
    monkeypatch.undo()
    daemon.request_sweep()
    daemon._sweep_slice()
    assert not pipeline.store.get_cursor(daemon.sweep_request_cursor)
    assert _said(caplog, RESUMED) == []
    assert _said(caplog, COMPLETE) == [(total, "1")]


def test_a_walk_resumed_from_an_older_modbots_position_says_its_start_was_not_counted(
    fake_lemmy, photos, pipeline_for, monkeypatch, caplog
):
    """A position kept by a modbot that did not count the walk (before an upgrade): the
    first part after it said "0 pages walked so far, in 0 parts, since <now>", as if the
    walk had just begun; it now says its earlier parts were not counted."""
    lemmy = fake_lemmy
    backlog(lemmy, photos, posts=120, days_old=2)
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    caplog.set_level(logging.INFO, logger="modbot.source")
    daemon.request_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    daemon._sweep_slice()
    assert pipeline.store.get_cursor("dry-run:sweep_position")
    pipeline.store.set_cursor("dry-run:sweep_walked", None)  # as an older modbot left it
    caplog.clear()
    for _ in range(60):
        daemon._sweep_slice()
        if not pipeline.store.get_cursor(daemon.sweep_request_cursor):
            break
    said = [r.getMessage() for r in caplog.records if "pages walked" in r.getMessage()]
    assert said and all("its parts before then were not counted" in s for s in said), said
    assert RESUMED.search(said[0]) and RESUMED.search(said[0]).groups()[1:] == ("0", "0")
    # the walk after it is counted whole again
    caplog.clear()
    monkeypatch.undo()
    daemon.request_sweep()
    daemon._sweep_slice()
    [end] = [r.getMessage() for r in caplog.records if "pages walked" in r.getMessage()]
    assert COMPLETE.search(end) and "not counted" not in end
