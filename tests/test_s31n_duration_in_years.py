"""A ban or a window in years or months (`1y`, `6 months`) was "unknown time unit 'y':
use s, m, h, d or w", leaving the admin to work out the days: now they are said."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems

TEXT = """
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
lemmy: {lookback: 2 years}
rules:
  - name: r
    if: {hash_list: bad}
    then:
      ban: {duration: 1y}
  - name: s
    if: {hash_list: bad, scope: local}
    priority: 5
    then:
      ban: {duration: 6 months}
"""


def test_years_and_months_are_said_in_days(tmp_path: Path) -> None:
    (tmp_path / "bad.sha256").write_text("")
    assert problems(tmp_path, TEXT) == [
        "rules.yaml:3: lemmy.lookback: unknown time unit 'years' in '2 years': a year is "
        "written 365d, so 2 years is 730d; use s, m, h, d or w",
        "rules.yaml:8: rule 'r': then.ban.duration: unknown time unit 'y' in '1y': a year is "
        "written 365d, so 1y is 365d; use s, m, h, d or w, or permanent",
        "rules.yaml:13: rule 's': then.ban.duration: unknown time unit 'months' in '6 months': "
        "a month is written 30d, so 6 months is 180d; use s, m, h, d or w, or permanent",
    ]
