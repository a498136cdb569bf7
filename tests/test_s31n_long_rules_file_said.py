"""A long rules file with no alias in it (3,000 short rules, under the size limit) was
refused in the words for a YAML alias bomb ('a "billion laughs" file?'): the admin saw
an attack where there was none, and nothing said what to do. Now the limit it is over,
and what to do, are said; an alias bomb is still said as one."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import problems

RULE = "  - {{name: r{i}, if: {{labels: [csam]}}, then: {{report: true}}}}\n"


def test_a_long_plain_file_is_told_the_limit_not_an_alias_bomb(tmp_path: Path) -> None:
    text = "rules:\n" + "".join(RULE.format(i=i) for i in range(3000))
    assert len(text.encode()) < 200_000  # under the size limit: the values' limit speaks
    said = problems(tmp_path, text)
    # 12 values a rule and `rules`: the 20,001st is in the 1,667th rule, on line 1,668
    assert said == [
        "rules.yaml:1668: YAML error: more than 20,000 values (keys, values and list items) "
        "by this line, the limit for a rules file (the shipped one has about 300, a thousand "
        "short rules about 12,000): merge rules that act alike (one rule takes a list of "
        "labels, types or hash lists)"
    ]


def test_aliases_past_the_limit_are_still_said_as_a_possible_bomb(tmp_path: Path) -> None:
    text = (
        "x: &a [" + ", ".join(["lol"] * 150) + "]\n"
        "y: [" + ", ".join(["*a"] * 150) + "]\n"
        "rules: []\n"
    )
    said = problems(tmp_path, text)
    assert len(said) == 1 and said[0].startswith("rules.yaml:2: YAML error: more than 20000")
    assert 'a "billion laughs" file?' in said[0]
