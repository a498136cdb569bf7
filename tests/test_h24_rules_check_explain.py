"""`modbot check-rules --explain` says what each rule does, in the order they are tried."""

from __future__ import annotations

import textwrap
from pathlib import Path

from modbot.cli import main

RULES = """
exempt:
  users: [trusted@lemmy.test]
  hash_lists: [innocent]
hash_lists:
  bad: {kind: sha256, file: bad.sha256}
  innocent: {kind: sha256, file: bad.sha256}
rules:
  - name: report nsfw
    if: {type: [post, comment], labels: nsfw, community: {nsfw: false}}
    then: {report: "nsfw here"}
  - name: known bad
    priority: 100
    moderators_exempt: false
    if: {hash_list: bad}
    then:
      remove: true
      ban: {scope: site, duration: 7d, remove_data: true}
      notify_admins: "known bad {{permalink}}"
  - name: new accounts
    priority: 5
    if: {scores: {nsfw: "> 0.02"}, author: {account_age: "< 3d"}}
    then: {delete_image: true}
"""


def test_each_rule_in_the_order_tried(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.sha256").write_text("")
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(RULES).lstrip("\n"))
    assert main(["check-rules", "--explain"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "[100] known bad: if on hash list bad, then remove the item ('Removed by modbot: "
        "{{rule}}'), ban whoever posted or uploaded it (or whose profile shows it) "
        "site-wide for 1w, and Lemmy removes their posts and comments, every community they "
        "are the first moderator of (with everyone's posts in it) and their uploads (Lemmy "
        "0.19.10 and earlier: purges the files of their avatar, banner and image posts instead, "
        "even where others show them), notify the admins; moderators not exempt",
        "[5] new accounts: if score nsfw > 0.02 and account age < 3d, then delete this "
        "alias of the image; moderators exempt",
        "[0] report nsfw: if type post or comment and label nsfw and community not marked "
        "NSFW, then report ('nsfw here'); moderators exempt",
        "never acted on: admins, user trusted@lemmy.test, images on innocent",
    ]
    assert out[4].startswith("rules.yaml: valid: 3 rules") and len(out) == 5


def test_without_explain_only_the_summary(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.sha256").write_text("")
    (tmp_path / "rules.yaml").write_text(textwrap.dedent(RULES).lstrip("\n"))
    assert main(["check-rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("rules.yaml: valid: 3 rules")
