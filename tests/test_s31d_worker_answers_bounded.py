"""What the bot reads of its workers' answers is bounded in all, not only each one.

Each answer was capped at 1 MiB, but every image in flight (`classifier.remote.
concurrency`, up to 1,024) read its own: a broken or hostile worker sending answers of
just under 1 MiB, slowly, had the bot hold concurrency x 1 MiB (1 GB) outside its
documented memory bound. Now the answers being read are held within 16 MiB, shared
equally by the workers (so one worker's cannot starve another's): an answer waits for
room before its body is read. An error answer (a proxy's 502 page) is read up to 64 KiB
only: its status says what happened."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import httpx
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import RemoteEngine

ANSWERS_HELD = 16 << 20

CHUNK = 64 * 1024
ALMOST = 15 * CHUNK  # 960 KiB: under the 1 MiB an answer may be


def test_slow_large_answers_of_a_hostile_worker_are_held_within_the_bound():
    async def dribble():
        for _ in range(ALMOST // CHUNK):
            yield bytes(CHUNK)  # a new buffer each time: what the bot keeps is its own
        await asyncio.sleep(3600)  # and the rest never comes
        yield b"}"

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w1":
            return httpx.Response(200, content=dribble())  # chunked: no length said
        return httpx.Response(200, json=verdict(request.content))

    images = [b"image %d" % i for i in range(40)]
    tracemalloc.start()
    try:
        transport = httpx.MockTransport(handler)
        with RemoteEngine(
            URLS, TOKEN, timeout=6, max_concurrency=40, transport=transport
        ) as engine:
            futures = [engine.submit(image) for image in images]
            time.sleep(1.5)  # w1's answers have come as far as they will
            held, _ = tracemalloc.get_traced_memory()
            got = [f.result(timeout=10) for f in futures]
    finally:
        tracemalloc.stop()
    # before: 40 answers of 960 KiB read at once, ~39 MB
    assert held < ANSWERS_HELD // 2 + 4_000_000, f"{held / 1e6:.1f} MB held"
    # every image got its verdict from w2 once w1 had its share of the time
    assert [v.sha256 for v in got] == [verdict(i)["sha256"] for i in images]


def test_a_large_error_page_is_said_by_its_status():
    page = b"<html>" + b"x" * (2 << 20) + b"</html>"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w1":
            return httpx.Response(502, content=page, headers={"Content-Type": "text/html"})
        return httpx.Response(503, content=page, headers={"Content-Type": "text/html"})

    from classifier.remote import ClassifierUnavailable

    transport = httpx.MockTransport(handler)
    with RemoteEngine(URLS, TOKEN, timeout=3, transport=transport) as engine:
        future = engine.submit(b"an image")
        error = future.exception(timeout=10)
    assert isinstance(error, ClassifierUnavailable), error
    said = str(error)
    assert "http://w1:8095: answered 502 Bad Gateway" in said, said
    assert "http://w2:8095: answered 503 Service Unavailable" in said, said
    assert "more than 1 MB" not in said and "<html>" not in said
