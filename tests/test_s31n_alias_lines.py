"""A rule that takes a value from a YAML anchor (`ban: *ban`, `<<: *defaults`) had its
problems said at the anchor's line: the admin was sent to the rule that wrote the
anchor, which may be fine where it is, and the rule at fault went unnamed by its line.
Now each problem is said at the line of the rule using the alias, with the anchor's
name and the line of the value."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems

RULES = """
rules:
  - name: a
    if: {hash_list: bad}
    then:
      ban: &ban
        duration: permanent
        remove_data: "yes"
  - name: b
    priority: 5
    if: {hash_list: bad, scope: local}
    then:
      ban: *ban
  - name: c
    if: {labels: [csam]}
    then:
      <<: *ban
      report: true
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
"""


def test_a_problem_in_an_aliased_value_is_said_where_the_alias_is(tmp_path: Path) -> None:
    (tmp_path / "bad.sha256").write_text("")
    said = problems(tmp_path, RULES)
    quoted = "expected true or false, got 'yes' in quotes (text): write true, without quotes"
    assert said == [
        f"rules.yaml:7: rule 'a': then.ban.remove_data: {quoted}",
        f"rules.yaml:12: rule 'b': then.ban.remove_data: {quoted} (written at &ban, line 7)",
        # a key merged from the anchor is no action: said at the `<<:` of rule c
        "rules.yaml:16: unknown key 'duration' in rule 'c': then; allowed here: remove, "
        "purge_item, purge_image, delete_image, ban, report, notify_admins, reject "
        "(written at &ban, line 6)",
        "rules.yaml:16: unknown key 'remove_data' in rule 'c': then (did you mean 'remove'?) "
        "(written at &ban, line 7)",
    ]
