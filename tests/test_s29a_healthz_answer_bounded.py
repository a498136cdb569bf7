"""`modbot healthcheck --http URL` reads the /healthz answer up to a bound, in a bounded
time. A gate's or worker's /healthz is a few hundred bytes; something else answering at
that address (a misconfigured proxy, a streaming endpoint, a hostile server) could send
an answer without end, and the check read all of it into memory (and, being valid JSON
saying ok, called it healthy). An answer that drips a byte at a time never tripped the
per-read timeout either: the check hung, holding Docker's healthcheck slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from modbot.cli import main
from modbot.modes.health import HEALTHZ_MAX_BYTES, http_health

CHUNK = b"x" * 65536


@contextmanager
def streaming(*, total: int, pause: float = 0.0) -> Iterator[tuple[str, list[int]]]:
    """A server whose /healthz streams (chunked) ``{"ok": true, "pad": "xxx...`` up to
    ``total`` bytes and then closes the JSON, a chunk each ``pause`` seconds; the list
    holds how many bytes it got to send before the client went away."""
    sent = [0]

    class Stream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self._chunk(b'{"ok": true, "pad": "')
                while sent[0] < total:
                    piece = CHUNK if not pause else b"x"
                    self._chunk(piece)
                    if pause:
                        time.sleep(pause)
                self._chunk(b'"}')
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up: what a bounded reader does

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            sent[0] += len(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", sent
    finally:
        server.shutdown()
        server.server_close()


def test_a_healthz_answer_without_end_is_cut_off_and_not_healthy(capsys):
    # 48 MiB stands in for "without end" (the old check read it all, and called it ok)
    with streaming(total=48 * 2**20) as (url, sent):
        assert main(["healthcheck", "--http", url]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err == (
        f"{url}: no answer (an answer larger than {HEALTHZ_MAX_BYTES // 1024} KiB, far more "
        "than a /healthz of modbot's sends; not read further: is the URL a gate's or a "
        "worker's /healthz?)\n"
    )
    assert sent[0] < 8 * 2**20, "read no further than the bound (and what was in flight)"


def test_a_healthz_answer_that_drips_ends_at_the_timeout():
    with streaming(total=10**9, pause=0.05) as (url, _):
        started = time.monotonic()
        ok, line = http_health(url, timeout=1.0)
        took = time.monotonic() - started
    assert not ok
    assert line == f"{url}: no answer (not complete within 1s)"
    assert took < 5, "the timeout is for the whole answer, not each read"


def test_a_url_httpx_cannot_read_is_no_answer_not_a_traceback(capsys):
    assert main(["healthcheck", "--http", "http://[::1/healthz"]) == 1
    said = capsys.readouterr()
    assert said.err.startswith("http://[::1/healthz: no answer (InvalidURL: ")
