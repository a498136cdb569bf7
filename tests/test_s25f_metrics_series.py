"""The daemon's metrics hold a bounded set of series, each there from the start.

- `modbot_skips_total{reason}`: `unchecked` (an image left without a verdict or a
  reason) and `purged` (a file modbot purged already) were not listed with 0 from the
  start, as every other reason is: increase() missed the first one.

Scraped over HTTP from `python -m modbot run --metrics-port 0` against the fake Lemmy.
"""

from __future__ import annotations

from support.bot import Bot
from support.policies import write_rules
from test_metrics import scrape, start_daemon, stop, value


def test_skip_reasons_are_bounded_series_listed_from_the_start(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for status in (404, 418, 451, 599):
        url = lemmy.add_remote_behaviour(f"/{status}.jpg", status=status, content_type="text/html")
        lemmy.add_post(cast.pics, cast.bob, name=f"answers {status}", url=url)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
    daemon, err, url = start_daemon(bot, "--metrics-port", "0")
    try:
        samples, _ = scrape(url)
    finally:
        stop(daemon, err)

    def skips(reason: str) -> float:
        return value(samples, "modbot_skips_total", reason=reason)

    for reason in ("unchecked", "purged"):
        assert skips(reason) == 0, reason  # listed from the start
    assert skips("http_404") == 1
