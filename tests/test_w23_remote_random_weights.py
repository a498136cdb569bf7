"""A worker running a model with random weights (a test model) is refused as a local one
is: the bot does not start on it unless classifier.allow_random_weights says so, and a
verdict of random weights (a worker restarted on a test model mid-run) is no verdict:
nothing is acted on it."""

from __future__ import annotations

import httpx
import pytest
from test_h23_wrk_verdict_checked import INFO, TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine, WorkerRandomWeights

CSAM = {
    "labels": ["csam", "nsfw", "underage"],
    "scores": {"subject": 0.1, "underage": 0.2, "nsfw": 0.3, "anime": -0.3, "csam": 0.2},
}


def transport(random_info: bool, random_verdicts: bool) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json={**INFO, "random_weights": random_info})
        made = verdict(request.content, random_weights=random_verdicts, **CSAM)
        return httpx.Response(200, json=made)

    return httpx.MockTransport(handler)


def test_a_worker_on_random_weights_stops_the_start_unless_allowed():
    with (
        RemoteEngine(URLS[:1], TOKEN, transport=transport(True, True)) as engine,
        pytest.raises(WorkerRandomWeights, match="RANDOM WEIGHTS") as refused,
    ):
        engine.check()
    assert "classifier.allow_random_weights: true" in str(refused.value)
    allowed = RemoteEngine(
        URLS[:1], TOKEN, transport=transport(True, True), allow_random_weights=True
    )
    with allowed as engine:
        engine.check()
        assert engine.random_weights is True
        assert engine.classify_many([b"img"])[0].random_weights is True  # marked, as local


def test_a_verdict_of_random_weights_is_no_verdict_unless_allowed():
    # the worker said real weights at start, then answers from a test model
    with RemoteEngine(URLS, TOKEN, transport=transport(False, True), max_backoff=0.1) as engine:
        engine.check()
        with pytest.raises(ClassifierUnavailable, match="RANDOM WEIGHTS"):
            engine.classify_many([b"img"])
