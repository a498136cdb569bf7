"""A worker URL that answers 200 to anything (a web server's catch-all page, a captive
portal) while no worker has said its concept version: every image asked its /v1/info,
took the page as an answer (which reset the worker's backoff), logged "/v1/info is not
what a modbot worker answers" again, and asked it for the verdict twice: a warning per
image, a backoff that never grew. Such an answer is now a broken worker's, as a page
for a verdict is: the backoff grows, and the log says it once, at start."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN

from classifier.remote import ClassifierUnavailable, RemoteEngine


def test_a_catch_all_page_is_no_answer_and_said_once(caplog):
    caplog.set_level(logging.WARNING)
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, html="<html>Welcome to nginx!</html>")

    with RemoteEngine(["http://w:8095"], TOKEN, transport=httpx.MockTransport(handler)) as engine:
        engine.check()  # at start: said
        asked.clear()
        for i in range(8):  # as judge() does for each image
            with pytest.raises(ClassifierUnavailable) as caught:
                asyncio.run(engine.ready())
                engine.classify_many([b"image %d" % i])
            assert "not what a modbot worker answers" in str(caught.value)
    said = [r.getMessage() for r in caplog.records if "not what a modbot worker" in r.getMessage()]
    assert len(said) == 1, said
    assert "/v1/classify" not in asked, "no image is sent to what is not a worker"
    assert len(asked) <= 4, f"left alone longer after each failure: {asked}"
