"""`modbot report` (from the record) decides each record as of its decision time: the
dry run's simulated safety valve too. A dry-run daemon that found one known-bad post
every two hours planned each removal; the report over its window said the third was
"not taken: the safety valve" (all counted within the hour of the report's making)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""


@pytest.mark.slow
def test_the_reports_valve_counts_each_record_at_its_decision_time(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], valve=2, rules=RULES)
    state = tmp_path / "state.sqlite3"
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, state, rules)
    posts = []
    for n in range(3):  # a cycle each: one known-bad post found in each
        url = remote_photo(lemmy, photos, BAD, f"bad{n}.jpg")
        posts.append(lemmy.add_post(cast.pics, cast.bob, name=f"p{n}", url=url))
        assert main(["run", "--dry-run", "--once"]) == 0
    # ... cycles two hours apart, as a dry-run daemon's over an afternoon
    db = sqlite3.connect(state)
    now = datetime.now(UTC)
    for n, post in enumerate(posts):
        at = (now - timedelta(hours=6 - 2 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        db.execute(
            "UPDATE decisions SET decided_at = ?, record = json_set(record, '$.decided_at', ?) "
            "WHERE item_kind = 'post' AND item_id = ?",
            (at, at, str(post.id)),
        )
    db.commit()
    db.close()
    capsys.readouterr()

    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    by_post = {d["item"]["id"]: d for d in doc["decisions"] if d["item"]["kind"] == "post"}
    for post in posts:
        actions = [(a["action"], a["status"]) for a in by_post[post.id]["actions"]]
        assert actions == [("remove", "planned")], (post.id, by_post[post.id]["actions"])
    assert doc["summary"]["by_action"] == {"remove": {"planned": 3}}
    assert lemmy.mutating_requests() == []
