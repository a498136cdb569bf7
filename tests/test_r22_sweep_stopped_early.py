"""A sweep stopped (SIGTERM, Ctrl-C) before it read its first page has walked nothing:
it says so and exits 130, as any interrupted sweep does, not "done" with 0; and a
daemon's sweep slice whose time is up before its first page leaves the sweep requested."""

from __future__ import annotations

import json
import os
import signal

from support.cli import bot_environment
from support.policies import write_rules

import modbot.doctor
from modbot.cli import main


def test_a_sweep_stopped_before_its_first_page_is_interrupted_not_done(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="old", body="nothing to see")
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    connect_first = modbot.doctor.connect_first

    def then_sigterm(pipeline):  # the operator stops it while it logs in
        connect_first(pipeline)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(modbot.doctor, "connect_first", then_sigterm)
    assert main(["sweep", "--all", "--dry-run", "--report", "r.json"]) == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume): 0 items" in out, out
    # the report of a sweep that did not walk it all says so
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["complete"] is False


def test_a_sweep_slice_out_of_time_before_its_first_page_keeps_the_request(
    fake_lemmy, pipeline_for, monkeypatch
):
    import threading

    import modbot.modes.daemon as daemon_module
    from modbot.modes.daemon import Daemon

    class Spent(threading.Event):  # the slice's budget went on the start (feeds, retries)
        def is_set(self) -> bool:
            return True

        def only_spent(self) -> bool:
            return True

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="old", body="nothing to see")
    pipeline = pipeline_for(lemmy)
    daemon = Daemon(pipeline, pipeline.policy)
    daemon.request_sweep()
    monkeypatch.setattr(daemon_module, "_Slice", lambda stop, seconds: Spent())
    said, _stats = daemon._sweep_slice()
    assert said.startswith("sweep in progress"), said
    assert pipeline.store.get_cursor(daemon.sweep_request_cursor)  # still requested
    monkeypatch.undo()
    said, _stats = daemon._sweep_slice()  # a slice with time: the walk ends
    assert said.startswith("sweep finished"), said
    assert not pipeline.store.get_cursor(daemon.sweep_request_cursor)
