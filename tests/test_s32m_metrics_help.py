"""What Prometheus and Grafana show beside `modbot_items_waiting` (its HELP line) says
what docs/metrics.md says it counts: posts and profile images, an action that failed
for now or no classifier that answered, not posts after a failed action only."""

from __future__ import annotations

from modbot.metrics import Metrics


def test_items_waitings_help_names_what_it_counts():
    metrics = Metrics(dry_run=False)
    (family,) = [f for f in metrics.registry.collect() if f.name == "modbot_items_waiting"]
    help_text = family.documentation
    assert "profile images" in help_text, help_text
    assert "no classifier answered" in help_text, help_text
