"""A dry run's warning on the bot account's settings says that on Lemmy 0.19 the NSFW
posts a site ban removed are missed too.

Before: with the account's ``show_nsfw`` off, a dry run warned "NSFW posts are read with
show_nsfw=true", which holds for the listings, not for 0.19's ``GET /user``: the one
listing of the posts a site ban removed, which follows the account's setting with no
query override. Now the warning says those are missed on 0.19; on 1.0 (each removal in
the modlog, read by id) it does not."""

from __future__ import annotations

import json
import logging

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

MISSED = "on Lemmy 0.19 the NSFW posts a site ban removed are missed too"


@pytest.mark.both_lemmys
def test_a_dry_runs_settings_warning_says_what_0_19_misses_of_nsfw_posts(
    fake_lemmy, tiny, tmp_path, monkeypatch, caplog
):
    lemmy = fake_lemmy
    assert not lemmy.person(lemmy.cast.bot.id).show_nsfw
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)

    assert main(["sweep", "--dry-run", "--report", "sweep.json"]) == 0
    warnings = json.loads((tmp_path / "sweep.json").read_text())["summary"]["warnings"]
    (warning,) = [w for w in warnings if "hide content from its listings" in w]
    assert "NSFW posts are read with show_nsfw=true" in warning
    if lemmy.api_version == "v3":  # Lemmy 0.19
        assert MISSED in warning and "GET /user" in warning, warning
    else:
        assert "site ban" not in warning, warning
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning in logged  # the log says it as the report does
    assert lemmy.mutating_requests() == []
