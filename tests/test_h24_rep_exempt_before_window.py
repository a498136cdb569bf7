"""`modbot report` (from the record) spares a file an exempt item shows when that item
was decided before the report's window, as the run does: the run's note of the exempt
item's file persists in the state file, and the run spares the file for ever after."""

from __future__ import annotations

import json
import sqlite3

from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

KNOWN_BAD = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""
MODERATOR = "the author moderates this community"


def _purges(doc, kind, item_id):
    return [
        (a["status"], a["detail"])
        for d in doc["decisions"]
        if (d["item"]["kind"], d["item"]["id"]) == (kind, item_id)
        for a in d["actions"]
        if a["action"] == "purge_image"
    ]


def _age(state, where):
    """Move the decisions ``where`` selects (and their items) back to 2020: decided
    long before the report's window."""
    old = "2020-01-01T00:00:00Z"
    with sqlite3.connect(state) as db:
        changed = db.execute(
            f"UPDATE decisions SET decided_at = '{old}', record = json_set(record, "
            f"'$.decided_at', '{old}', '$.item.published', '{old}') WHERE {where}"
        ).rowcount
    assert changed >= 1


def test_a_report_spares_a_file_whose_exempt_post_was_decided_before_the_window(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state.sqlite3"
    bot_environment(monkeypatch, lemmy, state, rules, pictrs=True)
    # A moderator posts the file (exempt); a run decides it, long ago as it turns out.
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    assert main(["run", "--once", "--dry-run"]) == 0
    _age(state, "item_kind IN ('post', 'upload')")

    # Now bob shows the same image in a comment: the run spares the file.
    comment = lemmy.add_comment(post, cast.bob, content=f"![same]({upload.url})")
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    spared = f"the file is spared: the same file is shown by post {post.id}, exempt: {MODERATOR}"
    run = json.loads((tmp_path / "run.json").read_text())
    assert _purges(run, "comment", comment.id) == [("skipped", spared)]

    # The report of the last day shows the same (the post is not in its window).
    assert main(["report", "--since", "1d", "--out", "report.json"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert {(d["item"]["kind"], d["item"]["id"]) for d in report["decisions"]} == {
        ("comment", comment.id)
    }
    assert _purges(report, "comment", comment.id) == [("skipped", spared)]
    assert report["summary"]["by_action"]["purge_image"] == {"skipped": 1}
    assert lemmy.mutating_requests() == []
