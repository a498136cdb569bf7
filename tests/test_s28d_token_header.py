"""The workers' token ($MODBOT_CLASSIFIER_TOKEN) as it often comes: from a file or a
Kubernetes secret, with a newline at its end. A token never holds whitespace (the
worker's tokens file is split on it), so the newline is not part of it: the token is
sent without it. A token with a character no HTTP header carries (a control character,
a non-ASCII letter) is a configuration error said at once, without the token; before,
httpx refused the header with an error that quoted it ("Illegal header value
b'Bearer ...'"), which the bot logged and recorded as a worker that "does not answer",
for every image."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from classifier.remote import RemoteEngine, RemoteError

TOKEN = "mbw_secret-token-0123456789abcdef"
INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


@pytest.fixture(scope="module")
def worker():
    """A plain HTTP server answering /v1/info to the right token only (a real socket:
    the header is checked as it is written), and the Authorization headers it got."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            said = self.headers.get("Authorization", "")
            seen.append(said)
            ok = said == f"Bearer {TOKEN}"
            body = json.dumps(INFO if ok else {"error": "unknown token"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("written", [TOKEN + "\n", f"  {TOKEN}\r\n"])
def test_a_token_with_a_newline_at_its_end_is_sent_without_it(worker, written, caplog):
    url, seen = worker
    caplog.set_level(logging.DEBUG)
    with RemoteEngine([url], written, timeout=10) as engine:
        said = engine.check()
    assert said == {url: "m concept version 0123456789abcdef"}
    assert seen[-1] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "written", [TOKEN[:10] + "\x00" + TOKEN[10:], TOKEN + "é", TOKEN[:10] + " " + TOKEN[10:]]
)
def test_a_token_no_header_can_carry_is_a_configuration_error_without_the_token(
    worker, written, caplog
):
    url, seen = worker
    asked = len(seen)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RemoteError) as refused:
        RemoteEngine([url], written, timeout=10)
    said = str(refused.value)
    assert "MODBOT_CLASSIFIER_TOKEN" in said and "cannot carry" in said
    assert TOKEN[10:] not in said + caplog.text
    assert len(seen) == asked, "nothing sent"
