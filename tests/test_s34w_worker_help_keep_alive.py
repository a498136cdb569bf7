"""`modbot worker --help` told an admin that an idle keep-alive connection is closed
after 30 s; since 101bd64 the worker keeps one 120 s (longer than any client's own, so
the client ends it). An admin sizing a proxy's upstream keep-alive before the worker
(nginx's keepalive_timeout, under the worker's so the proxy ends it) by the help's 30 s
would set one the worker outlives, the figure wrong in the one place that gives it.
The help now gives the server's own figure; its other figures are checked against
the constants they describe."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap

from classifier import service
from classifier.service import WorkerServer


def worker_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "worker", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return " ".join(done.stdout.split())  # the help's line breaks are no part of a figure


class _App:
    """A stand-in for a WorkerService: WorkerServer reads only its app (no model)."""

    async def app(self, scope, receive, send) -> None:  # pragma: no cover (never served)
        raise AssertionError("not served")


def test_help_gives_the_keep_alive_the_server_keeps():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        kept = WorkerServer(_App(), sock).server.config.timeout_keep_alive
    finally:
        sock.close()
    said = re.search(r"idle keep-alive connection is closed after (\d+) s", worker_help())
    assert said is not None, "the help says how long an idle connection is kept"
    assert int(said.group(1)) == kept


def test_help_figures_are_the_workers():
    text = worker_help()
    for figure in (
        f"headers must all come within {service.HEADER_TIMEOUT:g} s",
        f"stops coming for {service.BODY_IDLE_TIMEOUT:g} s",
        f"takes over {service.BODY_TIMEOUT:g} s in all",
        f"--max-pending + {service.CONNECTIONS_MARGIN}",
        f"waits up to {service.SET_SLOT_WAIT:g} s",
        f"at most {service.MAX_CONCEPTS_BYTES >> 10} KiB",
        f"the last {service.MODEL_FAILED_UNHEALTHY} images in a row",
    ):
        assert figure in text, textwrap.shorten(figure, 80)
