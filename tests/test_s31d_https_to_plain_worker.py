"""`classifier.remote: https://gpu:8095` for a `modbot worker`, which serves plain HTTP
unless a TLS proxy is put in front: the bot said "does not answer now (cannot connect:
[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)); it is tried again when
images come", and each skipped image the same. Trying again never helps; the log and
the record now say the address answers plain HTTP and what to write instead."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator

import pytest
from test_h23_wrk_verdict_checked import INFO, TOKEN

from classifier.remote import ClassifierUnavailable, RemoteEngine


class InfoOnly(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(INFO).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_worker() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InfoOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_to_a_plain_http_worker_says_to_write_http(plain_worker, caplog):
    url = f"https://127.0.0.1:{plain_worker}"
    caplog.set_level(logging.WARNING, logger="classifier.remote")
    with RemoteEngine([url], TOKEN, timeout=3) as engine:
        said = engine.check()[url]
        with pytest.raises(ClassifierUnavailable) as raised:
            engine.classify_many([b"an image"])
    for text in (said, str(raised.value)):
        assert "plain HTTP" in text and f"http://127.0.0.1:{plain_worker}" in text, text
        assert "WRONG_VERSION_NUMBER" not in text, text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "plain HTTP" in logged and "tried again when images come" not in logged, logged
