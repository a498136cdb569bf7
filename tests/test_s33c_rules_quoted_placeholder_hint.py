"""A syntax error on a line whose {{placeholder}} is in quotes (text left after the
closing quote: `report: "seen {{sha256}}" now`) was told 'text with {{placeholders}}
must be in quotes', which it is: the admin was sent to fix what is right. Now that hint
is given only where a placeholder is out of quotes."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems

HEAD = "rules:\n  - name: a\n    if: {labels: [csam]}\n    then:\n"


def test_a_quoted_placeholder_gets_no_hint_to_quote_it(tmp_path: Path):
    (said,) = problems(tmp_path, HEAD + '      report: "seen {{sha256}}" now\n')
    assert said.startswith("rules.yaml:5: YAML syntax error"), said
    assert "{{placeholders}} must be in quotes" not in said, said


def test_a_placeholder_out_of_quotes_still_gets_it(tmp_path: Path):
    (said,) = problems(tmp_path, HEAD + "      report: {{sha256}} seen\n")
    assert said.startswith("rules.yaml:5: YAML syntax error"), said
    assert said.endswith('text with {{placeholders}} must be in quotes: "..."'), said
