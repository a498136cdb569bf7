"""A sweep resumed after a stop, a failure or kill -9 says the whole walk's warnings.

Before: what the walk warned of (the modlog could not be read, a paging loop) lived in
the run's memory only. The run that resumed the walk from its stored position did not
meet those listings again, so its terminal summary and its `--report` showed a clean
walk: the admin never learned that the posts moderators removed were not looked at.
Now the walk keeps its warnings beside its position, written with it, says them again
once each in the run that ends it, and forgets them with the position."""

from __future__ import annotations

import json
import os
import signal

from support import acting
from support.bot import wait_for
from support.cli import bot_environment
from support.policies import write_rules

from modbot import source
from modbot.cli import main
from modbot.lemmy import v3

MODLOG_400 = "the modlog could not be read (GET /api/v3/modlog: HTTP 400 couldnt_find_modlog)"
REMOVED = f"removed posts: {MODLOG_400}; the posts moderators removed and their comments"
BANNED = f"posts removed with a ban: {MODLOG_400}"


def _warned(out: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in out.splitlines() if "warning: " in line]


def _modlog_reads(lemmy) -> list:
    return [r for r in lemmy.requests if r.server == "lemmy" and r.path == "/api/v3/modlog"]


def _bot(lemmy, tiny, tmp_path, monkeypatch) -> None:
    lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok")
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


def _with(lines: list[str], said: str) -> list[str]:
    return [line for line in lines if said in line]


def test_a_sweep_stopped_after_a_warning_says_it_when_resumed(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    lemmy.fail_next("/api/v3/modlog", status=400, error="couldnt_find_modlog")
    communities = v3.LemmyClient.communities

    def then_sigterm(client, cursor):  # the operator stops it once past the modlog
        os.kill(os.getpid(), signal.SIGTERM)
        return communities(client, cursor)

    monkeypatch.setattr(v3.LemmyClient, "communities", then_sigterm)
    assert main(["sweep", "--dry-run"]) == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume)" in out, out
    assert len(_with(_warned(out), REMOVED)) == 1, out
    monkeypatch.setattr(v3.LemmyClient, "communities", communities)

    # resumed: the modlog is not read again, and the run that ends the walk still says
    # what its first part met, on the terminal and in its report, once
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run", "--report", "rest.json"]) == 0
    out = capsys.readouterr().out
    assert " (dry-run) done: " in out, out
    assert _modlog_reads(lemmy) == []
    assert len(_with(_warned(out), REMOVED)) == 1, out
    warnings = json.loads((tmp_path / "rest.json").read_text())["summary"]["warnings"]
    assert len(_with(warnings, REMOVED)) == 1, warnings

    # forgotten with the position: the next walk, from its start, reads the modlog
    # (whole now) and warns of nothing it met
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run", "--report", "next.json"]) == 0
    out = capsys.readouterr().out
    assert _modlog_reads(lemmy)
    assert _with(_warned(out), "modlog") == [], out
    warnings = json.loads((tmp_path / "next.json").read_text())["summary"]["warnings"]
    assert _with(warnings, "modlog") == [], warnings
    assert lemmy.mutating_requests() == []


def _failing_after_the_modlog(lemmy) -> None:
    """Both modlog listings fail (two warnings), then the media list fails the sweep:
    all in one step of the walk, no batch handed out in between."""
    lemmy.fail_next("/api/v3/modlog", times=2, status=400, error="couldnt_find_modlog")
    lemmy.fail_next("/api/v3/admin/list_all_media", status=400, error="unknown")


def test_a_sweep_failed_after_its_warnings_says_them_when_resumed(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    _failing_after_the_modlog(lemmy)
    assert main(["sweep", "--dry-run", "--report", "part.json"]) == 1
    warnings = json.loads((tmp_path / "part.json").read_text())["summary"]["warnings"]
    assert len(_with(warnings, REMOVED)) == 1 and len(_with(warnings, BANNED)) == 1, warnings
    capsys.readouterr()

    lemmy.clear_requests()
    assert main(["sweep", "--dry-run", "--report", "rest.json"]) == 0
    out = capsys.readouterr().out
    assert _modlog_reads(lemmy) == []  # resumed at the media list
    said = _warned(out)
    assert len(_with(said, REMOVED)) == 1 and len(_with(said, BANNED)) == 1, out
    warnings = json.loads((tmp_path / "rest.json").read_text())["summary"]["warnings"]
    assert len(_with(warnings, REMOVED)) == 1 and len(_with(warnings, BANNED)) == 1, warnings
    assert lemmy.mutating_requests() == []


def test_a_resumed_sweep_past_the_warnings_kept_says_how_many_more(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    monkeypatch.setattr(source, "MAX_KEPT_WARNINGS", 1)
    _failing_after_the_modlog(lemmy)
    assert main(["sweep", "--dry-run"]) == 1
    capsys.readouterr()

    assert main(["sweep", "--dry-run"]) == 0
    said = _warned(capsys.readouterr().out)
    assert len(_with(said, REMOVED)) == 1 and _with(said, BANNED) == [], said
    assert (
        "1 more warnings of this sweep's earlier part: in the log of the runs that met them" in said
    ), said


def test_a_sweep_killed_after_a_warning_says_it_when_resumed(tmp_path, tiny_checkpoint):
    """kill -9 once the walk is past the modlog: its warning was written with the
    position, and the real `modbot sweep` that resumes the walk says it."""
    lemmy = acting.fake_lemmy()
    try:
        s = acting.Scenario(lemmy, tmp_path, tiny_checkpoint)
        lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok")
        lemmy.fail_next("/api/v3/modlog", status=400, error="couldnt_find_modlog")
        lemmy.delay("/api/v3/community/list", 60, times=1)
        child = s.start("sweep", "--dry-run")
        wait_for(
            lambda: any(r.path == "/api/v3/community/list" for r in lemmy.requests),
            what="the sweep past the modlog",
        )
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        lemmy.delay("/api/v3/community/list", 0)

        lemmy.clear_requests()
        rest = s.run("sweep", "--dry-run", "--report", "rest.json")
        assert rest.returncode == 0, rest.stderr[-3000:]
        assert _modlog_reads(lemmy) == []
        assert len(_with(_warned(rest.stdout), REMOVED)) == 1, rest.stdout
        warnings = json.loads((tmp_path / "rest.json").read_text())["summary"]["warnings"]
        assert len(_with(warnings, REMOVED)) == 1, warnings
        assert lemmy.mutating_requests() == []
    finally:
        lemmy.stop()
