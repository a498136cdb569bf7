"""One helper (``modes.report.reported_if_failed``) ends a sweep, a store sweep and a
rescan report that failed part-way: what it did first, the report marked incomplete,
then the error. A report that cannot be written is a warning of the command's logger,
never what hides the failure itself."""

from __future__ import annotations

import logging
from functools import partial

from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"


def _setup(lemmy, photos, tiny, tmp_path, monkeypatch):
    cast = lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    # the communities are read after the posts (with their comments) and the uploads
    lemmy.fail_next("/api/v3/community/list", times=50, status=400, error="couldnt_find_community")
    # the report's place is taken by a folder once the walk started (a --report or --out
    # that cannot be written is refused before it: test_s31q_sweep_report_path_first)
    lemmy.tamper("/api/v3/post/list", partial(_taken, tmp_path / "r.json"), times=1)


def _taken(path, body):
    path.mkdir(exist_ok=True)  # the report cannot be written there now
    return body


def test_a_failed_sweep_whose_report_cannot_be_written_still_says_its_error(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys, caplog
):
    _setup(fake_lemmy, photos, tiny, tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        assert main(["sweep", "--all", "--dry-run", "--report", "r.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_find_community" in err
    assert "failed; done and recorded before: 1 items" in out, out
    assert "(run it again to resume)" in out and "report (incomplete)" not in out
    (warning,) = [r for r in caplog.records if "could not write the report" in r.getMessage()]
    assert warning.name == "modbot.run" and "r.json" in warning.getMessage()


def test_a_failed_rescan_whose_report_cannot_be_written_still_says_its_error(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys, caplog
):
    _setup(fake_lemmy, photos, tiny, tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING):
        assert main(["report", "--rescan", "--since", "1d", "--out", "r.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_find_community" in err
    assert "failed; done and recorded before: 1 items" in out, out
    assert "report (incomplete)" not in out
    (warning,) = [r for r in caplog.records if "could not write the report" in r.getMessage()]
    assert warning.name == "modbot.report" and "r.json" in warning.getMessage()
