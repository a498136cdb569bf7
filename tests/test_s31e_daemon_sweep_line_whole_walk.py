"""The daemon's cycle line (its log line and its heartbeat's summary) for a backlog
sweep in slices says how far the whole walk went, as the store sweep's line does.

Before: "sweep in progress: 12 items ..." gave the slice's own figures only; how far the
walk had gone across its slices (pages walked in all its parts, since when) was in the
"resuming the interrupted sweep" log line of the next slice only, and the finished line
gave no total. Now: "sweep in progress (40 pages walked so far, in 3 parts, since ...)"
and "sweep finished (57 pages walked in all, in 31 parts, since ...)"."""

from __future__ import annotations

import re

from support.policies import backlog
from test_s30i_sweep_walked_in_slices import OnePage

import modbot.modes.daemon as daemon_module
from modbot.modes.daemon import Daemon
from modbot.modes.health import read_heartbeat

IN_PROGRESS = re.compile(
    r"\| sweep in progress \((\d+) pages walked so far, in (\d+) parts?, since [^)]+\): "
)
FINISHED = re.compile(r"\| sweep finished \((\d+) pages walked in all, in (\d+) parts?, since ")


def test_the_daemons_line_says_how_far_the_whole_sweep_went(
    fake_lemmy, photos, pipeline_for, monkeypatch
):
    lemmy = fake_lemmy
    backlog(lemmy, photos, posts=120, days_old=2)  # three pages of posts, and more phases
    pipeline = pipeline_for(lemmy, dry_run=True)
    daemon = Daemon(pipeline, pipeline.policy)
    daemon.request_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", OnePage)
    lines = []
    for _ in range(60):
        daemon.cycle()  # a poll, then a slice of the sweep
        lines.append(read_heartbeat(pipeline.store, daemon.heartbeat_cursor)["last_summary"])
        if not pipeline.store.get_cursor(daemon.sweep_request_cursor):
            break
    progress = [m.groups() for line in lines if (m := IN_PROGRESS.search(line))]
    assert len(progress) == len(lines) - 1 > 3, lines
    pages = [int(p) for p, _ in progress]
    assert pages == sorted(pages) and pages[-1] > pages[0], pages
    assert [int(k) for _, k in progress] == list(range(1, len(progress) + 1))
    finished = FINISHED.search(lines[-1])
    assert finished, lines[-1]
    assert int(finished.group(1)) >= pages[-1] and int(finished.group(2)) == len(lines)
