"""The daemon's metrics fed straight from a cycle's stats (no daemon, no HTTP): what a
scrape would read after `Metrics.cycle_done`."""

from __future__ import annotations

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
