"""RemoteEngine's first look at its workers (``check``) against a worker that answers
too slowly: in process, through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx

from classifier.remote import RemoteEngine

TOKEN = "bot-token-0123456789abcdefgh"
INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


def test_check_gives_up_on_a_worker_dripping_its_info_at_the_timeout():
    """httpx's timeout is per read: a worker (or a proxy) sending a byte of /v1/info now
    and then held the bot's start for ever. The whole answer must come within it."""
    info = json.dumps(INFO).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w2":
            return httpx.Response(200, json=INFO)

        async def drip():
            for i in range(len(info)):
                await asyncio.sleep(0.3)  # each read well within the timeout
                yield info[i : i + 1]

        return httpx.Response(200, content=drip(), headers={"Content-Type": "application/json"})

    said: dict = {}
    urls = ["http://w1:8095", "http://w2:8095"]
    with RemoteEngine(urls, TOKEN, timeout=1.0, transport=httpx.MockTransport(handler)) as engine:
        done = threading.Thread(target=lambda: said.update(engine.check()), daemon=True)
        done.start()
        done.join(10)
        assert not done.is_alive(), "check() still waits for the dripping worker"
        assert "timed out" in said["http://w1:8095"]
        assert engine.concept_version == "0123456789abcdef"
