"""Anyone who can reach a worker's port can send it garbage or too many connections;
uvicorn logs one line for each ("Invalid HTTP request received."). The worker keeps
those to one line a minute with a count, as it does for refused tokens, so an attacker's
request rate does not become the log's size."""

from __future__ import annotations

import logging
import socket

import pytest

from classifier import load_model
from classifier.service import WorkerConfig, WorkerServer, WorkerService, bind_socket
from classifier.tiny import tiny_spec


@pytest.fixture(scope="module")
def worker(tiny_checkpoint, tmp_path_factory):
    loaded = load_model(tiny_spec(tiny_checkpoint))
    service = WorkerService(
        loaded, WorkerConfig(text_cache_dir=tmp_path_factory.mktemp("text-cache"))
    )
    server = WorkerServer(service, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        service.close()


def _garbage(worker) -> None:
    with socket.create_connection(worker.address, timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")  # a TLS hello, say
        while sock.recv(4096):
            pass


def test_invalid_requests_are_logged_once_a_minute_with_a_count(worker, caplog):
    caplog.set_level(logging.WARNING)
    for _ in range(30):
        _garbage(worker)
    said = [r.getMessage() for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert 1 <= len(said) <= 2, said
