"""A worker that answers 200 with something that is not a verdict (a proxy's login
page, a load balancer's placeholder) is a broken worker: the next one is asked, as for
a 5xx. When every worker asked answered so, no worker answered: the classifier is
unavailable (the bot looks at the image again), as when none answers."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from classifier.remote import ClassifierUnavailable, RemoteEngine

TOKEN = "bot-token-0123456789abcdefgh"
VERDICT = {
    "labels": ["photo"],
    # every concept asked has a score (a worker's verdict is checked: check_verdict)
    "scores": {"photo": 0.9, "subject": 0.1, "underage": -0.1, "nsfw": -0.1, "anime": -0.1}
    | {"csam": -0.1},
    "model": "m",
    "random_weights": False,
    "concept_version": "0123456789abcdef",
}
URLS = ["http://w1:8095", "http://w2:8095"]


def transport(answers: dict):
    asked: dict[str, list[str]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked.setdefault(request.url.host, []).append(request.url.path)
        return answers[request.url.host](request)

    return httpx.MockTransport(handler), asked


def page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=b"<html>sign in</html>", headers={"Content-Type": "text/html"}
    )


def healthy(request: httpx.Request) -> httpx.Response:
    # on the image sent, as a worker's verdict is
    return httpx.Response(
        200, json={**VERDICT, "sha256": hashlib.sha256(request.content).hexdigest()}
    )


def test_a_200_that_is_not_a_verdict_moves_on_to_the_next_worker():
    mock, asked = transport({"w1": page, "w2": healthy})
    with RemoteEngine(URLS, TOKEN, transport=mock) as engine:
        assert engine.classify_many([b"img"])[0].labels == ("photo",)
        assert engine.stats["failovers"] == 1
        # and the broken one is left alone for a while, as after a 5xx
        assert engine.classify_many([b"img"])[0].labels == ("photo",)
    assert asked == {"w1": ["/v1/classify"], "w2": ["/v1/classify"] * 2}


def test_when_every_worker_answers_no_verdict_the_classifier_is_unavailable():
    mock, _ = transport({"w1": page, "w2": page})
    with (
        RemoteEngine(URLS, TOKEN, transport=mock, max_backoff=0.1) as engine,
        pytest.raises(ClassifierUnavailable, match="not a verdict"),
    ):
        engine.classify_many([b"img"])
