"""A placeholder missing a brace (`{{rule}`) would reach Lemmy as written, braces and
all: check-rules says so with the line, as it does for an unknown placeholder."""

from __future__ import annotations

import pytest

from modbot.cli import main

RULES = """rules:
  - name: nsfw
    priority: 10
    if: {labels: [nsfw]}
    then:
      report: %s
"""


@pytest.mark.parametrize("text", ['"{{rule}"', '"{rule}}: see the modlog"', '"flagged {{"'])
def test_a_placeholder_with_one_brace_missing_is_refused_with_its_line(tmp_path, capsys, text):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % text)
    assert main(["check-rules", str(path)]) == 1
    said = capsys.readouterr()
    out = said.out + said.err
    assert "rules.yaml:6" in out and "no other half" in out, out


def test_whole_placeholders_and_plain_braces_are_taken(tmp_path, capsys):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % '"{{rule}} ({scores.nsfw} is not one) {{ scores.nsfw }}"')
    assert main(["check-rules", str(path)]) == 0, capsys.readouterr()
