"""`modbot sweep --store` stopped (SIGTERM) while it starts and Lemmy is down ends as
interrupted (exit 130), as a stop anywhere else does, not as a failure.

The store sweep reads the site's and the admins' images before its walk. Before: a
SIGTERM while that read waited to be retried (Lemmy answering 502) gave the request up
as "stopping", and the command failed with exit status 1 and "modbot sweep: GET /site:
HTTP 502; not retried: modbot is stopping": a service manager or cron counted a failure.
Now it says "interrupted (run it again to resume)", writes its --report marked
incomplete, exits 130, and the next run walks the store."""

from __future__ import annotations

import json
import os
import signal

import pytest
from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

import modbot.modes.store_sweep
from modbot.cli import main

SWEEP = ["sweep", "--store", "--files-per-second", "0", "--dry-run", "--report", "r.json"]


@pytest.mark.timeout(120)
def test_a_stop_while_the_admins_are_read_from_a_lemmy_down_is_an_interruption(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    for i in range(2):
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    read_admins = modbot.modes.store_sweep.read_admins

    def lemmy_down_then_sigterm(*args, **kwargs):
        lemmy.fail_next("/api/v3/site", times=1, status=502)  # Lemmy goes down
        os.kill(os.getpid(), signal.SIGTERM)  # the operator stops it
        return read_admins(*args, **kwargs)

    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", lemmy_down_then_sigterm)
    lemmy.clear_requests()
    assert main(SWEEP) == 130
    out = capsys.readouterr().out
    assert "(dry-run) interrupted (run it again to resume)" in out, out
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["complete"] is False
    assert not [r for r in lemmy.requests if r.path == "/internal/hashes"]  # nothing walked

    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", read_admins)
    assert main(SWEEP) == 0
    out = capsys.readouterr().out
    assert "done: 2 of 2 stored files walked" in out, out
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["complete"] is True
