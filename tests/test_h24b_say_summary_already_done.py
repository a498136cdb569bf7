"""The run's one-line summary (``run --once``, ``sweep``) says an action done before (the
person banned already by the bot's action on their other post) as the reports do:
``already_done``, not ``skipped``, so that the line and the report agree."""

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


def test_the_run_line_says_already_done_as_the_report(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, BAD))
    again = remote_photo(lemmy, photos, BAD, "again.jpg")
    lemmy.add_post(cast.pics, cast.bob, name="b", url=again)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    capsys.readouterr()
    assert main(["run", "--once", "--report", "run.json"]) == 0
    assert lemmy.person(cast.bob.id).banned

    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("run "))
    assert "actions ban:already_done 1, ban:done 1, remove:done 2;" in line
    assert "skipped" not in line
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["summary"]["by_action"] == {
        "ban": {"done": 1, "already_done": 1},
        "remove": {"done": 2},
    }
