"""`modbot check-rules` and the names in a rule's `community: {name: ...}` condition.

docs/rules.md: the condition takes the forms of `exempt.communities`, where an entry that
could never match (two names in one text, an actor URL ending in `/`,
`c/name@instance`) is an error. Before, the same entries in a rule's condition passed
check-rules, and the rule then never matched, without a word. Now each is an error at
its line saying what to write, as in `exempt.communities`."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
rules:
  - name: nsfw in pics
    if:
      labels: nsfw
      community: {{name: {names}}}
    then: {{report: true}}
"""


def test_names_that_never_match_are_refused_with_their_line(tmp_path: Path):
    lines = problems(
        tmp_path,
        RULES.format(names='["pics, memes", "https://lemmy.example/c/art/", c/cats@lemmy.example]'),
    )
    assert len(lines) == 3, lines
    assert all(
        line.startswith("rules.yaml:5: rule 'nsfw in pics': if.community.name.") for line in lines
    )
    assert "write a list, one name each: [pics, memes]" in lines[0]
    assert "write https://lemmy.example/c/art (or art@lemmy.example)" in lines[1]
    assert "never names a community" in lines[2]


def test_the_forms_of_exempt_communities_pass(tmp_path: Path):
    names = '[pics, "!memes@lemmy.example", "https://lemmy.example/c/art"]'
    rc, out = check(tmp_path, write(tmp_path, RULES.format(names=names)))
    assert rc == 0, out
