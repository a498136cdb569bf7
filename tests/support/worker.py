"""A classifier worker for the tests of the remote classifier and the upload gate: the
bot's token, and a URL nobody listens on (the `worker` fixture is in conftest.py)."""

from __future__ import annotations

import socket

TOKEN = "bot-token-0123456789abcdefgh"


def dead_url() -> str:
    """A port on which nobody listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
