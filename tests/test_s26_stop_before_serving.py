"""A SIGTERM that comes as soon as a worker's or gate's port file says it is up (before
uvicorn's own handlers are in place) stops it cleanly, exit 0: before, a no-op handler
swallowed it in that window and the process served on (a test's stop hung), or the
default handler killed it without its cleanup. Both `modbot worker` and `modbot gate` set
the handlers with ``WorkerServer.stop_on_signals`` before writing the port file."""

from __future__ import annotations

import signal
import time

from starlette.applications import Starlette

from classifier.service import WorkerServer, bind_socket


class _App:
    app = Starlette()


def test_a_stop_before_the_server_runs_ends_run_at_once():
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    sock = bind_socket("127.0.0.1", 0)
    try:
        server = WorkerServer(_App(), sock)  # type: ignore[arg-type]
        server.stop_on_signals()
        signal.raise_signal(signal.SIGTERM)  # before run(): uvicorn's handlers not set yet
        started = time.monotonic()
        server.run()  # returns (a swallowed stop would serve forever), raising nothing
        assert time.monotonic() - started < 10
    finally:
        sock.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
