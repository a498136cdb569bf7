"""Where a rules file means text, YAML may read a date (`name: 2026-01-05`), a truth
(`name: yes`) or a number (`report: 404`): check-rules says what YAML read, in words,
and to put it in quotes, with the line."""

from __future__ import annotations

import pytest

from modbot.cli import main

RULES = """rules:
  - name: %s
    priority: 10
    if: {labels: [nsfw]}
    then:
      report: "flagged"
"""


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("2026-01-05", "got the date 2026-01-05: put it in quotes"),
        ("yes", "got true (YAML reads yes, no, on and off as true or false): put it in quotes"),
        ("404", "got 404: put it in quotes"),
    ],
)
def test_a_name_yaml_reads_as_no_text_says_put_it_in_quotes(tmp_path, capsys, name, read):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % name)
    assert main(["check-rules", str(path)]) == 1
    said = capsys.readouterr()
    out = said.out + said.err
    assert "rules.yaml:2" in out and f"name: expected text, {read}" in out, out


def test_the_same_name_in_quotes_is_taken(tmp_path, capsys):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % '"2026-01-05"')
    assert main(["check-rules", str(path)]) == 0, capsys.readouterr()
