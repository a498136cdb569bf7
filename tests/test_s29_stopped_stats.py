"""A stop (SIGTERM) that gives up a request waiting to be retried, in `modbot sweep` and
`modbot sweep --store`: what the run did before is its summary. Before, `sweep --store`
built an empty summary from a name imported for type checking only: a stop that came
before its first batch (the session's check) ended in a NameError traceback."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from modbot.errors import LemmyUnavailable
from modbot.lemmy.transport import STOPPING
from modbot.model import CycleStats
from modbot.pipeline import Pipeline


def stopped(cycle_stats, exc, stop):
    return Pipeline.stopped(SimpleNamespace(cycle_stats=cycle_stats), exc, stop)  # type: ignore[arg-type]


def test_a_stop_before_the_first_batch_is_an_empty_summary():
    stop = threading.Event()
    stop.set()
    stats = stopped(None, LemmyUnavailable("GET /site: not retried", error=STOPPING), stop)
    assert stats.summary().startswith("0 items")


def test_what_was_done_before_the_stop_is_kept():
    stop = threading.Event()
    stop.set()
    done = CycleStats(items_seen=3)
    assert stopped(done, LemmyUnavailable("x", error=STOPPING), stop) is done


@pytest.mark.parametrize(
    "error, is_set", [("rate_limit_error", True), (STOPPING, False)], ids=["other", "no-stop"]
)
def test_any_other_failure_is_raised_again(error, is_set):
    stop = threading.Event()
    if is_set:
        stop.set()
    with pytest.raises(LemmyUnavailable):
        stopped(CycleStats(), LemmyUnavailable("x", error=error), stop)
