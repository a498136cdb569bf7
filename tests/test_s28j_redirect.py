"""LEMMY_URL answering a redirect (http:// to https://, a moved instance): modbot does
not follow it (its login would go along, maybe to another host), and says so with the
address to set, instead of reading the empty answer as Lemmy's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyError


@contextmanager
def redirecting_to(target: str, status: int = 308) -> Iterator[str]:
    """A web server answering every request with a redirect to the same path on
    ``target``, with an empty body (as Caddy's and many proxies' are)."""

    class Redirect(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Location", f"{target}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)


def test_a_login_answered_with_a_redirect_says_where_lemmy_is(fake_lemmy):
    with redirecting_to(fake_lemmy.url) as moved:
        client = client_for(moved)
        with pytest.raises(LemmyError) as err:
            client.check_session()
    said = str(err.value)
    assert "redirects" in said and "HTTP 308" in said
    assert f"set LEMMY_URL to {fake_lemmy.url}" in said
    assert "email not verified" not in said
    # not followed: nothing reached Lemmy, the password neither
    assert [r for r in fake_lemmy.requests if r.server == "lemmy"] == []


def test_an_action_answered_with_a_redirect_is_not_taken_as_done(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    token = client_for(fake_lemmy.url).token().reveal()
    with redirecting_to(fake_lemmy.url, status=307) as moved:
        client = client_for(moved)
        client.restore_token(token)  # kept from an earlier run
        with pytest.raises(LemmyError, match="redirects"):
            client.remove_post(post.id, "spam")
    assert not fake_lemmy.post(post.id).removed
    assert fake_lemmy.mutating_requests() == []
