"""The pict-rs probe of `modbot doctor` says "accepts the API key" only when pict-rs
answers: a web page or a redirect (a reverse proxy's, Lemmy's front end) is a failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.lemmy.probe import identify, pictrs_key

ANSWERS = {
    "/page": (200, "text/html", b"<html><body>Welcome to nginx!</body></html>"),
    "/moved": (301, "text/html", b""),
    "/json": (200, "application/json", b'{"error": "not pict-rs"}'),
    "/pictrs": (200, "application/json", b'{"msg": "ok", "aliases": []}'),
    "/down": (502, "text/html", b"<html><h1>502 Bad Gateway</h1></html>"),
}


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            prefix = "/" + self.path.split("/")[1]
            status, kind, body = ANSWERS[prefix]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if status == 301:
                self.send_header("Location", "https://pictures.example/")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "path, says",
    [
        ("/page", "answered HTTP 200 (text/html) to its internal API, not pict-rs' JSON"),
        ("/json", "answered HTTP 200 (application/json) to its internal API, not pict-rs'"),
        ("/moved", "redirects (HTTP 301 to https://pictures.example/)"),
    ],
    ids=["html-page", "other-json", "redirect"],
)
def test_a_page_that_is_not_pictrs_is_no_accepted_key(site, path, says):
    found = pictrs_key(site + path, "key")
    assert found.failed, found
    assert says in found.message and "http://pictrs:8080" in found.message


def test_pictrs_json_answer_is_an_accepted_key(site):
    found = pictrs_key(site + "/pictrs", "key")
    assert found.status == "ok" and "accepts the API key" in found.message


def test_a_proxy_that_cannot_reach_lemmy_is_not_called_another_site(site):
    """nginx's 502 while Lemmy restarts: Lemmy is down, LEMMY_URL is right."""
    found = identify(site + "/down")
    assert found.failed
    assert "answers HTTP 502 to nodeinfo: the proxy in front of Lemmy cannot reach it" in (
        found.message
    )
    assert "not as a Lemmy instance" not in found.message


@pytest.mark.parametrize("path", ["/pictrs", "/pictrs/image", "/api"])
def test_a_pictrs_url_with_a_path_is_sent_to_pictrs_not_to_lemmy(path):
    """PICTRS_URL=https://lemmy.example/pictrs (Lemmy's image route): the advice was
    "give the instance's address", Lemmy's, where pict-rs' internal API is not."""
    from modbot.lemmy.probe import url_problem

    problem = url_problem(f"https://lemmy.example{path}", "PICTRS_URL")
    assert problem is not None
    assert f"PICTRS_URL has a path ({path}): give pict-rs' own address" in problem
    assert "http://pictrs:8080" in problem and "https://lemmy.example," not in problem
    assert "/api/v3" not in problem
