"""``run --once`` ends a cycle that failed part-way with the same helper as a sweep
(``modes.report.reported_if_failed``), its own step kept: what it did first printed and
in the heartbeat the cron healthcheck reads, a report that cannot be written a warning
of ``modbot.run``, never what hides the error itself."""

from __future__ import annotations

import json
import logging

from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main
from modbot.modes.cronbeat import once_cursor
from modbot.store import Store

RULES = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"


def test_a_failed_run_once_whose_report_cannot_be_written_still_says_and_records_it(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    state = tmp_path / "state.sqlite3"
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, state, rules, pictrs=True)
    lemmy.fail_next("/api/v3/comment/list", times=50, status=400, error="couldnt_get_comments")
    (tmp_path / "r.json").mkdir()  # the report's place is a folder: it cannot be written
    # `run` refuses such a --report before its cycle (d9e2162); one that stops being
    # writable during the cycle (a disk filled, a folder moved) is this test's case
    monkeypatch.setattr("modbot.modes.report.check_report_path", lambda report: None)

    with caplog.at_level(logging.WARNING):
        assert main(["run", "--once", "--report", "r.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_get_comments" in err
    line = next(s for s in out.splitlines() if s.startswith("run "))
    assert "(live) failed; done and recorded before: 1 items" in line and "remove:done 1" in line
    assert "report (incomplete)" not in out and "resume" not in line
    (warning,) = [r for r in caplog.records if "could not write the report" in r.getMessage()]
    assert warning.name == "modbot.run" and "r.json" in warning.getMessage()
    assert lemmy.post(post.id).removed

    store = Store(state)
    try:
        beat = json.loads(store.get_cursor(once_cursor(False)))
    finally:
        store.close()
    assert "couldnt_get_comments" in beat["last_error"]
    assert beat["last_summary"] == line.split(" (live) ", 1)[1]
