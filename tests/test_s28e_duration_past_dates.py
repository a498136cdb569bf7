"""Durations of the settings past what a date can hold.

`lemmy.lookback` and `schedule.sweep_since` are subtracted from now. Before,
`lookback: 1000000d` passed check-rules, and `modbot run` then died at its first poll
with a traceback (OverflowError: date value out of range); `sweep_since: 1000000d` at
its first scheduled sweep. Now a setting's duration over 100 years (36500d, as for a
ban) is an error at its line, and `modbot run` refuses the file before it reads Lemmy."""

from __future__ import annotations

from pathlib import Path

from support.bot import Bot
from support.check_rules import check, problems, write
from support.policies import write_rules

RULES = """
lemmy: {{lookback: {lookback}}}
schedule: {{sweep_since: {since}}}
rules:
  - name: csam
    if: {{labels: csam}}
    then: {{report: true}}
"""


def test_check_rules_refuses_them_with_their_lines(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(lookback="1000000d", since="30d"))
    assert line.startswith("rules.yaml:1: lemmy.lookback: '1000000d' is more than 100")
    assert "36500d" in line
    (line,) = problems(tmp_path, RULES.format(lookback="6h", since="200000w"))
    assert line.startswith("rules.yaml:2: schedule.sweep_since: '200000w' is more than 100")
    assert "all" in line
    rc, out = check(tmp_path, write(tmp_path, RULES.format(lookback="36500d", since="all")))
    assert rc == 0, out


def test_run_refuses_the_file_instead_of_dying_at_its_first_poll(fake_lemmy, tiny, tmp_path):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    rules.write_text(rules.read_text().replace("lookback: 6h", "lookback: 1000000d"))
    done = Bot(fake_lemmy, tmp_path, rules)("run", "--once", rc=1)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "lemmy.lookback: '1000000d' is more than 100 years" in done.stdout + done.stderr
    assert not fake_lemmy.requests
