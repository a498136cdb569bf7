"""`modbot report` (from the record) spares a file an exempt item of the window shows,
for every other decision on that file, as the run does: a comment showing a
moderator's image gets no purge_image, whether or not the file's upload was decided
in the window too (an upload is decided once, when it is first listed, often days
before a post shows it)."""

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


def _env(lemmy, tmp_path, monkeypatch, rules):
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


def _purges(doc, kind, item_id):
    return [
        (a["status"], a["detail"])
        for d in doc["decisions"]
        if (d["item"]["kind"], d["item"]["id"]) == (kind, item_id)
        for a in d["actions"]
        if a["action"] == "purge_image"
    ]


def test_a_report_spares_the_file_an_exempt_post_shows_without_its_upload(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD)
    _env(lemmy, tmp_path, monkeypatch, rules)
    # A moderator uploads the file; a run decides the upload (days ago, as it turns out).
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    assert main(["run", "--once", "--dry-run"]) == 0
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        changed = db.execute(
            "UPDATE decisions SET decided_at = '2020-01-01T00:00:00Z', "
            "record = json_set(record, '$.decided_at', '2020-01-01T00:00:00Z') "
            "WHERE item_kind = 'upload'"
        ).rowcount
    assert changed == 1

    # Now the moderator posts it (exempt) and bob shows the same image in a comment.
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    comment = lemmy.add_comment(post, cast.bob, content=f"![same]({upload.url})")
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    spared = f"the file is spared: the same file is shown by post {post.id}, exempt: {MODERATOR}"
    run = json.loads((tmp_path / "run.json").read_text())
    assert _purges(run, "comment", comment.id) == [("skipped", spared)]

    # The report of the last day decides the same: the file is spared.
    assert main(["report", "--since", "1d", "--out", "report.json"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert _purges(report, "comment", comment.id) == [("skipped", spared)]
    assert lemmy.mutating_requests() == []


def test_a_report_spares_the_upload_an_exempt_post_shows(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD)
    _env(lemmy, tmp_path, monkeypatch, rules)
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    assert main(["run", "--once", "--dry-run"]) == 0
    assert main(["report", "--since", "1d", "--out", "report.json"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    (hit,) = [d for d in report["decisions"] if d["item"]["kind"] == "upload"]
    assert hit["exempt"] == f"the same file is shown by post {post.id}, exempt: {MODERATOR}"
    assert hit["actions"] == []
    (mine,) = [d for d in report["decisions"] if d["item"]["kind"] == "post"]
    assert mine["exempt"] == MODERATOR and mine["actions"] == []
