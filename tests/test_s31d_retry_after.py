"""A worker (or the proxy before it) that says when to come back: `Retry-After` in
seconds or as an HTTP date (RFC 9110 allows both). A 503 with it (a proxy's maintenance
page, a worker shutting down) was asked again after 1 s whatever it said, and a 429's
date was read as 1 s: each image then went there first, to be refused again. Both are
now left alone for the time said (at most `max_backoff`)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import RemoteEngine


def in_30_s() -> str:
    return email.utils.formatdate(time.time() + 30, usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(503, lambda: "30"), (503, in_30_s), (429, in_30_s)],
    ids=["503 seconds", "503 date", "429 date"],
)
def test_a_worker_is_left_alone_for_the_time_its_retry_after_says(status, retry_after):
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.host == "w1":
            return httpx.Response(
                status, json={"error": "come back later"}, headers={"Retry-After": retry_after()}
            )
        return httpx.Response(200, json=verdict(request.content))

    with RemoteEngine(URLS, TOKEN, transport=httpx.MockTransport(handler)) as engine:
        engine.classify_many([b"first"])
        time.sleep(2.2)  # past the 1 s (and a doubled 2 s) a failure alone is left for
        engine.classify_many([b"second"])
    assert asked == {"w1": 1, "w2": 2}


def test_a_retry_after_longer_than_max_backoff_is_cut_to_it():
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.host == "w1" and asked["w1"] == 1:
            return httpx.Response(503, headers={"Retry-After": "86400"})
        return httpx.Response(200, json=verdict(request.content))

    transport = httpx.MockTransport(handler)
    with RemoteEngine(URLS, TOKEN, max_backoff=1, transport=transport) as engine:
        engine.classify_many([b"first"])
        time.sleep(1.1)
        engine.classify_many([b"second"])
    assert asked == {"w1": 2, "w2": 1}
