"""`modbot report` (from the record) decides each record again as the bot decided it:
an account's age is its age when the bot decided the item (the record's decided_at),
not when the report is made. Else every `author: {account_age: ...}` rule stops
matching in the report a few days after the bot acted on it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from support.bot import remote_photo
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

YOUNG = """
  - name: young accounts
    if: {author: {account_age: "< 2d"}}
    then: {report: "a young account's image"}
"""


def _env(lemmy, tmp_path, monkeypatch, rules):
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)


def _earlier(text: str, by: timedelta) -> str:
    when = datetime.fromisoformat(text.replace("Z", "+00:00")) - by
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_account_age_rule_matches_in_the_report_as_it_did_in_the_run(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast  # bob's account is a day old
    post = lemmy.add_post(
        cast.pics, cast.bob, name="hi", url=remote_photo(lemmy, photos, "chelsea")
    )
    rules = write_rules(tmp_path, lemmy, tiny, rules=YOUNG)
    _env(lemmy, tmp_path, monkeypatch, rules)
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    run = json.loads((tmp_path / "run.json").read_text())
    (decided,) = [d for d in run["decisions"] if d["item"]["id"] == post.id]
    assert decided["rule"] == "young accounts"

    # Two days pass: the record says all this happened two days before the report.
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        for row_id, text in db.execute("SELECT id, record FROM decisions").fetchall():
            record = json.loads(text)
            record["decided_at"] = _earlier(record["decided_at"], timedelta(days=2))
            item = record["item"]
            for key in ("published", "author_published"):
                if item.get(key):
                    item[key] = _earlier(item[key], timedelta(days=2))
            db.execute(
                "UPDATE decisions SET record = ?, decided_at = ? WHERE id = ?",
                (json.dumps(record), record["decided_at"], row_id),
            )

    assert main(["report", "--since", "7d", "--out", "report.json"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    (again,) = [d for d in report["decisions"] if d["item"]["id"] == post.id]
    assert again["rule"] == "young accounts"
    assert [(a["action"], a["status"]) for a in again["actions"]] == [("report", "planned")]
    (match,) = again["matched"]
    assert "author account age 1d" in " ".join(match["conditions"]), match
