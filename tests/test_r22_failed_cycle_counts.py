"""A `modbot run --once` or `modbot sweep` whose cycle fails part-way says what it did
first: the items it decided, the actions it took, in its output and (run --once) in the
heartbeat the cron healthcheck reads, and still exits 1 with the error."""

from __future__ import annotations

import json

from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main
from modbot.modes.cronbeat import once_cursor
from modbot.store import Store

RULES = "\n  - name: bad\n    if: {hash_list: known-bad}\n    then: {remove: bad}\n"


def _setup(lemmy, photos, tiny, tmp_path, monkeypatch, failing, error):
    cast = lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    for i in range(2):
        url = remote_photo(lemmy, photos, tiny.others[0], f"{i}.jpg")
        lemmy.add_post(cast.pics, cast.alice, name=f"p{i}", url=url)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    state = tmp_path / "state.sqlite3"
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, state, rules, pictrs=True)
    # a listing read after the posts' page fails (a Lemmy error no retry mends)
    lemmy.fail_next(failing, times=50, status=400, error=error)
    return state


def test_a_failed_run_once_prints_and_records_what_it_did_first(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    state = _setup(
        fake_lemmy,
        photos,
        tiny,
        tmp_path,
        monkeypatch,
        "/api/v3/comment/list",
        "couldnt_get_comments",
    )
    assert main(["run", "--once", "--report", "run.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_get_comments" in err
    assert "failed; done and recorded before: 3 items" in out and "remove:done 1" in out, out
    store = Store(state)
    try:
        beat = json.loads(store.get_cursor(once_cursor(False)))
    finally:
        store.close()
    assert "couldnt_get_comments" in beat["last_error"]
    assert "3 items" in beat["last_summary"] and "remove:done 1" in beat["last_summary"]
    assert beat["last_ok"] is None
    assert_incomplete_report(tmp_path / "run.json", out)


def test_a_failed_sweep_prints_what_it_did_first(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    # the communities are read after the posts (with their comments) and the uploads
    _setup(
        fake_lemmy,
        photos,
        tiny,
        tmp_path,
        monkeypatch,
        "/api/v3/community/list",
        "couldnt_find_community",
    )
    assert main(["sweep", "--all", "--report", "sweep.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_find_community" in err
    assert "failed; done and recorded before: 3 items" in out and "remove:done 1" in out, out
    assert_incomplete_report(tmp_path / "sweep.json", out)


def assert_incomplete_report(path, out):
    """--report: what the failed cycle recorded first, marked incomplete."""
    assert f"report (incomplete): {path.name}" in out, out
    written = json.loads(path.read_text())
    assert written["summary"]["complete"] is False
    assert len(written["decisions"]) == 3


def test_a_failed_rescan_report_writes_what_it_saw_marked_incomplete(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    # the communities are read after the posts (with their comments) and the uploads
    _setup(
        fake_lemmy,
        photos,
        tiny,
        tmp_path,
        monkeypatch,
        "/api/v3/community/list",
        "couldnt_find_community",
    )
    assert main(["report", "--rescan", "--since", "1d", "--out", "report.json"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_find_community" in err
    # a dry run: what the rule would do, planned
    assert "failed; done and recorded before: 3 items" in out and "remove:planned 1" in out, out
    assert_incomplete_report(tmp_path / "report.json", out)
