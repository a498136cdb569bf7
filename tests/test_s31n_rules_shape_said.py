"""Rules written without `rules:` above them (a list at the top), or under `rules:` as a
mapping (one rule without its dash, or rules keyed by name), were said in the schema's
words ("not a list", "expected a list, got a mapping"): now what a rule looks like is
said, `- name:`."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.check_rules import problems

RULE = "  if: {labels: [csam]}\n  then: {report: true}\n"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "- name: a\n" + RULE,
            "rules.yaml:1: the top level must be a mapping (classifier:, hash_lists:, rules:, "
            "...), not a list: write `rules:` on the first line, then the rules under it, each "
            "starting with `- name:`",
        ),
        (
            "rules:\n  name: a\n" + RULE,
            "rules.yaml:2: rules: expected a list of rules, got a mapping: each rule starts "
            "with `- name:`, a dash then its name",
        ),
        (
            "rules:\n  a:\n" + RULE.replace("  ", "    "),
            "rules.yaml:2: rules: expected a list of rules, got a mapping: each rule starts "
            "with `- name:`, a dash then its name; for `a:` write `- name: a`",
        ),
    ],
)
def test_rules_not_in_a_list_say_how_a_rule_starts(tmp_path: Path, text: str, said: str) -> None:
    assert problems(tmp_path, text) == [said]
