"""A worker that stops or restarts while it has the image is said as that, not as
"cannot connect": before, a connection broken off mid-request (httpx's "Server
disconnected without sending a response.") was recorded and logged as "cannot connect",
sending the admin to check the address and the firewall of a worker that was reached."""

from __future__ import annotations

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN

from classifier.remote import ClassifierUnavailable, RemoteEngine


def killed(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused")


def test_a_connection_broken_off_mid_request_is_not_said_as_cannot_connect():
    mock = httpx.MockTransport(lambda r: {"w1": killed, "w2": refused}[r.url.host](r))
    with (
        RemoteEngine(["http://w1:8095", "http://w2:8095"], TOKEN, transport=mock) as engine,
        pytest.raises(ClassifierUnavailable) as unavailable,
    ):
        engine.classify_many([b"an image"])
    said = dict(part.split(": ", 1) for part in unavailable.value.detail.split("; http"))
    w1 = said["http://w1:8095"]
    assert "cannot connect" not in w1
    assert "broke off mid-request" in w1 and "Server disconnected" in w1
    assert "stopped or restarted" in w1
    assert said["://w2:8095"].startswith("cannot connect: [Errno 111] Connection refused")
