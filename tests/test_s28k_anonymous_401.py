"""A 401 to a request sent without the bot's login (an anonymous read, nodeinfo: a
proxy in front of Lemmy asking for a basic-auth login of its own) says what happened,
not "incorrect_login even after logging in again": no login was sent nor tried."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyLoginError
from modbot.lemmy import LemmyClient


@contextmanager
def basic_auth_proxy() -> Iterator[tuple[str, list[str]]]:
    """nginx with `auth_basic` in front of Lemmy: 401 and its HTML page to every
    request without the right Authorization header (here: to all)."""
    got: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append(f"{self.command} {self.path}")
            body = b"<html><head><title>401 Authorization Required</title></head></html>"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="lemmy"')
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str) -> LemmyClient:
    return LemmyClient(url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None)


@pytest.mark.parametrize("read", ["anonymous read", "nodeinfo"])
def test_a_proxys_401_to_a_request_without_the_login_says_so(read):
    with basic_auth_proxy() as (url, got):
        client = client_for(url)
        with pytest.raises(LemmyLoginError) as err:
            if read == "nodeinfo":
                client.nodeinfo()
            else:
                client.api("GET", "/post/list", auth=False, params={"limit": 1})
    said = str(err.value)
    assert "incorrect_login" not in said and "logging in again" not in said
    assert "sent without the login" in said
    assert "a proxy in front of Lemmy asks for a login of its own" in said
    assert "https://user:password@host" in said
    assert err.value.status == 401
    assert len(got) == 1 and "login" not in got[0]  # no login tried


def test_a_proxy_refusing_the_basic_auth_in_lemmy_url_says_check_it():
    with basic_auth_proxy() as (url, got):
        client = client_for(url.replace("http://", "http://gate:wrong@"))
        with pytest.raises(LemmyLoginError) as err:
            client.api("GET", "/site", auth=False)
    said = str(err.value)
    assert "refused the user and password written in LEMMY_URL: check them" in said
    assert "wrong" not in said and "incorrect_login" not in said
    assert got == ["GET /api/v3/site"]
