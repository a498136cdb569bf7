"""A sweep under way shows in the metrics, the backlog's and the store's.

Before: `modbot_sweep_pending` was fed the backlog sweep's request only, while a cycle is
"a poll, then a slice of a requested sweep", the store sweep's (`schedule.store_sweep_cron`)
too: an admin whose cycles ran long through a store sweep read 0 and nothing else. Now
`modbot_store_sweep_pending` is 1 while a requested store sweep is not finished.

What a scrape reads (`generate_latest`: the page prometheus-client serves) from a daemon
cycle, the sweeps requested as their crons request them."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from modbot.metrics import Metrics
from modbot.model import CycleStats
from modbot.modes.daemon import Daemon
from modbot.store import Store


class Pipeline:
    """What a cycle and its metrics ask of the pipeline."""

    dry_run, run_id = False, "test"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.executor = SimpleNamespace(
            max_destructive_per_hour=20,
            valve=SimpleNamespace(window=lambda limit, now: (False, 0)),
            clock=lambda: 0.0,
        )
        self.source = SimpleNamespace(retry_count=lambda: 0)

    def poll_once(self, stop: object, progress: object = None) -> CycleStats:
        return CycleStats(items_seen=1)


def pending(metrics: Metrics) -> dict[str, float]:
    """The sweep gauges, as a scrape reads them."""
    page = generate_latest(metrics.registry).decode()
    return {
        s.name: s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.name in ("modbot_sweep_pending", "modbot_store_sweep_pending")
    }


def test_each_requested_sweep_shows_until_it_is_finished(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    policy = SimpleNamespace(
        schedule=SimpleNamespace(poll_every=timedelta(minutes=1), sweep_since=timedelta(days=30))
    )
    metrics = Metrics(dry_run=False)
    daemon = Daemon(Pipeline(store), policy, metrics=metrics)
    daemon._sweep_slice = lambda: None  # type: ignore[method-assign]  # requests stay
    daemon.cycle()
    assert pending(metrics) == {"modbot_sweep_pending": 0, "modbot_store_sweep_pending": 0}

    daemon.request_store_sweep()
    daemon.cycle()
    assert pending(metrics) == {"modbot_sweep_pending": 0, "modbot_store_sweep_pending": 1}

    daemon.request_sweep()
    daemon.cycle()
    assert pending(metrics) == {"modbot_sweep_pending": 1, "modbot_store_sweep_pending": 1}

    store.set_cursor(daemon.store_sweep_request_cursor, None)  # as its last slice does
    daemon.cycle()
    assert pending(metrics) == {"modbot_sweep_pending": 1, "modbot_store_sweep_pending": 0}
    store.close()


def test_the_docs_list_both():
    from pathlib import Path

    docs = Path(__file__).parents[1].joinpath("docs", "metrics.md").read_text()
    for name in ("modbot_sweep_pending", "modbot_store_sweep_pending"):
        (row,) = [line for line in docs.splitlines() if line.startswith(f"| `{name}`")]
        assert "is not finished" in row, row
