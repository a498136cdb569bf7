"""An answer is read within its 1 MB cap as it comes: the engine asks the workers for
an uncompressed answer, and a compressed one is not read (a 64 KB gzip body of zeros is
64 MB decompressed in one piece, before the cap could count it); the next worker is
asked."""

from __future__ import annotations

import tracemalloc
import zlib

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine


def gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    return packer.compress(b"\0" * (64 << 20)) + packer.flush()


BOMB = gzip_bomb()


def test_a_compressed_answer_is_not_read_and_the_next_worker_is_asked():
    assert len(BOMB) < 100_000
    asked: dict[str, list[str]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked.setdefault(request.url.host, []).append(request.headers["accept-encoding"])
        if request.url.host == "w1":

            async def body():
                yield BOMB

            return httpx.Response(
                200,
                content=body(),
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        return httpx.Response(200, json=verdict(request.content))

    tracemalloc.start()
    try:
        with RemoteEngine(URLS, TOKEN, transport=httpx.MockTransport(handler)) as engine:
            assert engine.classify_many([b"img"])[0].labels == ()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB held for a {len(BOMB)} byte answer"
    assert asked == {"w1": ["identity"], "w2": ["identity"]}
    # alone, it is a worker that did not answer
    with (
        RemoteEngine(
            URLS[:1], TOKEN, transport=httpx.MockTransport(handler), max_backoff=0.1
        ) as engine,
        pytest.raises(ClassifierUnavailable, match=r"compressed body \(gzip\)"),
    ):
        engine.classify_many([b"img"])
