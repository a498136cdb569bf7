"""`modbot check-rules` and a rule written with another word for `if:` or `then:`.

Before, `when:` (for `if:`) was answered "unknown key 'when' (did you mean 'then'?)",
the closest spelling but the wrong word: the rule has a `then:` already, and the admin
was sent to write a second one. Now the words a moderator may write for a rule's
conditions (when, conditions) or actions (actions, do) are answered with the key meant."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems


def test_when_is_answered_with_if(tmp_path: Path):
    lines = problems(
        tmp_path,
        """
        rules:
          - name: csam
            when: {labels: csam}
            then: {report: true}
        """,
    )
    assert "rules.yaml:3: unknown key 'when' in rule 'csam' (write `if:`)" in lines
    assert not any("did you mean 'then'" in line for line in lines)


def test_actions_is_answered_with_then(tmp_path: Path):
    lines = problems(
        tmp_path,
        """
        rules:
          - name: csam
            if: {labels: csam}
            actions: {report: true}
        """,
    )
    assert "rules.yaml:4: unknown key 'actions' in rule 'csam' (write `then:`)" in lines
