"""A long rules file refused at its 20,000-value limit (or for nesting too deep) on a
line with a placeholder or a score test in it was told a syntax hint too: 'text with
{{placeholders}} must be in quotes' beside a placeholder already in quotes, or 'put
comparisons in quotes' beside a quoted comparison. The file has no syntax error: those
hints sent the admin to fix what is right. Now only a syntax error gets a hint."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems

PLACEHOLDER = (
    '  - {{name: r{i}, if: {{labels: [csam]}}, then: {{report: "seen {{{{sha256}}}}"}}}}\n'
)


def test_a_file_past_the_values_limit_gets_no_syntax_hint(tmp_path: Path) -> None:
    text = "rules:\n" + "".join(PLACEHOLDER.format(i=i) for i in range(2200))
    assert len(text.encode()) < 200_000  # under the size limit: the values' limit speaks
    (said,) = problems(tmp_path, text)
    assert said.startswith("rules.yaml:") and "YAML error: more than 20,000 values" in said
    assert said.endswith("(one rule takes a list of labels, types or hash lists)"), said
    assert "in quotes" not in said, said


def test_a_placeholder_out_of_quotes_still_gets_its_hint(tmp_path: Path) -> None:
    text = (
        "rules:\n  - name: a\n    if: {labels: [csam]}\n    then:\n      report: {{sha256}} seen\n"
    )
    (said,) = problems(tmp_path, text)
    assert said.startswith("rules.yaml:5: YAML syntax error"), said
    assert said.endswith('text with {{placeholders}} must be in quotes: "..."'), said
