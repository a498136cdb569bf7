"""The daemon's `run --report FILE` when the report's temporary files cannot be written
(the temporary directory's disk full: SQLite says "database or disk is full"): the cycle
says it could not write the report and the daemon goes on and stops cleanly with 0, as
for the report file's own disk full. Before, that error (sqlite3's, not an OSError)
went out of each cycle as a traceback from the scheduler, and at SIGTERM out of the
daemon's stop: no "stopped after" line and a traceback where exit status 0 was due."""

from __future__ import annotations

import logging
import sqlite3
import threading

from support.bot import Bot, remote_photo
from support.policies import write_sweep_rules

import modbot.modes.report_stream
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline


def test_a_report_whose_temporary_files_fail_is_said_and_the_daemon_stops_with_0(
    fake_lemmy, photos, tiny, tmp_path, caplog, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = remote_photo(lemmy, photos, tiny.others[0])
    lemmy.add_post(cast.pics, cast.bob, name="p", url=url)
    rules = write_sweep_rules(tmp_path, lemmy, tiny.checkpoint, poll_every="1s")
    bot = Bot(lemmy, tmp_path, rules)
    policy = load_policy(rules)

    def disk_full(self, key):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(modbot.modes.report_stream._DiskCounts, "_new", disk_full)
    caplog.set_level(logging.INFO)
    stop = threading.Event()
    with Pipeline(Settings.from_env(bot.env), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy, report=tmp_path / "run.html", stop=stop)

        def stop_after_two_cycles() -> None:
            while daemon.cycles < 2 and not stop.is_set():
                stop.wait(0.05)
            stop.set()

        threading.Thread(target=stop_after_two_cycles, daemon=True).start()
        assert daemon.run() == 0
    text = caplog.text
    assert "could not write the report" in text and "database or disk is full" in text
    assert "raised an exception" not in text, "no traceback from the scheduler"
    assert "stopped after 2 cycles" in text or "stopped after 3 cycles" in text
