"""A worker that failed (it took an image and never answered: its GPU hung) was given
every image that came once its backoff ended: each waited its share of the timeout there
before the next worker, healthy, was asked, and with 16 images in flight all 16 did.
Now a worker whose last request failed is asked by one image at a time (a probe) until it
answers again; the other images go straight to the next worker. An image with no other
worker waits for the probe (until its own deadline), so a worker that came back, or a
slow one, serves them all."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine


def test_a_hung_worker_out_of_its_backoff_gets_one_image_not_every_image():
    asked: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.host == "w1":
            await asyncio.sleep(3600)  # takes the image, never answers
        return httpx.Response(200, json=verdict(request.content))

    with RemoteEngine(URLS, TOKEN, timeout=2, transport=httpx.MockTransport(handler)) as engine:
        engine.classify_many([b"first"])  # w1 times out after 1 s: left alone for 1 s
        assert asked == {"w1": 1, "w2": 1}
        time.sleep(1.1)  # its backoff is over
        started = time.monotonic()
        futures = [engine.submit(b"image %d" % i) for i in range(8)]
        quick, _ = concurrent.futures.wait(futures, timeout=0.5)
        # all but the probe came from w2 at once; the probe fails over after its 1 s
        assert len(quick) == 7, f"{len(quick)} of 8 images classified without waiting for w1"
        assert all(f.result(timeout=3).sha256 for f in futures)
        assert time.monotonic() - started < 2
    assert asked == {"w1": 2, "w2": 9}, "w1 was asked by one image (the probe)"


def test_a_single_worker_that_came_back_serves_the_images_waiting_for_its_probe():
    asked = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        asked["n"] += 1
        if asked["n"] == 1:
            return httpx.Response(503, json={"error": "restarting"})
        await asyncio.sleep(0.3)  # the probe takes a while: the others wait for it
        return httpx.Response(200, json=verdict(request.content))

    transport = httpx.MockTransport(handler)
    with RemoteEngine(["http://w1:8095"], TOKEN, timeout=5, transport=transport) as engine:
        future = engine.submit(b"first")  # 503, then asked again after its 1 s backoff
        time.sleep(0.2)
        # while the first image waits out the backoff, more come: one probes, the rest wait
        rest = [engine.submit(b"image %d" % i) for i in range(6)]
        got = [f.result(timeout=5) for f in [future, *rest]]
    assert [v.sha256 for v in got] == [
        verdict(d)["sha256"] for d in [b"first", *(b"image %d" % i for i in range(6))]
    ]
    assert asked["n"] == 8


def test_images_waiting_for_a_hung_probe_are_unavailable_at_their_own_deadline():
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError

    asked = {"n": 0}

    async def counting(request: httpx.Request) -> httpx.Response:
        asked["n"] += 1
        return await handler(request)

    transport = httpx.MockTransport(counting)
    with RemoteEngine(["http://w1:8095"], TOKEN, timeout=0.5, transport=transport) as engine:
        with pytest.raises(ClassifierUnavailable):
            engine.classify_many([b"first"])  # times out: left alone for 1 s
        time.sleep(1.1)
        probe = engine.submit(b"probe", timeout=8)
        time.sleep(0.1)
        started = time.monotonic()
        other = engine.submit(b"other", timeout=1.5)
        error = other.exception(timeout=5)
        took = time.monotonic() - started
        assert isinstance(error, ClassifierUnavailable), error
        assert "probe" in str(error) or "another image" in str(error), str(error)
        assert 1.2 < took < 3, f"waited {took:.1f} s for a worker being probed"
        assert asked["n"] == 2, "the hung worker was sent the probe only"
        probe.cancel()


def test_a_slow_single_worker_serves_the_images_waiting_for_its_probe():
    # one failure (a 503), then answers taking 3 s each (a loaded CPU worker): the
    # images that came meanwhile wait for the probe's answer, then are classified,
    # not given up after 2 s as if the worker were down
    asked = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        asked["n"] += 1
        if asked["n"] == 1:
            return httpx.Response(503, json={"error": "busy"})
        await asyncio.sleep(3)
        return httpx.Response(200, json=verdict(request.content))

    transport = httpx.MockTransport(handler)
    with RemoteEngine(["http://w1:8095"], TOKEN, timeout=20, transport=transport) as engine:
        first = engine.submit(b"first")  # 503: asked again after its 1 s backoff (the probe)
        time.sleep(1.2)
        rest = [engine.submit(b"image %d" % i) for i in range(4)]
        got = [f.result(timeout=15) for f in [first, *rest]]
    assert [v.sha256 for v in got] == [
        verdict(d)["sha256"] for d in [b"first", *(b"image %d" % i for i in range(4))]
    ]
