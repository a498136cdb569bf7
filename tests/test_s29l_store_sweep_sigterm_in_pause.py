"""`modbot sweep --store` stops on a SIGTERM that lands at any moment of the walk's
pause between pages. The pause runs on the main thread, where Python runs the signal
handler; the handler sets the stop event. A pause that was the event's own ``wait()``
holds the event's (non-reentrant) lock for part of the time, and a SIGTERM landing then
blocked in ``set()`` forever: the sweep hung until killed."""

from __future__ import annotations

import signal
import sys
import threading
import time

import pytest
from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.store_source import StoreSource


@pytest.mark.timeout(30)  # a hang fails here (pytest-timeout's SIGALRM ends the wait)
def test_a_sigterm_landing_while_the_pause_holds_the_stop_events_lock_stops_the_sweep(
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
    pace = StoreSource._pace

    def pace_with_sigterm(self: StoreSource, started: float, walked: int) -> None:
        stop = self._stopped.__self__  # the sweep's stop event (its is_set)
        lock = stop._cond._lock

        def land(frame, event, arg):  # the SIGTERM lands at the pause's worst moment:
            if sent or threading.current_thread() is not threading.main_thread():
                return
            # while the main thread holds the stop event's lock, if the pause takes it;
            # else as the pause sleeps
            if lock.locked() or (event == "c_call" and getattr(arg, "__name__", "") == "sleep"):
                sent.append(time.monotonic())
                signal.raise_signal(signal.SIGTERM)  # its handler runs in this thread

        sys.setprofile(land)
        try:
            pace(self, started, walked)
        finally:
            sys.setprofile(None)

    monkeypatch.setattr(StoreSource, "_pace", pace_with_sigterm)
    assert main(sweep) == 130
    assert sent, "the walk never paused"
    assert time.monotonic() - sent[0] < 8, "the sweep went on after SIGTERM"
    out = capsys.readouterr()
    assert "interrupted (run it again to resume)" in out.out
    assert "sweep: stopping after the batch in hand" in out.err
