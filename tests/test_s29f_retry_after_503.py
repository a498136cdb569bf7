"""A 503 with ``Retry-After`` (a proxy in front of Lemmy or pict-rs in maintenance, a
load balancer shedding load; RFC 9110 gives a 503 the header as a 429) is honoured as
a rate limit's is: the retry waits as long as it says, and one longer than a request
waits fails the request at once and holds it back until then, instead of five retries
in 15 s that the proxy refuses too, for every action of the cycle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyUnavailable
from modbot.lemmy import LemmyClient
from modbot.lemmy.pictrs import Pictrs

PAGE = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"


@contextmanager
def unavailable(retry_after: str, times: int = 1) -> Iterator[tuple[str, list[str]]]:
    """A server answering its first ``times`` requests with a proxy's 503 page and
    ``Retry-After: retry_after``, the rest 200 ``{}``: its URL, and the requests it got."""
    got: list[str] = []

    class Down(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append(f"{self.command} {self.path.split('?')[0]}")
            down = len(got) <= times
            body = PAGE if down else b"{}"
            self.send_response(503 if down else 200)
            if down:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "text/html" if down else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, slept: list[float]) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=slept.append)


def test_a_503_s_short_retry_after_is_waited_in_full():
    slept: list[float] = []
    with unavailable("3") as (url, got):
        assert client_for(url, slept).api("GET", "/site", auth=False) == {}
    assert slept == [3.0]  # not 0.5 s, then 1, 2...: refused again each time
    assert got == ["GET /api/v3/site"] * 2


def test_a_503_s_long_retry_after_fails_the_action_now_and_holds_it_back():
    """Lemmy behind a proxy in maintenance for 10 minutes: the removal is sent once,
    fails at once for a later cycle saying when, and the next try before then is not
    sent at all."""
    slept: list[float] = []
    with unavailable("600", times=100) as (url, got):
        client = client_for(url, slept)
        with pytest.raises(LemmyUnavailable) as first:
            client.api("POST", "/post/remove", auth=False, json={"post_id": 1})
        said = str(first.value)
        assert said.startswith("POST /post/remove: HTTP 503: Lemmy takes requests again in 600 s")
        assert "a later cycle tries it" in said
        assert slept == [] and got == ["POST /api/v3/post/remove"]
        with pytest.raises(LemmyUnavailable, match=r"HTTP 503: Lemmy takes requests again in "):
            client.api("POST", "/post/remove", auth=False, json={"post_id": 1})
        assert slept == [] and got == ["POST /api/v3/post/remove"]


def test_pict_rs_behind_a_proxy_answering_503_with_retry_after_is_not_retried_early():
    """pict-rs' internal API behind a proxy that says it is down for 5 minutes: the
    purge is left for a later cycle, and the message names pict-rs, not Lemmy."""
    slept: list[float] = []
    with unavailable("300", times=100) as (url, got):
        pictrs = Pictrs(client_for(url, slept), url, Secret("key"))
        with pytest.raises(LemmyUnavailable) as failed:
            pictrs.purge("abc.png")
    assert str(failed.value).startswith(
        "pict-rs purge: HTTP 503: pict-rs takes requests again in 300 s"
    )
    assert slept == [] and got == ["POST /internal/purge"]
