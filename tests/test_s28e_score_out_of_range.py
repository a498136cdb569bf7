"""`modbot check-rules` and a score test past the range of a score.

A score is a margin, similarity - threshold, so it lies between -2 and 2 (`> 0`: the
label fired; docs/rules.md). Before, `scores: {nsfw: "> 25"}` (a percentage, or 0.25
mistyped) passed check-rules, and the rule then never acted, without a word; `"< 25"`
acted on every image the other conditions matched. Now a test past -2..2 is an error at
its line saying whether it would never or always hold, and what was likely meant."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
rules:
  - name: nsfw
    if:
      type: post
      scores: {{nsfw: "{test}"}}
    then: {{remove: true}}
"""


def test_a_test_above_every_score_is_refused(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(test="> 25"))
    assert line.startswith("rules.yaml:5: rule 'nsfw': if.scores.nsfw: ")
    assert "between -2 and 2" in line and "never holds" in line and "0.25" in line


def test_a_test_every_score_passes_is_refused(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(test="<= -3"))
    assert "never holds" in line
    (line,) = problems(tmp_path, RULES.format(test="< 25"))
    assert "always holds" in line


def test_tests_within_the_range_pass(tmp_path: Path):
    for test in ("> 0.02", ">= -0.5", "< 2", "> -2"):
        rc, out = check(tmp_path, write(tmp_path, RULES.format(test=test)))
        assert rc == 0, (test, out)
