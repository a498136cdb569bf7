"""A stop is not held up by the store walk's pacing: `sweep --store` (and the daemon's
store slices) wait between pages on the stop event, not in a sleep that a SIGTERM
cannot end (systemd's stop timeout is 90 s; a slow pace waits long between files)."""

from __future__ import annotations

import os
import signal
import threading
import time

from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main


def test_a_sigterm_during_the_walks_pause_ends_the_sweep_at_once(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    for i in range(3):
        fake_lemmy.add_upload(fake_lemmy.cast.alice, jpeg(i))
    rules = write_rules(tmp_path, fake_lemmy, tiny, known_bad=[], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    # one file every 20 s: after the first page the walk pauses ~20 s
    sweep = ["sweep", "--store", "--dry-run", "--page-size", "1", "--files-per-second", "0.05"]
    sent: list[float] = []

    def stop_it() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGTERM)

    timer = threading.Timer(4.0, stop_it)
    timer.start()
    try:
        assert main(sweep) == 130
    finally:
        timer.cancel()
    ended = time.monotonic()
    assert sent and ended - sent[0] < 8, f"stopped {ended - sent[0]:.1f} s after SIGTERM"
    assert "interrupted (run it again to resume)" in capsys.readouterr().out
