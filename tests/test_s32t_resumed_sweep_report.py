"""The report of a sweep that resumes an interrupted walk holds the whole walk.

Before: `modbot sweep --report FILE`, stopped (Ctrl-C, SIGTERM, a failure, kill -9) and
run again with the same command, wrote FILE anew with the decisions of its own part
only, marked complete, over the first part's INCOMPLETE report: what the walk found and
did before the stop (the posts of its first pages) was in no report, although the
report said the walk was complete and gave the earlier part's warnings. Now the walk
keeps the runs of `modbot sweep` that walked it beside its position, and the report of
the run that resumes it holds their decisions too, and says which runs they are."""

from __future__ import annotations

import json
import os
import signal

from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import hostile
from modbot.cli import main
from modbot.lemmy import v3


def _decided(path) -> set[tuple[str, object]]:
    report = json.loads(path.read_text())
    return {(d["item"]["kind"], d["item"]["id"]) for d in report["decisions"]}


def test_a_resumed_sweep_reports_the_whole_walk(fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    lemmy = fake_lemmy
    upload = lemmy.add_upload(lemmy.cast.alice, hostile.jpeg(color=(10, 200, 30)))
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok", url=upload.url)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    communities = v3.LemmyClient.communities

    def then_sigterm(client, cursor):  # the operator stops it once past the posts
        os.kill(os.getpid(), signal.SIGTERM)
        return communities(client, cursor)

    monkeypatch.setattr(v3.LemmyClient, "communities", then_sigterm)
    assert main(["sweep", "--dry-run", "--all", "--report", "sweep.json"]) == 130
    first = json.loads((tmp_path / "sweep.json").read_text())
    assert first["summary"]["complete"] is False
    assert ("post", post.id) in _decided(tmp_path / "sweep.json")
    first_run = first["decisions"][0]["run_id"]
    monkeypatch.setattr(v3.LemmyClient, "communities", communities)
    capsys.readouterr()

    assert main(["sweep", "--dry-run", "--all", "--report", "sweep.json"]) == 0
    out = capsys.readouterr().out
    whole = json.loads((tmp_path / "sweep.json").read_text())
    assert whole["summary"]["complete"] is True
    assert ("post", post.id) in _decided(tmp_path / "sweep.json"), "the first part's post"
    parts = whole["summary"]["walk_runs"]
    assert parts[0] == first_run and len(parts) == 2, parts
    assert "its earlier parts' decisions included" in out, out

    # the next walk starts afresh: its report is its own
    assert main(["sweep", "--dry-run", "--all", "--report", "next.json"]) == 0
    nxt = json.loads((tmp_path / "next.json").read_text())
    assert len(nxt["summary"]["walk_runs"]) == 1 and first_run not in nxt["summary"]["walk_runs"]
    assert lemmy.mutating_requests() == []
