"""The daemon's metrics fed straight from a cycle's stats (no daemon, no HTTP): what a
scrape would read after `Metrics.cycle_done`."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from modbot.metrics import Metrics
from modbot.model import CycleStats


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_the_memory_peak_is_the_cycles_not_the_sweep_slices():
    """A cycle is a poll then a sweep slice, each with its own peak (the budget's peak is
    reset after each): the gauge is the larger, not the sweep slice's written last."""
    metrics = Metrics(dry_run=False)
    poll = CycleStats(decode_memory=(700, 1000), download_memory=(1500, 2000))
    sweep = CycleStats(decode_memory=(100, 1000), download_memory=(300, 2000))
    metrics.cycle_done(1.0, [poll, sweep])
    r = metrics.registry
    assert sample(r, "modbot_memory_peak_bytes", budget="decoding") == 700
    assert sample(r, "modbot_memory_peak_bytes", budget="downloads") == 1500
    assert sample(r, "modbot_memory_budget_bytes", budget="decoding") == 1000
    # the next cycle's own peak, lower: the gauge follows it down (the last cycle's)
    metrics.cycle_done(1.0, [CycleStats(decode_memory=(50, 1000))])
    assert sample(r, "modbot_memory_peak_bytes", budget="decoding") == 50


def test_every_documented_action_status_is_there_from_the_start():
    """docs/metrics.md: the labels it lists are there with 0 from the start (so that
    increase() sees the first one), `covered` among the statuses (a purge done with
    another alias of the same file, told again for an item a restart carried on)."""
    import re
    from pathlib import Path

    docs = Path(__file__).parents[1].joinpath("docs", "metrics.md").read_text()
    (row,) = [line for line in docs.splitlines() if line.startswith("| `modbot_actions_total`")]
    statuses = set(re.findall(r"`(\w+)`", row.split("`status`", 1)[1]))
    assert {"done", "planned", "failed", "skipped", "not_possible", "covered"} <= statuses
    metrics = Metrics(dry_run=False, actions=["purge_image"])
    for status in statuses:
        value = sample(metrics.registry, "modbot_actions_total", kind="purge_image", status=status)
        assert value == 0, status
    metrics.cycle_done(1.0, [CycleStats(actions=Counter({"purge_image:covered": 1}))])
    assert sample(metrics.registry, "modbot_actions_total", kind="purge_image", status="covered")


def test_the_skip_reasons_no_rule_names_are_there_from_the_start():
    """No worker answering is the skip an alert wants first: 0 from the start too."""
    metrics = Metrics(dry_run=False, skip_reasons=["too_large"])
    for reason in ("too_large", "classifier_unavailable", "malformed_item"):
        assert sample(metrics.registry, "modbot_skips_total", reason=reason) == 0, reason


def test_a_cycle_whose_sweep_slice_fails_still_counts_what_its_poll_did(tmp_path):
    """The poll removed an image (done, recorded), then the sweep slice failed: the
    removal is in `modbot_actions_total` all the same, and the cycle counted failed."""
    from datetime import timedelta
    from types import SimpleNamespace

    from modbot.modes.daemon import Daemon
    from modbot.store import Store

    class Pipeline:  # what a cycle asks of the pipeline
        dry_run, run_id = False, "test"

        def __init__(self, store: Store) -> None:
            self.store = store

        def poll_once(self, stop: object, progress: object = None) -> CycleStats:
            return CycleStats(items_seen=3, actions=Counter({"remove:done": 1}))

    metrics = Metrics(dry_run=False)
    store = Store(tmp_path / "state.sqlite3")
    policy = SimpleNamespace(schedule=SimpleNamespace(poll_every=timedelta(minutes=1)))
    daemon = Daemon(Pipeline(store), policy, metrics=metrics)

    def broken() -> None:
        raise OSError("disk full")

    daemon._sweep_slice = broken  # type: ignore[method-assign]
    daemon._metrics_state = lambda: None  # type: ignore[method-assign]
    daemon.cycle()
    r = metrics.registry
    assert sample(r, "modbot_cycles_total", result="failed") == 1
    assert sample(r, "modbot_actions_total", kind="remove", status="done") == 1
    assert sample(r, "modbot_items_total") == 3
    store.close()


def test_a_poll_failing_on_a_later_page_counts_what_its_first_pages_did(tmp_path):
    """The poll decided and recorded its first page (a removal done), then Lemmy failed on
    the next: the removal is in `modbot_actions_total`, once; a poll that failed before
    it started counts nothing of the cycle before it."""
    from datetime import timedelta
    from types import SimpleNamespace

    from modbot.modes.daemon import Daemon
    from modbot.store import Store

    class Pipeline:
        dry_run, run_id = False, "test"
        cycle_stats: CycleStats | None = None

        def __init__(self, store: Store) -> None:
            self.store = store
            self.at_start = False

        def poll_once(self, stop: object, progress: object = None) -> CycleStats:
            if self.at_start:  # e.g. the login failed: no new stats were begun
                raise OSError("login failed")
            self.cycle_stats = CycleStats(items_seen=50, actions=Counter({"remove:done": 1}))
            raise OSError("HTTP 502 from Lemmy on page 2")

    metrics = Metrics(dry_run=False)
    store = Store(tmp_path / "state.sqlite3")
    policy = SimpleNamespace(schedule=SimpleNamespace(poll_every=timedelta(minutes=1)))
    pipeline = Pipeline(store)
    daemon = Daemon(pipeline, policy, metrics=metrics)
    daemon._metrics_state = lambda: None  # type: ignore[method-assign]
    daemon.cycle()
    pipeline.at_start = True
    daemon.cycle()
    r = metrics.registry
    assert sample(r, "modbot_cycles_total", result="failed") == 2
    assert sample(r, "modbot_actions_total", kind="remove", status="done") == 1
    assert sample(r, "modbot_items_total") == 50
    store.close()
