"""A rules file with a closing quote left out (`remove: "Copy of a known abusive image`)
was told a syntax error lines further down, where the quoted text happened to end at
the next quote: in the shipped rules.yaml two lines on, with the hint 'text with
{{placeholders}} must be in quotes' (wrong: they are), or fifty lines on for a single
quote; a quote never closed was said at the line after the file's end. Now the problem
is said at the line the quote opens, saying its closing quote looks missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.check_rules import problems

SHIPPED = (Path(__file__).parents[1] / "rules.yaml").read_text()
LINE = '      remove: "Copy of a known abusive image"\n'


def _number(text: str, line: str) -> int:
    return text[: text.index(line)].count("\n") + 1


@pytest.mark.parametrize(
    "spoilt",
    [
        '      remove: "Copy of a known abusive image\n',
        "      remove: 'Copy of a known abusive image\n",
    ],
    ids=["double", "single"],
)
def test_a_closing_quote_left_out_is_said_where_the_quote_opens(tmp_path: Path, spoilt: str):
    assert SHIPPED.count(LINE) == 1
    at = _number(SHIPPED, LINE)
    (said,) = problems(tmp_path, SHIPPED.replace(LINE, spoilt))
    assert said.startswith(f"rules.yaml:{at}: YAML syntax error"), said
    assert "closing quote" in said and f"line {at}" in said, said
    assert "{{placeholders}} must be in quotes" not in said, said


def test_a_quote_never_closed_is_said_where_it_opens(tmp_path: Path):
    text = 'rules:\n  - name: a\n    if: {labels: [csam]}\n    then:\n      report: "seen\n      remove: true\n'
    (said,) = problems(tmp_path, text)
    assert said.startswith("rules.yaml:5: YAML syntax error"), said
    assert "closing quote" in said, said


def test_text_in_quotes_over_two_lines_is_still_fine(tmp_path: Path):
    text = 'rules:\n  - name: a\n    if: {labels: [csam]}\n    then:\n      report: "seen\n        here"\n      remove: true\n    nope: 1\n'
    (said,) = problems(tmp_path, text)  # an unknown key, not a quote: no syntax error
    assert said.startswith("rules.yaml:8: unknown key 'nope'"), said
