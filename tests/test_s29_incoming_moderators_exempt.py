"""`moderators_exempt` on a `type: incoming` rule (the upload gate's).

A file at the gate has no author or community yet, so whether moderators are exempt
means nothing there. Before, check-rules took the key silently, and an admin who wrote
`moderators_exempt: true` to spare moderators' uploads believed they were spared. Now it
is a warning naming the line."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write

RULES = """
rules:
  - name: gate csam
    if: {{type: incoming, labels: csam}}
    then: {{reject: true}}
{extra}"""


def test_moderators_exempt_at_the_gate_is_a_warning(tmp_path: Path):
    rc, out = check(tmp_path, write(tmp_path, RULES.format(extra="    moderators_exempt: true\n")))
    assert rc == 0, out
    (line,) = [x for x in out if "moderators_exempt" in x]
    assert line.startswith(
        "rules.yaml:5: warning: rule 'gate csam': moderators_exempt does nothing"
    )


def test_without_it_no_warning(tmp_path: Path):
    rc, out = check(tmp_path, write(tmp_path, RULES.format(extra="")))
    assert rc == 0, out
    assert not [x for x in out if "warning" in x], out
