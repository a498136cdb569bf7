"""SIGTERM that lands while the daemon's main thread waits must still stop it.

The handler sets the stop event in the main thread. If the main thread is itself inside
``stop.wait()`` holding the Event's lock at that moment, ``set()`` waits on that lock
forever: the daemon hangs on SIGTERM until the container runtime kills it with -9.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import faulthandler, logging, os, signal, sys, threading, time
    from datetime import timedelta
    from types import SimpleNamespace

    from modbot.modes.daemon import Daemon, RunSignals
    from modbot.store import Store

    faulthandler.dump_traceback_later(20, exit=True)  # a hang exits 1, with the stack
    logging.basicConfig(level=logging.INFO)


    class WorstMoment(threading.Event):
        # The signal arrives while wait() holds the Event's lock, as it can in real life
        # whenever wait's timeout ends.
        def wait(self, timeout=None):
            with self._cond:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(100_000):  # the handler runs here, lock held
                    pass
            return super().wait(timeout)


    Daemon.cycle = lambda self: None  # no Lemmy here: the wait is what is tested
    policy = SimpleNamespace(
        schedule=SimpleNamespace(
            poll_every=timedelta(seconds=60),
            sweep_cron=None,
            sweep_since=None,
            store_sweep_cron=None,
        )
    )
    pipeline = SimpleNamespace(store=Store(sys.argv[1]), dry_run=True, run_id="w23")
    with RunSignals(once=False) as signals:
        signals.starting = False
        signals.stop = WorstMoment()
        # However the loop waits, a SIGTERM comes one second in.
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        code = Daemon(pipeline, policy, stop=signals.stop, hangup=signals.hangup).run()
    print("stopped", code)
    """
)


def test_sigterm_while_the_main_thread_waits_on_stop_still_stops_the_daemon(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "state.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "stopped 0"
    assert "SIGTERM received" in done.stderr
    assert "stopped after 0 cycles" in done.stderr
