"""A score is between -2 and 2 (similarity - threshold). A test past that range was
refused, but one at its edge passed check-rules: `"> 2"` can never hold (the rule never
acts, without a word) and `">= -2"` always holds (the rule acts on every image)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.check_rules import check, problems, write

RULE = """
rules:
  - name: r
    if:
      scores: {{csam: "{test}"}}
    then: {{report: true}}
"""


@pytest.mark.parametrize(
    ("test", "holds"),
    [("> 2", "never"), ("< -2", "never"), (">= -2", "always"), ("<= 2", "always")],
)
def test_a_score_test_at_the_edge_of_the_range_is_refused(
    tmp_path: Path, test: str, holds: str
) -> None:
    said = problems(tmp_path, RULE.format(test=test))
    assert said == [
        f"rules.yaml:4: rule 'r': if.scores.csam: {test!r} {holds} holds: a score is between "
        "-2 and 2 (similarity - threshold; > 0 means the label fired, 0.02 is a typical test)"
    ]


@pytest.mark.parametrize("test", [">= 2", "> -2", "< 2", "<= -2", "> 0.02", "< -0.1"])
def test_a_score_test_that_some_score_passes_and_some_fails_is_valid(
    tmp_path: Path, test: str
) -> None:
    rc, out = check(tmp_path, write(tmp_path, RULE.format(test=test)))
    assert rc == 0, out
    assert not [line for line in out if "holds" in line], out
