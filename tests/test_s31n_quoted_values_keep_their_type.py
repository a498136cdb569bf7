"""A value in quotes is text: pydantic's lax mode read `remove_data: "yes"` as true,
`moderators_exempt: "no"` as false (the rule then acting on moderators) and
`priority: "50"` or `priority: true` as numbers, all without a word. check-rules (and so
the bot, which refuses a file that does not pass) now says what was written and what to
write instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.check_rules import check, problems, write

RULE = """
rules:
  - name: r
    if: {{hash_list: bad}}
    {key}: {value}
    then:
      remove: true
      ban: {{duration: permanent, remove_data: {remove_data}}}
hash_lists:
  bad: {{kind: sha256, file: bad.sha256}}
"""


@pytest.fixture
def listed(tmp_path: Path) -> Path:
    (tmp_path / "bad.sha256").write_text(
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("key", "value", "remove_data", "said"),
    [
        (
            "moderators_exempt",
            '"no"',
            "false",
            "rules.yaml:4: rule 'r': moderators_exempt: expected true or false, got 'no' in "
            "quotes (text): write false, without quotes",
        ),
        (
            "priority",
            '"50"',
            "false",
            "rules.yaml:4: rule 'r': priority: expected a whole number, got '50' in quotes "
            "(text): write 50, without quotes",
        ),
        (
            "priority",
            "true",
            "false",
            "rules.yaml:4: rule 'r': priority: expected a whole number, got true (YAML reads "
            "yes, no, on and off as true or false)",
        ),
        (
            "priority",
            "10",
            '"yes"',
            "rules.yaml:7: rule 'r': then.ban.remove_data: expected true or false, got 'yes' "
            "in quotes (text): write true, without quotes",
        ),
        (
            "priority",
            "10",
            "1",
            "rules.yaml:7: rule 'r': then.ban.remove_data: expected true or false, got 1",
        ),
    ],
)
def test_a_quoted_word_or_a_number_is_no_truth_and_a_truth_no_number(
    listed: Path, key: str, value: str, remove_data: str, said: str
) -> None:
    text = RULE.format(key=key, value=value, remove_data=remove_data)
    assert problems(listed, text) == [said]


def test_yaml_1_1_words_unquoted_are_truths_as_documented(listed: Path) -> None:
    # yes/no/on/off unquoted are YAML's true/false: taken so, as docs/rules.md says
    text = RULE.format(key="moderators_exempt", value="no", remove_data="yes")
    rc, out = check(listed, write(listed, text), "--explain")
    assert rc == 0, out
    explained = next(line for line in out if line.startswith("[0] r: "))
    assert "and Lemmy removes their posts and comments" in explained, explained
    assert "moderators not exempt" in explained, explained
