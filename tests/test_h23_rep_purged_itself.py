"""`modbot report` (from the record) after the bot removed a post and purged its image:
the post's decision is still the rule's, with what was done ("already done") and how to
undo it. The file is gone now, but it was there when the post was decided: only the
decisions made after the purge (its upload, a later comment showing it) are "purged",
as the run recorded them."""

from __future__ import annotations

import json

from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


def _env(lemmy, tmp_path, monkeypatch, rules):
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


def _by_item(path):
    doc = json.loads(path.read_text())
    return doc, {(d["item"]["kind"], d["item"]["id"]): d for d in doc["decisions"]}


def test_the_report_keeps_a_post_whose_image_the_bot_purged_under_its_rule(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.bob, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.bob, name="q", url=upload.url)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    _env(lemmy, tmp_path, monkeypatch, rules)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed and not lemmy.image_exists(upload.alias)
    # later, alice shows the purged image's link in a comment: removed by the rule
    comment = lemmy.add_comment(lemmy.post(post.id), cast.alice, content=f"![x]({upload.url})")
    assert main(["run", "--once"]) == 0
    sent = len(lemmy.mutating_requests())

    assert main(["report", "--since", "1d", "--out", "report.json"]) == 0
    assert main(["report", "--since", "1d", "--out", "report.html"]) == 0
    assert len(lemmy.mutating_requests()) == sent
    doc, by_item = _by_item(tmp_path / "report.json")
    hit = by_item[("post", post.id)]
    assert hit["rule"] == "known abusive image" and not hit["skipped"]
    assert [(a["action"], a["status"]) for a in hit["actions"]] == [
        ("remove", "already_done"),
        ("purge_image", "already_done"),
    ]
    assert all(a["detail"].startswith("already done") for a in hit["actions"])
    assert hit["what_next"].endswith(f"modbot undo {hit['redecided_from']['decision']} --yes.")
    assert doc["summary"]["by_rule"] == {"known abusive image": 2}
    # decided after the purge: the upload is gone with it, in the run and in the report;
    # the comment showing its link is decided on the file's recorded verdict, in both
    assert by_item[("upload", upload.alias)]["skipped"] == "purged"
    shown = by_item[("comment", comment.id)]
    assert shown["rule"] == "known abusive image" and not shown["skipped"]
    assert [(a["action"], a["status"]) for a in shown["actions"]] == [
        ("remove", "already_done"),
        ("purge_image", "already_done"),
    ]
    page = (tmp_path / "report.html").read_text()
    assert "Decisions with a rule (2)" in page and "known abusive image" in page
