"""Durations as modbot prints them back: ban lengths, sweep windows, the schedule.

Before: 30 days printed as `4w2d` (`check-rules --explain`: "ban ... for 4w2d"; the
summary and `modbot doctor`: "sweep ... back 4w2d"), where the admin wrote 30d. Now
weeks only when the duration is whole weeks; days otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.policies import write_rules

from modbot.cli import main
from modbot.config.units import format_duration, parse_duration


@pytest.mark.parametrize(
    "value, said",
    [
        (timedelta(days=30), "30d"),
        (timedelta(days=90), "90d"),
        (timedelta(days=365), "365d"),
        (timedelta(days=36500), "36500d"),  # the longest ban rules.yaml takes
        (timedelta(days=10), "10d"),
        (timedelta(days=8), "8d"),
        (timedelta(days=7), "1w"),
        (timedelta(days=14), "2w"),
        (timedelta(days=28), "4w"),
        (timedelta(days=7, hours=1), "7d1h"),
        (timedelta(days=3), "3d"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(hours=6), "6h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=0.5), "0.5s"),
    ],
)
def test_a_duration_reads_as_an_admin_writes_it(value, said):
    assert format_duration(value) == said
    assert parse_duration(said) == value, "what it prints reads back in rules.yaml"


BANS = """
  - name: month ban
    if: {hash_list: known-bad}
    then:
      remove: "Known abusive image"
      ban: {scope: site, duration: 30d, remove_data: false, reason: "known abusive image"}
  - name: fortnight ban
    if: {labels: [probe]}
    then:
      remove: "probe"
      ban: {scope: site, duration: 14d, remove_data: false, reason: "probe"}
"""


def test_check_rules_says_the_ban_lengths_and_window_as_written(tmp_path, fake_lemmy, tiny, capsys):
    rules = write_rules(tmp_path, fake_lemmy, tiny, rules=BANS)
    text = rules.read_text() + "schedule: {sweep_cron: '0 4 * * *', sweep_since: 30d}\n"
    rules.write_text(text)
    assert main(["check-rules", "--explain", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "shows it) site-wide for 30d" in out, out
    assert "shows it) site-wide for 2w" in out, out
    assert "sweep '0 4 * * *' UTC back 30d," in out, out
    assert "4w2d" not in out, out
