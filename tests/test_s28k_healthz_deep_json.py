"""`modbot healthcheck --http URL` answered JSON nested thousands deep (a broken or
hostile server where the gate or worker should be): not healthy, said like any other
answer that is not JSON, never a RecursionError traceback out of the parser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from modbot.cli import main

DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON, deeper than Python's parser goes


@contextmanager
def answering(body: bytes) -> Iterator[str]:
    """A web server answering every GET with ``body``, status 200, as JSON."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def test_a_healthz_nested_too_deep_is_not_healthy_and_said_as_not_json(capsys):
    with answering(b"<html>not json</html>") as url:
        assert main(["healthcheck", "--http", url]) == 1
    not_json = capsys.readouterr()
    assert not_json.err.startswith(f"{url}: no answer (") and not_json.out == ""

    with answering(DEEP) as url:
        assert main(["healthcheck", "--http", url]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err == f"{url}: no answer (ValueError: JSON nested too deep to parse)\n"
