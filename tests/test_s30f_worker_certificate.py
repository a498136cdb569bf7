"""A worker behind https:// whose certificate this machine does not trust (self-signed,
a private CA: a trusted larger instance's own) was said at start as "does not answer now
(cannot connect: [SSL: CERTIFICATE_VERIFY_FAILED] ...); it is tried again when images
come", and each image the same: trying again never helps, and nothing said what does.
Now the log and each skipped image's record say to set SSL_CERT_FILE to the CA that
signed it (which the bot honours), or to give the worker a public CA's certificate."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import Iterator

import pytest
from test_h23_wrk_verdict_checked import INFO, TOKEN

from classifier.remote import ClassifierUnavailable, RemoteEngine
from fakelemmy.tls import TestCA


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
def private_ca_worker() -> Iterator[tuple[TestCA, str]]:
    ca = TestCA.make()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), InfoOnly)
    server.socket = ca.server_context("127.0.0.1").wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield ca, f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_says_what_to_set(private_ca_worker, caplog, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    caplog.set_level(logging.WARNING)
    _, url = private_ca_worker
    with RemoteEngine([url], TOKEN) as engine:
        engine.check()
        with pytest.raises(ClassifierUnavailable) as caught:
            engine.classify_many([b"an image"])
    # (the bot records the first 300 characters with the skipped image: modbot/classify.py)
    for said in (caplog.text, str(caught.value)[:300]):
        assert "certificate" in said and "SSL_CERT_FILE" in said, said
    assert "tried again when images come" not in caplog.text


def test_with_ssl_cert_file_the_worker_answers(private_ca_worker, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization

    ca, url = private_ca_worker
    pem = tmp_path / "ca.pem"
    pem.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    with RemoteEngine([url], TOKEN) as engine:
        assert "concept version" in engine.check()[url]
