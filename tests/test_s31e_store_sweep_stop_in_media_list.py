"""`modbot sweep --store` stopped (SIGTERM) while Lemmy's media list is being retried
says no false warning, then or when it resumes.

The walk reads Lemmy's media list first (its alias -> uploader index). Before: a stop
while that read waited to be retried (Lemmy answering 502) gave the read up as
"stopping", which the walk took for a media list that could not be read: the run warned
"Lemmy's media list could not be read (...); a ban falls back to who posted the file",
kept it with the position, and the next run, which read the list, said it again at its
end as a warning of its earlier part. Now a stop is a stop: no warning is kept."""

from __future__ import annotations

import os
import signal

import pytest
from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.lemmy import v3

SWEEP = ["sweep", "--store", "--page-size", "2", "--files-per-second", "0", "--dry-run"]
MEDIA = "/api/v3/admin/list_all_media"


@pytest.mark.timeout(120)
def test_a_stop_while_the_media_list_is_retried_warns_of_nothing(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    for i in range(3):
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.fail_next(MEDIA, times=2, status=502)  # Lemmy down; the stop comes first
    media = v3.LemmyClient.list_all_media

    def sigterm_first(client, *args, **kw):  # the operator stops it
        os.kill(os.getpid(), signal.SIGTERM)
        return media(client, *args, **kw)

    monkeypatch.setattr(v3.LemmyClient, "list_all_media", sigterm_first)
    assert main(SWEEP) == 130
    out = capsys.readouterr().out
    assert "(dry-run) interrupted (run it again to resume)" in out, out
    assert "media list could not be read" not in out, out

    monkeypatch.undo()  # Lemmy is back (its one 502 more is retried)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    monkeypatch.chdir(tmp_path)
    assert main(SWEEP) == 0
    out = capsys.readouterr().out
    assert "done: 3 of 3 stored files walked" in out, out
    assert "media list could not be read" not in out, out
