"""`modbot check-rules` and a condition or an action indented out of `if:` / `then:`.

Before, a condition one indent too far left (`labels:` beside `if:`, not under it) was
refused as "unknown key 'labels' in rule 'a'; allowed here: name, priority, if, then,
moderators_exempt", which does not say that `labels` is right, only misplaced. Now the
message says where it belongs: under `if:` for a condition, under `then:` for an action."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems


def test_a_condition_and_an_action_out_of_place_are_said_to_belong_under_if_and_then(
    tmp_path: Path,
):
    lines = problems(
        tmp_path,
        """
        rules:
          - name: nsfw
            if:
              type: post
            labels: nsfw
            then:
              report: true
          - name: csam
            if: {labels: csam}
            then: {report: true}
            remove: true
        """,
    )
    assert lines == [
        "rules.yaml:5: unknown key 'labels' in rule 'nsfw': a condition, write it under `if:`",
        "rules.yaml:11: unknown key 'remove' in rule 'csam': an action, write it under `then:`",
    ]
