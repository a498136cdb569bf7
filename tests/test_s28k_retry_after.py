"""A rate limit's ``Retry-After`` (Lemmy 1.0's 429, or a proxy's) is honoured: the
retry waits as long as it says, in seconds, fractions of one, or as an HTTP date; one
longer than a request may wait fails the request at once, saying when Lemmy takes it
again, and it is not sent again before then (no retry storm against a rate-limited
Lemmy)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyUnavailable
from modbot.lemmy.v4 import LemmyClientV4


@contextmanager
def rate_limited(retry_after: str, times: int = 1) -> Iterator[tuple[str, list[str]]]:
    """A server answering its first ``times`` requests 429 with ``Retry-After:
    retry_after``, the rest 200 ``{}``: its URL, and the requests it got."""
    got: list[str] = []

    class Limited(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append(f"{self.command} {self.path}")
            limited = len(got) <= times
            body = b'{"error":"too_many_requests"}' if limited else b"{}"
            self.send_response(429 if limited else 200)
            if limited:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Limited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, slept: list[float]) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=slept.append)


def http_date_in(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def test_a_fractional_retry_after_is_waited_in_full():
    slept: list[float] = []
    with rate_limited("1.5") as (url, got):
        assert client_for(url, slept).api("GET", "/site", auth=False) == {}
    assert slept == [1.5]  # not the first backoff step, 0.5 s: refused again
    assert got == ["GET /api/v3/site"] * 2


def test_a_retry_after_given_as_a_date_is_waited_until_then():
    slept: list[float] = []
    with rate_limited(http_date_in(30)) as (url, got):
        assert client_for(url, slept).api("GET", "/site", auth=False) == {}
    assert len(slept) == 1 and 27 <= slept[0] <= 30
    assert got == ["GET /api/v3/site"] * 2


@pytest.mark.parametrize("retry_after", ["120", "7200.5", "date"])
def test_a_retry_after_longer_than_a_request_waits_fails_it_now_and_not_again_early(
    retry_after,
):
    """Lemmy (or a proxy) takes no more requests for minutes: the action fails at once
    for a later cycle, saying when, instead of a retry at 60 s that Lemmy refuses
    again (five times per action); nor is it sent again before that time."""
    if retry_after == "date":
        retry_after, seconds = http_date_in(3600), 3600.0
    else:
        seconds = float(retry_after)
    slept: list[float] = []
    with rate_limited(retry_after, times=100) as (url, got):
        client = client_for(url, slept)
        with pytest.raises(LemmyUnavailable) as first:
            client.api("POST", "/post/remove", auth=False, json={"post_id": 1})
        said = str(first.value)
        assert said.startswith("POST /post/remove: rate limited: Lemmy takes requests again in ")
        assert f"again in {seconds:.0f} s" in said or f"again in {seconds - 1:.0f} s" in said
        assert "a later cycle tries it" in said
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        assert f"{when:%H:%M}" in said or f"{when - timedelta(minutes=1):%H:%M}" in said
        assert first.value.error == "rate_limit_error"
        assert slept == [] and got == ["POST /api/v3/post/remove"]
        # the next cycle's try, before that time: not sent at all
        with pytest.raises(
            LemmyUnavailable, match=r"again in .*; not sent before then \(said \d+ s ago\)"
        ):
            client.api("POST", "/post/remove", auth=False, json={"post_id": 1})
        assert slept == [] and got == ["POST /api/v3/post/remove"]


def test_a_removal_on_lemmy_1_0_rate_limited_for_minutes_is_left_for_a_later_cycle():
    """Lemmy 1.0 with its `message` bucket spent for 10 minutes (an admin's setting):
    the removal is refused with Retry-After ~600; one try, no retry at 60 s."""
    with FakeLemmy(version="1.0", rate_limit=(4, 600)) as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        slept: list[float] = []
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=slept.append
        )
        client.login()
        while httpx.get(f"{lemmy.url}/api/v4/site").status_code != 429:
            pass  # someone else at this address spends the bucket
        for _ in range(3):  # three cycles within the 10 minutes
            with pytest.raises(LemmyUnavailable, match="rate limited: Lemmy takes requests again"):
                client.remove_post(post.id, "spam")
        removals = [r for r in lemmy.requests if r.path == "/api/v4/post/remove"]
        assert [r.status for r in removals] == [429]
        assert slept == []
        assert not lemmy.post(post.id).removed


def test_a_rate_limited_login_is_not_tried_again_before_its_retry_after(monkeypatch):
    """Lemmy 1.0's login bucket (a few an hour) says when it takes logins again: no login
    is tried before then, even past the fixed wait after a refused login."""
    monkeypatch.setattr("modbot.lemmy.transport.LOGIN_REFUSED_WAIT", 0.0)
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600)) as lemmy:
        standard_cast(lemmy)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        client.login()  # the hour's one login
        lemmy.invalidate_tokens("modbot")
        for _ in range(3):  # three actions, or cycles, within the hour
            with pytest.raises(LemmyUnavailable, match=r"it takes them again in 3[56]"):
                client.login()
        logins = [r.status for r in lemmy.requests if r.path == "/api/v4/account/auth/login"]
        assert logins == [200, 429]
