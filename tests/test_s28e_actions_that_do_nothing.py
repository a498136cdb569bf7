"""`modbot check-rules` and an action that does nothing to the items its rule matches.

docs/rules.md: `remove` and `purge_item` do nothing to an upload or a profile image
(there is no post), a community's or the site's image has no author to ban, and a
community ban needs a community (an upload, an avatar has none). Before, such a rule
passed check-rules without a word: the admin believed uploaders were banned, and the
rule, being a removal rule, still won over the removal rules below it. Now check-rules
warns, naming the action and why; a rule whose every action does nothing can never act."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RULES = """
hash_lists:
  bad: {{kind: sha256, file: bad.sha256}}
rules:
  - name: the rule
    if: {{type: {type}, hash_list: bad}}
    then: {then}
"""


def warnings(tmp_path: Path, type_: str, then: str) -> list[str]:
    (tmp_path / "bad.sha256").write_text(f"{SHA}\n")
    rc, out = check(tmp_path, write(tmp_path, RULES.format(type=type_, then=then)))
    assert rc == 0, out
    return out[:-1]


def test_a_community_ban_of_an_uploader_can_never_act(tmp_path: Path):
    (line,) = warnings(tmp_path, "upload", "{ban: {scope: community, duration: 7d}}")
    assert line.startswith("rules.yaml:6: warning: rule 'the rule' can never act on upload")
    assert "then.ban does nothing (a community ban needs a community" in line


def test_a_removal_of_a_profile_image_is_said_to_do_nothing(tmp_path: Path):
    (line,) = warnings(
        tmp_path, "[avatar, banner]", "{remove: true, ban: {scope: site, duration: permanent}}"
    )
    assert line.startswith("rules.yaml:6: warning: rule 'the rule': then.remove does nothing")
    assert "avatar" in line and "banner" in line


def test_a_ban_for_a_community_icon_is_said_to_do_nothing(tmp_path: Path):
    (line,) = warnings(tmp_path, "community_icon", "{purge_image: true, ban: {duration: 7d}}")
    assert "then.ban does nothing" in line and "no author" in line


def test_actions_that_act_on_some_of_the_items_are_not_warned_of(tmp_path: Path):
    for type_, then in (
        ("any", "{remove: true, ban: {scope: community, duration: 7d}}"),
        ("[post, upload]", "{remove: true, purge_image: true}"),
        ("avatar", "{purge_image: true, ban: {duration: permanent}}"),
    ):
        assert warnings(tmp_path, type_, then) == [], (type_, then)
