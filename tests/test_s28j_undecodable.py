"""Answers httpx cannot turn into a response (a body its Content-Encoding does not
describe, a redirect loop) are bad answers said in words, not httpx tracebacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer
from modbot.lemmy import LemmyClient


@contextmanager
def broken_lemmy() -> Iterator[str]:
    """Answers /nodeinfo/* with a redirect to itself, anything else with a body
    that says it is gzip and is not."""

    class Broken(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/nodeinfo/"):
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"not": "gzip"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)


def test_a_body_that_is_not_its_content_encoding_is_a_bad_answer():
    with broken_lemmy() as url, pytest.raises(LemmyBadAnswer) as err:
        client_for(url).api("GET", "/site", auth=False)
    assert str(err.value).startswith("GET /api/v3/site: ")
    assert "not what its Content-Encoding says" in str(err.value)


def test_a_redirect_loop_is_a_bad_answer():
    with broken_lemmy() as url, pytest.raises(LemmyBadAnswer, match="redirects too many times"):
        client_for(url).nodeinfo()
