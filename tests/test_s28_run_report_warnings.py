"""`modbot run --once --report` and `modbot sweep --store --report` carry the run's
warnings in their report, as `modbot sweep --report` does: before, only the terminal
and the log said them (here: the bot account's settings, which hide content from its
listings), and the report an admin reads later did not."""

from __future__ import annotations

import json

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

HIDDEN = "hide content from its listings"


@pytest.mark.parametrize(
    "argv",
    [["run", "--once", "--dry-run"], ["sweep", "--store", "--dry-run"]],
    ids=["once", "store"],
)
def test_the_reports_warnings_are_the_runs(argv, fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    lemmy = fake_lemmy
    assert not lemmy.person(lemmy.cast.bot.id).show_nsfw  # the warning's cause
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main([*argv, "--report", "out.json"]) == 0
    warnings = json.loads((tmp_path / "out.json").read_text())["summary"].get("warnings", [])
    assert [w for w in warnings if HIDDEN in w], warnings  # before: none
    assert lemmy.mutating_requests() == []
