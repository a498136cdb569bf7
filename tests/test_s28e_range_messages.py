"""`modbot check-rules` and a number past its setting's range, in the admin's words.

Before, a concept's `threshold: 23` (a percentage, meant 0.23) was refused as "Input
should be less than or equal to 1 (got 23)", pydantic's words, which say neither what a
threshold is nor what was likely meant; `fetch: {per_host: 100}` alike. Now the message
names the value, the bound to keep to, and for a threshold the number meant."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems


def test_a_threshold_in_percent_says_what_was_meant(tmp_path: Path):
    (line,) = problems(
        tmp_path,
        """
        concepts:
          gore: {prompts: ["photo of a mutilated body"], threshold: 23}
        rules:
          - {name: csam, if: {labels: csam}, then: {report: true}}
        """,
    )
    assert line.startswith("rules.yaml:2: concepts.gore.threshold: 23 is more than 1")
    assert "did you mean 0.23?" in line
    assert "Input should" not in line


def test_a_count_past_its_bounds_says_the_bound(tmp_path: Path):
    lines = problems(
        tmp_path,
        """
        fetch: {concurrency: 0, per_host: 100}
        rules:
          - {name: csam, if: {labels: csam}, then: {report: true}}
        """,
    )
    assert lines == [
        "rules.yaml:1: fetch.concurrency: 0 is less than 1: give 1 or more",
        "rules.yaml:1: fetch.per_host: 100 is more than 64: give 64 or less",
    ]
