"""Clients that hold a connection without sending a request (slowloris): the worker
cuts them off within its header timeout, and refuses connections past its limit, so
file descriptors and memory stay bounded. A worker started for real (uvicorn on
127.0.0.1, port 0, the tiny model), driven with raw sockets."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from classifier import load_model
from classifier.service import (
    CONNECTIONS_MARGIN,
    WorkerConfig,
    WorkerServer,
    WorkerService,
    bind_socket,
)
from classifier.tiny import tiny_spec

HEADER_TIMEOUT = 0.5
MAX_PENDING = 2
WAIT = 15.0  # far past the header timeout: a socket still open by then was not cut off


@pytest.fixture(scope="module")
def worker(tiny_checkpoint, tmp_path_factory):
    loaded = load_model(tiny_spec(tiny_checkpoint))
    config = WorkerConfig(
        header_timeout=HEADER_TIMEOUT,
        max_pending=MAX_PENDING,
        max_body=1000,
        text_cache_dir=tmp_path_factory.mktemp("text-cache"),
    )
    service = WorkerService(loaded, config)
    server = WorkerServer(service, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        service.close()


def connect(worker) -> socket.socket:
    sock = socket.create_connection(worker.address, timeout=WAIT)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """What the worker sends until it closes the connection (socket.timeout if it
    does not within WAIT)."""
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(worker):
    with connect(worker) as sock:
        started = time.monotonic()
        read_until_closed(sock)
        assert time.monotonic() - started < WAIT


def test_headers_that_trickle_in_are_cut_off_with_408(worker):
    before = worker.service.counters["header_timeouts"]
    request = b"POST /v1/classify HTTP/1.1\r\nHost: w\r\nX-Padding: " + b"a" * 1000
    with connect(worker) as sock:
        sock.settimeout(0.05)
        answer = b""
        started = time.monotonic()
        for byte in request:  # a byte every 50 ms: never idle for the header timeout
            try:
                sock.sendall(bytes([byte]))
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if answer or time.monotonic() - started > WAIT:
                break
        assert time.monotonic() - started < WAIT, "still open: the headers' deadline moved"
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"headers" in answer
    assert worker.service.counters["header_timeouts"] > before


def test_a_body_trickling_after_the_answer_is_cut_off(worker):
    # refused at once (no token needed here, but a bad concept set: 400 before the body
    # is read), then the body keeps coming a byte at a time: the connection is closed
    head = (
        b"POST /v1/classify HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n"
        b"X-Modbot-Concept-Set: nope\r\n\r\n"
    )
    with connect(worker) as sock:
        sock.sendall(head + b"\0" * 10)
        sock.settimeout(WAIT)
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
        sock.settimeout(0.05)
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < WAIT:
            try:
                sock.sendall(b"\0")
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed


def test_connections_past_the_limit_get_503_and_the_worker_serves_once_they_go(worker):
    limit = MAX_PENDING + CONNECTIONS_MARGIN
    assert worker.max_connections == limit
    before = worker.service.counters["too_many_connections"]
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(connect(worker)) for _ in range(limit)]
        with connect(worker) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: w\r\n\r\n")
            answer = read_until_closed(extra)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert b"connections" in answer
        assert len(held) == limit
    assert worker.service.counters["too_many_connections"] == before + 1
    for _ in range(100):  # the held ones are closed on the worker's side too
        answer = httpx.get(f"{worker.url}/healthz", timeout=WAIT)
        if answer.status_code == 200:
            break
        time.sleep(0.05)
    assert answer.status_code == 200


def test_another_app_served_the_workers_way_gets_the_default_limits():
    """The gate serves its app through WorkerServer too (its config is no WorkerConfig)."""
    from types import SimpleNamespace

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = WorkerServer(SimpleNamespace(app=app), bind_socket("127.0.0.1", 0))
    server.start()
    try:
        assert httpx.get(f"{server.url}/", timeout=WAIT).status_code == 204
        assert server.max_connections == WorkerConfig().max_pending + CONNECTIONS_MARGIN
    finally:
        server.stop()
