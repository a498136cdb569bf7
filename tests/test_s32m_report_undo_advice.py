"""A report's "what next" names the command that undoes what was done. When the latest
decision on a flagged image is one that did nothing itself (a dry run's, after the live
run banned the author), `modbot undo THAT_ID --yes` undid nothing: the advice now undoes
the item's decisions, and following it lifts the bot's ban."""

from __future__ import annotations

import json
import re

import pytest
from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""


@pytest.mark.slow
def test_following_the_reports_undo_advice_lifts_the_ban_a_live_run_placed(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="q", url=remote_photo(lemmy, photos, BAD, "bad.jpg")
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once"]) == 0
    assert lemmy.person(cast.bob.id).banned
    assert main(["run", "--dry-run", "--once"]) == 0  # a later dry run decides it too

    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    hit = next(d for d in doc["decisions"] if d["item"] == {**d["item"], "id": post.id})
    assert hit["redecided_from"]["dry_run"] is True  # the latest decision: the dry run's
    (command,) = re.findall(r"modbot (undo [^;]*?) --yes", hit["what_next"])
    assert main([*command.split(), "--yes"]) == 0, capsys.readouterr()
    assert not lemmy.person(cast.bob.id).banned, capsys.readouterr().out
