"""An action a dry run does not plan twice (``already planned: ...`` by another
decision of the run, ``already decided for another image of this item``) is a repeat of
that decision's action, not an action the bot would not take: the reports (JSON, HTML)
and the run's summary line say it ``repeat``, each action counted planned once, never
"not taken" nor "skipped"."""

from __future__ import annotations

import json
import re

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


def test_a_dry_run_says_repeats_as_repeats(fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, BAD))
    lemmy.add_post(
        cast.pics,
        cast.bob,
        name="b",
        url=remote_photo(lemmy, photos, BAD, "b.jpg"),
        body=f"again ![again]({remote_photo(lemmy, photos, BAD, 'c.jpg')})",
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    capsys.readouterr()
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    assert lemmy.mutating_requests() == []

    # each action planned once, its repeats counted apart: one ban for bob, one removal
    # per post
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("run "))
    assert "actions ban:planned 1, ban:repeat 2, remove:planned 2, remove:repeat 1;" in line
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["summary"]["by_action"] == {
        "ban": {"planned": 1, "repeat": 2},
        "remove": {"planned": 2, "repeat": 1},
    }
    repeats = sorted(
        (a["action"], a["detail"].split(":")[0])
        for d in run["decisions"]
        for a in d["actions"]
        if a["status"] == "repeat"
    )
    assert repeats == [
        ("ban", "already decided for another image of this item"),
        ("ban", "already planned"),
        ("remove", "already decided for another image of this item"),
    ]

    # the report from the record (each decision made again, a dry run) says the same
    assert main(["report", "--since", "1d", "--out", "record.html"]) == 0
    page = (tmp_path / "record.html").read_text()
    assert "<th class=num>repeat</th>" in page
    assert re.search(r'<span class="status repeat">repeat</span> already planned: ban', page)
    assert '<span class="status repeat">repeat</span> already decided for another image' in page
    assert "not taken" not in page
