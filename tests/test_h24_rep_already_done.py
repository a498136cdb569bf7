"""An action not sent because it was done before (the person banned already by the
bot's action on their other post) is counted and shown as "already done" in a report:
its summary, its HTML and its JSON, never "not taken", which an admin reads as the bot
failing to act."""

from __future__ import annotations

import json

from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: bad
    if: {hash_list: known-bad}
    then:
      remove: bad
      ban: {scope: site, duration: permanent, reason: "known abusive"}
"""


def test_an_action_done_before_is_already_done_in_the_report(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first = lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, BAD))
    again = remote_photo(lemmy, photos, BAD, "again.jpg")
    second = lemmy.add_post(cast.pics, cast.bob, name="b", url=again)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once", "--report", "run.json"]) == 0
    assert lemmy.person(cast.bob.id).banned
    assert lemmy.post(first.id).removed and lemmy.post(second.id).removed

    run = json.loads((tmp_path / "run.json").read_text())
    assert run["summary"]["by_action"] == {
        "ban": {"done": 1, "already_done": 1},
        "remove": {"done": 2},
    }
    bans = sorted(
        (a["status"], a["detail"].split(":")[0])
        for d in run["decisions"]
        for a in d["actions"]
        if a["action"] == "ban"
    )
    assert bans == [("already_done", "already done"), ("done", "ban https")]

    # the report from the record: every action done by the run, already done
    assert main(["report", "--since", "1d", "--out", "record.json"]) == 0
    assert main(["report", "--since", "1d", "--out", "record.html"]) == 0
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["summary"]["by_action"] == {
        "ban": {"already_done": 2},
        "remove": {"already_done": 2},
    }
    assert {a["status"] for d in record["decisions"] for a in d["actions"]} == {"already_done"}
    page = (tmp_path / "record.html").read_text()
    assert "<th class=num>already done</th>" in page
    assert '<span class="status already_done">already done</span> already done: ban' in page
    assert "not taken" not in page
    assert lemmy.person(cast.bob.id).banned  # nothing undone by a report
