"""A client that trickles its body (a byte now and then, never idle long enough for
the idle timeout) is still answered 408 once the whole body's time is up."""

from __future__ import annotations

import asyncio

import pytest

from classifier import load_model
from classifier.service import BODY_TIMEOUT, WorkerConfig, WorkerService
from classifier.tiny import tiny_spec


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def _scope() -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "headers": [(b"content-length", b"1000")],
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("w", 80),
        "client": ("127.0.0.1", 5),
        "root_path": "",
    }


async def _trickle(service: WorkerService, every: float) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        await asyncio.sleep(every)  # one byte, then a pause under the idle timeout
        return {"type": "http.request", "body": b"\0", "more_body": True}

    async def send(message):
        sent.append(message)

    await service.app(_scope(), receive, send)
    return sent


def test_a_body_that_trickles_in_is_408_once_the_whole_bodys_time_is_up(loaded, tmp_path):
    config = WorkerConfig(
        max_body=1000, body_idle_timeout=0.3, body_timeout=0.6, text_cache_dir=tmp_path
    )
    service = WorkerService(loaded, config)
    try:
        sent = asyncio.run(asyncio.wait_for(_trickle(service, every=0.05), 10))
    finally:
        service.close()
    assert sent[0]["status"] == 408
    assert b"longer than 0.6 s" in sent[1]["body"]
    assert service.counters["timed_out"] == 1
    assert service.pending == 0 and service.bytes_held.in_use == 0


def test_worker_help_says_the_whole_bodys_timeout():
    from modbot.cli.worker import HELP

    assert f"takes over {BODY_TIMEOUT:g} s in all" in HELP.replace("\n", " ")
