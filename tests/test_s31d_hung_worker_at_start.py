"""A worker that accepts connections and never answers held the start of the bot, the
gate and `modbot doctor` (`check()`: every worker's /v1/info) for the whole
`classifier.remote.timeout` (60 s by default): the gate answered no upload in that
minute. /v1/info is answered without the model, so it is given `INFO_TIMEOUT` (10 s),
less when the timeout is shorter; the healthy worker is learnt from at once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from test_h23_wrk_verdict_checked import INFO, TOKEN, URLS

import classifier.remote
from classifier.remote import RemoteEngine


def test_a_hung_worker_holds_the_start_for_the_info_timeout_not_the_classify_one(monkeypatch):
    monkeypatch.setattr(classifier.remote, "INFO_TIMEOUT", 0.5, raising=False)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w1":
            await asyncio.sleep(3600)
        return httpx.Response(200, json=INFO)

    transport = httpx.MockTransport(handler)
    with RemoteEngine(URLS, TOKEN, timeout=8, transport=transport) as engine:
        started = time.monotonic()
        said = engine.check()
        took = time.monotonic() - started
        assert engine.concept_version == INFO["concept_version"]
    assert took < 3, f"check() took {took:.1f} s"
    assert said[URLS[0]] == "timed out after 0.5 s"
    assert "concept version" in said[URLS[1]]


def test_info_timeout_is_never_longer_than_the_timeout(monkeypatch):
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError

    transport = httpx.MockTransport(handler)
    with RemoteEngine(URLS[:1], TOKEN, timeout=0.3, transport=transport) as engine:
        assert engine.check() == {URLS[0]: "timed out after 0.3 s"}
        with pytest.raises(classifier.remote.ClassifierUnavailable):
            asyncio.run(engine.ready())
