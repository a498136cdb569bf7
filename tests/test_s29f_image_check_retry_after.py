"""The check whether an image is gone (after a purge, on the instance's image route)
honours a 429's or 503's ``Retry-After`` as every other request does: waited in full
when short, and when longer than a request waits, the check fails at once for a
later cycle, saying when, instead of six requests in 15 s that are refused too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyUnavailable
from modbot.lemmy import LemmyClient


@contextmanager
def refusing(status: int, retry_after: str, times: int) -> Iterator[tuple[str, list[str]]]:
    """An instance whose image route answers its first ``times`` requests ``status``
    with ``Retry-After: retry_after``, then 404 (the image is gone)."""
    got: list[str] = []

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            got.append(self.path)
            refused = len(got) <= times
            self.send_response(status if refused else 404)
            if refused:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, slept: list[float]) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=slept.append)


@pytest.mark.parametrize("status", [429, 503])
def test_a_short_retry_after_is_waited_before_the_image_is_checked_again(status):
    slept: list[float] = []
    with refusing(status, "4", times=1) as (url, got):
        assert client_for(url, slept).image_gone("abc.png") is True
    assert slept == [4.0]  # not 0.5 s: refused again
    assert got == ["/pictrs/image/abc.png"] * 2


@pytest.mark.parametrize("status", [429, 503])
def test_a_long_retry_after_fails_the_check_at_once_and_holds_it_back(status):
    slept: list[float] = []
    with refusing(status, "900", times=100) as (url, got):
        client = client_for(url, slept)
        for _ in range(2):  # the second: another action's check, before then
            with pytest.raises(LemmyUnavailable, match=r"Lemmy takes requests again in 9\d\d s"):
                client.image_gone("abc.png")
    assert slept == [] and got == ["/pictrs/image/abc.png"]
