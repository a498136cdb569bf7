"""A worker that takes the request and never answers (its GPU hung, its HTTP side still
accepting) took the whole `classifier.remote.timeout` of every image sent to it: the
next worker, healthy, was left "no time left", and the image was skipped as
classifier_unavailable although a worker could classify it. Each worker still to be
asked now gets its share of the time left, the last one all of it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine


def hung_first() -> tuple[httpx.MockTransport, dict[str, int]]:
    asked: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.host == "w1":
            await asyncio.sleep(3600)  # takes the image, never answers
        return httpx.Response(200, json=verdict(request.content))

    return httpx.MockTransport(handler), asked


def test_a_worker_that_never_answers_leaves_the_next_one_time_to_classify():
    transport, asked = hung_first()
    with RemoteEngine(URLS, TOKEN, timeout=4, transport=transport) as engine:
        started = time.monotonic()
        (got,) = engine.classify_many([b"an image"])
        took = time.monotonic() - started
    assert got.sha256 == verdict(b"an image")["sha256"]
    assert asked == {"w1": 1, "w2": 1}
    assert took < 4, "within the image's timeout, failover included"


def test_the_last_worker_left_gets_all_the_time_left():
    transport, _ = hung_first()
    with RemoteEngine(["http://w1:8095"], TOKEN, timeout=1.5, transport=transport) as engine:
        started = time.monotonic()
        with pytest.raises(ClassifierUnavailable, match=r"timed out after 1\.5 s"):
            engine.classify_many([b"an image"])
        assert time.monotonic() - started >= 1.4
