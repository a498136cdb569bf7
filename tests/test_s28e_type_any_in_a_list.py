"""`modbot check-rules` and `any` listed with other types.

`type: any` matches every kind of item but `incoming`. Before, `type: [post, any]`
passed check-rules and matched avatars, uploads, stored files and the rest too: the
list reads as "posts" (the admin added `any` thinking it widened something else, or
left it from an edit), but `any` swallowed it. Now `any` beside other types is an error
at its line saying to write `any` alone or the types without it."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
rules:
  - name: nsfw posts
    if:
      type: {types}
      labels: nsfw
    then: {{report: true}}
"""


def test_any_beside_other_types_is_refused(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(types="[post, any]"))
    assert line.startswith("rules.yaml:4: rule 'nsfw posts': if.type: ")
    assert "`any` alone" in line


def test_any_alone_and_a_list_of_types_pass(tmp_path: Path):
    for types in ("any", "[any]", "[post, comment]"):
        rc, out = check(tmp_path, write(tmp_path, RULES.format(types=types)))
        assert rc == 0, (types, out)
