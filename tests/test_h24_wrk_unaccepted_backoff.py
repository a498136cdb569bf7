"""A worker that refuses the concepts this bot sends (or the concept set it names) is
remembered for a while: the next images go to the next worker first, not to the
refusing one and then the next (a wasted round trip for every image)."""

from __future__ import annotations

import logging

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier import remote
from classifier.concepts import CustomConcept
from classifier.remote import RemoteEngine
from classifier.service import CONCEPTS_HEADER

GORE = CustomConcept("gore", ("gore", "a bloody wound"), 0.2)
IMAGES = [b"one", b"two", b"three", b"four", b"five"]


def workers(refusing: set[str]):
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        asked[host] = asked.get(host, 0) + 1
        if host in refusing:
            error = f"{CONCEPTS_HEADER}: concept 'gore': a prompt is longer than 3 characters"
            return httpx.Response(400, json={"error": error})
        scores = {**verdict(b"")["scores"], "gore": -0.1}
        return httpx.Response(200, json=verdict(request.content, scores=scores))

    return httpx.MockTransport(handler), asked


def test_the_refusing_worker_is_asked_after_the_next_for_a_while(caplog):
    mock, asked = workers({"w1"})
    caplog.set_level(logging.WARNING, logger="classifier.remote")
    with RemoteEngine(URLS, TOKEN, custom=[GORE], transport=mock) as engine:
        verdicts = engine.classify_many(IMAGES)
    assert [v.sha256 for v in verdicts] == [verdict(i)["sha256"] for i in IMAGES]
    assert asked == {"w1": 1, "w2": len(IMAGES)}, "one round trip to w1, not one an image"
    assert f"asked after the other workers for {remote.UNACCEPTED_RETRY:.0f} s" in caplog.text


def test_once_the_while_is_over_it_is_asked_first_again(monkeypatch):
    monkeypatch.setattr(remote, "UNACCEPTED_RETRY", 0.0)  # every while over at once
    mock, asked = workers({"w1"})
    with RemoteEngine(URLS, TOKEN, custom=[GORE], transport=mock) as engine:
        engine.classify_many(IMAGES)
    assert asked == {"w1": len(IMAGES), "w2": len(IMAGES)}


def test_when_every_worker_refuses_each_is_still_asked():
    """Nobody else to ask: the refusing ones are the last resort, each image."""
    mock, asked = workers({"w1", "w2"})
    with RemoteEngine(URLS, TOKEN, custom=[GORE], transport=mock) as engine:
        for image in IMAGES[:2]:
            with pytest.raises(remote.ClassifierUnavailable):
                engine.classify_many([image])
    assert asked == {"w1": 2, "w2": 2}
