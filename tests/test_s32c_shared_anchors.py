"""Shared blocks in rules.yaml: an admin who wants one `then:` (or `if:`) for several
rules writes it once under a top-level key starting `x-` (as Docker Compose does) and
uses it with `*name`; the key itself is ignored. A problem in such a block is said once,
naming every rule that uses it, not once per rule."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

SHARED = """
x-actions:
  takedown: &takedown
    remove: "Removed: {{rule}}"
    report: "modbot: {{rule}}"
  hashes: &on-bad-list
    hash_list: bad
rules:
  - name: known bad
    if: *on-bad-list
    then: *takedown
  - name: flagged csam
    if: {labels: csam}
    then: *takedown
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
"""


def test_a_top_level_x_key_holds_shared_anchors_and_is_ignored(tmp_path: Path) -> None:
    from modbot.config.policy import load_policy

    (tmp_path / "bad.sha256").write_text("")
    rc, out = check(tmp_path, "--explain", write(tmp_path, SHARED))
    assert rc == 0, out
    assert not any("x-actions" in line for line in out), out
    explained = "\n".join(out)
    assert "known bad: if on hash list bad, then report" in explained
    assert "flagged csam: if label csam, then report" in explained
    policy = load_policy(tmp_path / "rules.yaml")
    assert [r.name for r in policy.rules] == ["known bad", "flagged csam"]
    assert all(r.then.remove == "Removed: {{rule}}" for r in policy.rules)


def test_another_unknown_top_level_key_is_still_refused_and_says_x(tmp_path: Path) -> None:
    (tmp_path / "bad.sha256").write_text("")
    said = problems(tmp_path, SHARED.replace("x-actions:", "shared_actions:"))
    assert len(said) == 1, said
    assert said[0].startswith("rules.yaml:1: unknown key 'shared_actions'")
    assert "x-" in said[0]


def test_a_problem_in_a_shared_block_is_said_once_naming_each_rule(tmp_path: Path) -> None:
    said = problems(
        tmp_path,
        """
        x-ban: &ban
          ban: {duration: 7x}
        rules:
          - name: a
            if: {labels: csam}
            then: *ban
          - name: b
            if: {labels: underage}
            then: *ban
          - name: c
            if: {labels: nsfw}
            then: *ban
        """,
    )
    assert said == [
        "rules.yaml:6: rule 'a': then.ban.duration: unknown time unit 'x' in '7x': use s, m, "
        "h, d or w, or permanent (written at &ban, line 2; the same in rule 'b', line 9, "
        "and rule 'c', line 12)"
    ]


def test_the_rule_that_writes_the_anchor_is_said_and_its_users_once(tmp_path: Path) -> None:
    said = problems(
        tmp_path,
        """
        rules:
          - name: a
            if: {labels: csam}
            then: &takedown
              remove: true
              ban: {duration: 7x}
          - name: b
            if: {labels: underage}
            then: *takedown
          - name: c
            if: {labels: nsfw}
            then: *takedown
        """,
    )
    unit = "unknown time unit 'x' in '7x': use s, m, h, d or w, or permanent"
    assert said == [
        f"rules.yaml:6: rule 'a': then.ban.duration: {unit}",
        f"rules.yaml:9: rule 'b': then.ban.duration: {unit} (written at &takedown, line 6; "
        "the same in rule 'c', line 12)",
    ]


def test_a_message_that_names_no_rule_is_said_once_with_the_other_lines(tmp_path: Path) -> None:
    said = problems(
        tmp_path,
        """
        x-then: &notify
          notify_admins: "modbot: {{autor}}"
        rules:
          - name: a
            if: {labels: csam}
            then: *notify
          - name: b
            if: {labels: underage}
            then: *notify
        """,
    )
    assert len(said) == 1, said
    assert said[0].startswith("rules.yaml:6: unknown placeholder {{autor}} (did you mean")
    assert said[0].endswith("(written at &notify, line 2; the same at line 9)")
