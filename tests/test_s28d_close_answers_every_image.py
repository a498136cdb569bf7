"""Closing the remote classifier answers every image asked of it: the ones in flight
get their verdict when it comes within the timeout, the others EngineClosed (the bot
records them as skipped and looks at them again). Before, an image still waiting for
one of the bot's connections (or for a slow worker) when the wait ended was never
answered: the engine's loop stopped under it, and whoever waited for its verdict
waited for ever."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, verdict

from classifier.engine import EngineClosed
from classifier.remote import RemoteEngine


def slow_worker(seconds: float):
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(seconds)
        return httpx.Response(200, json=verdict(request.content))

    return httpx.MockTransport(handler)


def test_images_not_answered_when_the_engine_closes_get_engine_closed():
    # one connection, 0.6 s an image, 2 s each at most: the first is answered within
    # close's wait (2 s), the ones queued behind it are not
    engine = RemoteEngine(
        ["http://w1:8095"], TOKEN, transport=slow_worker(0.6), timeout=2, max_concurrency=1
    )
    images = [b"image %d" % n for n in range(6)]
    futures = [engine.submit(image) for image in images]
    closing = threading.Thread(target=engine.close)
    closing.start()
    _, pending = concurrent.futures.wait(futures, timeout=30)
    closing.join(timeout=30)
    assert not pending, f"{len(pending)} image(s) never answered"
    assert futures[0].result().sha256 == verdict(images[0])["sha256"]
    with pytest.raises(EngineClosed, match="closed before"):
        futures[-1].result()
    for future in futures:
        assert future.exception() is None or isinstance(future.exception(), EngineClosed)
