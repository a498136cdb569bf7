"""`modbot check-rules` and a removal rule that another, tried first, always beats.

Among removal rules the first that matches wins (docs/rules.md). Before, a file with
`csam: remove` at priority 90 and `csam from a new account: remove and purge` at priority
0 passed check-rules without a word: the admin believed the images of new accounts were purged, but
every image the second rule matches, the first matches too, so the second was only ever
recorded as superseded. Now check-rules warns at the later rule, naming the one that
beats it and what to change."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write

RULES = """
rules:
  - name: csam
    priority: 90
    if: {{labels: [csam, underage]}}
    then: {{remove: true}}
  - name: csam from a new account
    priority: {priority}
    if: {{type: post, labels: csam, author: {{account_age: "< 7d"}}}}
    then: {{remove: true, purge_image: true}}
"""


def warnings(tmp_path: Path, text: str) -> list[str]:
    rc, out = check(tmp_path, write(tmp_path, text))
    assert rc == 0, out
    return out[:-1]


def test_a_removal_rule_beaten_by_one_tried_first_is_warned_of(tmp_path: Path):
    (line,) = warnings(tmp_path, RULES.format(priority=0))
    assert line.startswith(
        "rules.yaml:8: warning: rule 'csam from a new account' can never act: rule 'csam' "
    )
    assert "priority 90" in line and "first matching removal rule wins" in line


def test_the_same_rules_in_the_order_that_works_pass(tmp_path: Path):
    assert warnings(tmp_path, RULES.format(priority=100)) == []


def test_rules_that_each_match_what_the_other_does_not_pass(tmp_path: Path):
    text = """
    rules:
      - name: csam
        priority: 90
        if: {type: post, labels: csam, scores: {csam: "> 0.05"}}
        then: {remove: true}
      - name: csam, unsure
        if: {type: [post, comment], labels: csam}
        then: {remove: true}
      - name: broken
        if: {unreadable: true}
        then: {remove: true}
      - name: not downloaded
        if: {fetch_failed: true}
        then: {remove: true}
      - name: moderators too
        moderators_exempt: false
        if: {labels: csam}
        then: {remove: true}
      - name: a report is no removal
        if: {labels: csam}
        then: {report: true}
    """
    assert warnings(tmp_path, text) == []
