"""`modbot healthcheck --http http://127.0.0.1:PORT/healthz` asks the gate or worker on
this host itself, never through a proxy named in the environment (HTTP_PROXY, as
Docker's client configuration sets in every container). Before, httpx sent it to the
proxy, which cannot reach the container's own loopback: the healthcheck failed for
ever, even with NO_PROXY=127.0.0.0/8 (Docker's own example; httpx reads no range)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modbot.cli import main


@contextmanager
def healthz(host: str) -> Iterator[str]:
    body = json.dumps({"ok": True, "classifier": "local"}).encode()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("no_proxy", [None, "127.0.0.0/8"])
def test_a_loopback_healthz_is_asked_directly_whatever_proxy_is_set(monkeypatch, capsys, no_proxy):
    proxy = f"http://127.0.0.1:{closed_port()}"  # a proxy that cannot be reached
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        if no_proxy is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, no_proxy)
    with healthz("127.0.0.1") as url:
        assert main(["healthcheck", "--http", url]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out == f"{url}: ok (classifier local)\n"
    with healthz("127.0.0.1") as url:
        localhost = url.replace("127.0.0.1", "localhost")
        assert main(["healthcheck", "--http", localhost]) == 0, capsys.readouterr().err
