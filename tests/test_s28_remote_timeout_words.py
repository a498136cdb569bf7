"""A worker's timeout under a second is said as it was ("timed out after 0.3 s"), not
rounded to "0 s", which reads as if no time was given at all."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from test_remote_classifier import TOKEN, mock_workers

from classifier.remote import ClassifierUnavailable, RemoteEngine


def slow(request: httpx.Request) -> httpx.Response:
    async def body():
        await asyncio.sleep(5)
        yield b"{}"

    return httpx.Response(200, content=body(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("timeout", "said"), [(0.3, "0.3 s"), (1.0, "1 s"), (1.5, "1.5 s")])
def test_the_timeout_is_said_as_configured(timeout: float, said: str) -> None:
    transport, _ = mock_workers({"w1": slow})
    with (
        RemoteEngine(["http://w1:8095"], TOKEN, timeout=timeout, transport=transport) as engine,
        pytest.raises(ClassifierUnavailable, match=f"timed out after {said}\\b"),
    ):
        engine.classify_many([b"img"])
