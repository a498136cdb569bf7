"""The report of a `modbot sweep` that resumes a walk holds the whole walk, the parts the
daemon walked in slices too. Before: a walk `modbot sweep` began, then carried on by the
daemon's slices (`schedule.sweep_cron`) and ended by `modbot sweep` again, reported the
`modbot sweep` runs' decisions only, marked complete: what the daemon's slices found (an
upload here) was in no sweep report."""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import hostile
from fakelemmy.state import now
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.lemmy import v3
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline
from modbot.source import Source


@pytest.mark.slow
def test_a_sweep_resumed_after_the_daemons_slices_reports_them(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    shown = lemmy.add_upload(lemmy.cast.alice, hostile.jpeg(color=(10, 200, 30)))
    post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok", url=shown.url)
    # older than a poll reads back: the walk's to find
    old = now() - timedelta(days=3)
    alone = lemmy.add_upload(lemmy.cast.bob, hostile.jpeg(color=(200, 20, 30)), published=old)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    upload_pages, communities = v3.LemmyClient.upload_pages, Source._walk_communities

    def then_sigterm(client, cursor):  # the operator stops it once past the posts
        os.kill(os.getpid(), signal.SIGTERM)
        return upload_pages(client, cursor)

    monkeypatch.setattr(v3.LemmyClient, "upload_pages", then_sigterm)
    assert main(["sweep", "--dry-run", "--all", "--report", "sweep.json"]) == 130
    monkeypatch.setattr(v3.LemmyClient, "upload_pages", upload_pages)
    # posted meanwhile: the daemon's poll decides it, not the walk (past the posts)
    fresh = lemmy.add_post(lemmy.cast.pics, lemmy.cast.bob, name="new", url=shown.url)

    # the daemon's slices walk on, through the uploads; stopped before the walk's end
    policy = load_policy(rules)
    with Pipeline(Settings.from_env(), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)

        def then_stop(source, *args):  # the walk past the uploads: the slice ends
            daemon.stop.set()
            return (yield from communities(source, *args))

        monkeypatch.setattr(Source, "_walk_communities", then_stop)
        daemon.request_sweep()
        daemon.cycle()
        assert pipeline.source.sweep_in_progress()
        polled_or_sliced = {
            (r["item"]["kind"], r["item"]["id"])
            for r in pipeline.store.decisions(run_id=pipeline.run_id)
        }
    assert {("upload", alone.alias), ("post", fresh.id)} <= polled_or_sliced, polled_or_sliced
    monkeypatch.setattr(Source, "_walk_communities", communities)
    capsys.readouterr()

    assert main(["sweep", "--dry-run", "--all", "--report", "sweep.json"]) == 0
    whole = json.loads((tmp_path / "sweep.json").read_text())
    decided = {(d["item"]["kind"], d["item"]["id"]) for d in whole["decisions"]}
    assert whole["summary"]["complete"] is True
    assert ("post", post.id) in decided, "the first part's post"
    assert ("upload", alone.alias) in decided, "the daemon's slice's upload"
    assert ("post", fresh.id) not in decided, "the daemon's poll is no part of the walk"
    assert lemmy.mutating_requests() == []
