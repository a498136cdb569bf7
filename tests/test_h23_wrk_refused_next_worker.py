"""A worker that refuses a request (413: the image is over its size limit, or over a
proxy's before it; 400) is not the last word: the next worker is asked, and only when
every worker asked refused it is the request refused (the bot records
classifier_error). A proxy's 413 says which limit to raise."""

from __future__ import annotations

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine, RemoteRequestRefused


def nginx_413(request: httpx.Request) -> httpx.Response:
    page = b"<html><head><title>413 Request Entity Too Large</title></head></html>"
    return httpx.Response(413, content=page, headers={"Content-Type": "text/html"})


def worker_413(request: httpx.Request) -> httpx.Response:
    error = "the image is larger than this worker's limit of 1000 bytes"
    return httpx.Response(413, json={"error": error})


def worker_400(request: httpx.Request) -> httpx.Response:
    return httpx.Response(400, json={"error": "unknown concept set 'x'"})


def healthy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=verdict(request.content))


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def workers(answers: dict):
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        return answers[request.url.host](request)

    return httpx.MockTransport(handler), asked


@pytest.mark.parametrize("refusal", [nginx_413, worker_413, worker_400])
def test_a_refusal_by_one_worker_asks_the_next(refusal):
    mock, asked = workers({"w1": refusal, "w2": healthy})
    with RemoteEngine(URLS, TOKEN, transport=mock) as engine:
        image = b"a large image"
        assert engine.classify_many([image])[0].sha256 == verdict(image)["sha256"]
        assert asked == {"w1": 1, "w2": 1}
        engine.classify_many([b"another"])
        if refusal is worker_400:
            # it refused the concept set every request names, not the image: asked after
            # the next for a while (tests/test_h24_wrk_unaccepted_backoff.py)
            assert asked == {"w1": 1, "w2": 2}
        else:
            # it refused that image: it is asked first for the next one
            assert asked == {"w1": 2, "w2": 2}


def test_refused_by_every_worker_is_refused_and_each_is_asked_once():
    mock, asked = workers({"w1": nginx_413, "w2": worker_413})
    with (
        RemoteEngine(URLS, TOKEN, transport=mock) as engine,
        pytest.raises(RemoteRequestRefused) as refused,
    ):
        engine.classify_many([b"a large image"])
    assert asked == {"w1": 1, "w2": 1}
    said = str(refused.value)
    assert "nginx's client_max_body_size" in said, "a proxy's 413 says which limit to raise"
    assert "larger than this worker's limit of 1000 bytes" in said
    assert said.count("client_max_body_size") == 1, "the worker's own 413 says its own limit"


def test_refused_by_one_while_another_is_down_is_unavailable():
    """The worker that is down may take it when it is back: looked at again."""
    mock, asked = workers({"w1": worker_413, "w2": down})
    with (
        RemoteEngine(URLS, TOKEN, transport=mock, max_backoff=0.1) as engine,
        pytest.raises(ClassifierUnavailable, match="cannot connect"),
    ):
        engine.classify_many([b"a large image"])
    assert asked["w1"] == 1, "not asked again for the image it refused"
