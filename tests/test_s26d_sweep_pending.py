"""`modbot_sweep_pending` says which sweep it is about, and is so.

Before: its HELP and docs/metrics.md said "1 while a requested backlog sweep is not
finished", while a cycle is "a poll, then a slice of a requested sweep", the store
sweep's (`schedule.store_sweep_cron`) too: an admin whose cycles ran long through a store
sweep read 0 there and no word that the store sweep is not counted. Now both say it
counts the backlog sweep only, and where a store sweep under way shows instead.

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

    def poll_once(self, stop: object) -> CycleStats:
        return CycleStats(items_seen=1)


def scraped(metrics: Metrics) -> tuple[float, str]:
    """modbot_sweep_pending's value and HELP, as a scrape reads them."""
    page = generate_latest(metrics.registry).decode()
    (family,) = [
        f for f in text_string_to_metric_families(page) if f.name == "modbot_sweep_pending"
    ]
    (sample,) = family.samples
    return sample.value, family.documentation


def test_the_sweep_pending_gauge_says_it_counts_the_backlog_sweep_only(tmp_path):
    store = Store(tmp_path / "state.sqlite3")
    policy = SimpleNamespace(
        schedule=SimpleNamespace(poll_every=timedelta(minutes=1), sweep_since=timedelta(days=30))
    )
    metrics = Metrics(dry_run=False)
    daemon = Daemon(Pipeline(store), policy, metrics=metrics)
    daemon._sweep_slice = lambda: None  # type: ignore[method-assign]  # requests stay

    daemon.request_store_sweep()
    daemon.cycle()
    value, said = scraped(metrics)
    assert value == 0, "a store sweep is not counted here"
    assert "backlog sweep" in said and "not the store sweep" in said, said

    daemon.request_sweep()
    daemon.cycle()
    assert scraped(metrics)[0] == 1
    store.close()


def test_the_docs_say_what_the_help_says():
    from pathlib import Path

    docs = Path(__file__).parents[1].joinpath("docs", "metrics.md").read_text()
    (row,) = [line for line in docs.splitlines() if line.startswith("| `modbot_sweep_pending`")]
    assert "schedule.sweep_cron" in row and "not counted" in row, row
    assert "store sweep in progress" in row, "where a store sweep under way shows instead"
