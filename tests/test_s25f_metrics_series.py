"""The daemon's metrics hold a bounded set of series, each there from the start.

- `modbot_skips_total{reason}`: a remote host's HTTP status was a series of its own, so
  hosts answering 418, 599, 799... added series without bound (up to ~700 of them); now
  the codes a dashboard tells apart have their own (`http_404`, `http_429`, ...), the
  rest of a class are counted as `http_4xx` or `http_5xx` (`http_3xx`), and a status
  outside the classes as `http_other`. Each is listed with 0 from the start, as are
  `unchecked` and `purged`, which were not (increase() missed their first one). The
  decision's record keeps the exact status.
- no `*_created` series: prometheus-client exports one per counter and histogram
  series by default, doubling them; docs/metrics.md promises none.

Scraped over HTTP from `python -m modbot run --metrics-port 0` against the fake Lemmy.
"""

from __future__ import annotations

import re
from collections import Counter

from prometheus_client import generate_latest
from support.bot import Bot
from support.policies import write_rules
from test_metrics import scrape, start_daemon, stop, value

from modbot.metrics import Metrics
from modbot.model import CycleStats


def test_a_scrape_holds_bounded_series_listed_from_the_start(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for status in (404, 418, 451, 599):
        url = lemmy.add_remote_behaviour(f"/{status}.jpg", status=status, content_type="text/html")
        lemmy.add_post(cast.pics, cast.bob, name=f"answers {status}", url=url)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
    daemon, err, url = start_daemon(bot, "--metrics-port", "0")
    try:
        samples, page = scrape(url)
    finally:
        stop(daemon, err)

    def skips(reason: str) -> float:
        return value(samples, "modbot_skips_total", reason=reason)

    # the record says the status the host sent
    said = {d["skipped"] for d in bot.decisions() if (d["skipped"] or "").startswith("http_")}
    assert said == {"http_404", "http_418", "http_451", "http_599"}
    # the metrics, the codes told apart and the classes of the rest
    assert (skips("http_404"), skips("http_451")) == (1, 1)
    assert (skips("http_4xx"), skips("http_5xx")) == (1, 1)
    reasons = {dict(labels)["reason"] for name, labels in samples if name == "modbot_skips_total"}
    assert not {"http_418", "http_599"} & reasons
    there = ("http_403", "http_429", "http_502", "http_3xx", "http_other", "unchecked", "purged")
    for reason in there:
        assert skips(reason) == 0, reason  # listed from the start
    assert len([r for r in reasons if r.startswith("http_")]) < 20
    # no _created series beside each counter's
    assert not re.findall(r"^modbot_\w+_created\b", page, re.M)
    assert value(samples, "modbot_items_total") >= 4  # the counters themselves are there


def test_a_status_outside_the_classes_is_http_other():
    # (the fake's server cannot send one: uvicorn knows no phrase for it; httpx takes any)
    metrics = Metrics(dry_run=False)
    metrics.cycle_done(1.0, [CycleStats(skipped=Counter({"http_799": 2, "http_102": 1}))])
    page = generate_latest(metrics.registry).decode()
    assert 'modbot_skips_total{reason="http_other"} 3.0' in page
    assert "http_799" not in page and "http_102" not in page
