"""`modbot report`'s walk over a window says what Lemmy's listings kept from it, as
`modbot sweep` does.

Before: a sweep's closing lines named what Lemmy's listings never show (posts their
authors deleted, posts of deleted communities) and where 0.19 cut a listing (df722cb),
but `modbot report --rescan`, the same dry-run walk over a window, said nothing of it:
its report read as if the window had been looked at whole. Now it prints the same line
once, and its report's warnings hold it."""

from __future__ import annotations

import json

from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

SAID = "not reached through Lemmy's listings"


def _said(out: str, command: str) -> str:
    lines = [line for line in out.splitlines() if SAID in line]
    assert len(lines) == 1, out  # said once
    assert lines[0].startswith(f"{command} "), lines[0]
    return lines[0].split(": ", 1)[1]


def test_a_rescan_report_says_what_lemmys_listings_kept_from_it(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="ok")
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)

    assert main(["report", "--rescan", "--since", "1d", "--out", "report.json"]) == 0
    said = _said(capsys.readouterr().out, "report")
    assert "posts their authors deleted, and their comments" in said
    assert "posts in deleted communities, and their comments" in said
    assert "`modbot sweep --store` walks pict-rs' whole store" in said
    warnings = json.loads((tmp_path / "report.json").read_text())["summary"]["warnings"]
    assert [w for w in warnings if SAID in w] == [said]

    # the same words as the sweep's
    assert main(["sweep", "--dry-run", "--since", "1d"]) == 0
    assert _said(capsys.readouterr().out, "sweep") == said
    assert lemmy.mutating_requests() == []
