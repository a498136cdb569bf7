"""The image check (``modbot.lemmy.pictrs.gone``) holds lemmy.timeout as one deadline."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyUnavailable
from modbot.lemmy import LemmyClient


@pytest.fixture
def slow_headers():
    """A server that sends a 404's status line, then its headers a byte every 0.3 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\n")
                    for byte in b"X-Slow: " + b"a" * 100:
                        if stop.is_set():
                            break
                        conn.sendall(bytes([byte]))
                        time.sleep(0.3)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_an_image_check_ends_within_the_timeout_whatever_the_server_trickles(slow_headers):
    client = LemmyClient(
        slow_headers,
        "modbot",
        Secret("pw"),
        requests_per_minute=0,
        timeout=1.0,
        retries=1,
        sleep=lambda _: None,
    )
    started = time.monotonic()
    with pytest.raises(LemmyUnavailable, match="timed out"):
        client.image_gone("abc.jpg")
    assert time.monotonic() - started < 2 * 1.0 + 1.5  # two tries of at most 1 s each
    client.close()
