"""`modbot check-rules` and a name written in other capitals (`CSAM`, `NSFW`).

Before, `labels: [CSAM]` was refused as "unknown label 'CSAM'; labels are anime, csam,
..." with no "did you mean": the suggestion compared spellings letter for letter, and
`CSAM` shares no letter with `csam`. Now a name that differs only in case is answered
with the name meant, for labels, scores and every other "did you mean"."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems


def test_a_label_and_a_score_in_capitals_are_answered_with_the_name_meant(tmp_path: Path):
    lines = problems(
        tmp_path,
        """
        rules:
          - name: nsfw
            if: {labels: [CSAM], scores: {NSFW: "> 0"}}
            then: {report: true}
        """,
    )
    assert lines[0].startswith("rules.yaml:3: unknown label 'CSAM' (did you mean 'csam'?)")
    assert lines[1].startswith("rules.yaml:3: unknown score 'NSFW' (did you mean 'nsfw'?)")
