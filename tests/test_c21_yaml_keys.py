"""A key YAML 1.1 reads as a boolean or a number (`on:`, `no:`, `5:`) is said as
written ("unknown key 'on'"), not as "1: Keys should be strings (got True)"."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate

RULE = "rules:\n  - name: a\n    if: {labels: nsfw}\n    then: {remove: true}\n"


def errors(text: str, tmp_path: Path) -> list[tuple[int, str]]:
    result = validate(text, "rules.yaml", tmp_path)
    return [(p.line, p.message) for p in result.problems if not p.warning]


@pytest.mark.parametrize("key", ["on", "no", "yes", "false", "5", "0.5"])
def test_a_top_level_key_read_as_a_bool_or_number_is_named_as_written(tmp_path, key):
    ((line, message),) = errors(f"{key}: 1\n" + RULE, tmp_path)
    assert line == 1
    assert message.startswith(f"unknown key {key!r}; allowed here: classifier, concepts")


def test_in_a_rule_and_as_a_concept_name(tmp_path):
    assert errors(RULE + "    on: 1\n", tmp_path) == [
        (
            5,
            "unknown key 'on' in rule 'a'; allowed here: name, priority, if, then, "
            "moderators_exempt",
        )
    ]
    ((line, message),) = errors("concepts:\n  5: {prompts: [a], threshold: 0.2}\n" + RULE, tmp_path)
    assert line == 2 and message.startswith("concept name '5': use 1-40 lower-case letters")
