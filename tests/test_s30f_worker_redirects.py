"""A worker URL that redirects (an `http://` address whose proxy sends every request to
`https://`, or a worker moved) was said as "does not answer now (answered 301 Moved
Permanently); it is tried again when images come", and each image as "answered 301":
nothing said where to, and trying again never helps. Redirects are not followed (the
token would go wherever it points); the bot now says the address it redirects to, as
the one to give classifier.remote."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN

from classifier.remote import ClassifierUnavailable, RemoteEngine


def to_https(request: httpx.Request) -> httpx.Response:
    moved = request.url.copy_with(scheme="https", port=None)
    return httpx.Response(301, headers={"Location": str(moved)}, text="Moved")


def test_a_redirecting_worker_is_said_with_where_it_redirects(caplog):
    caplog.set_level(logging.WARNING)
    with RemoteEngine(
        ["http://gpu.example:8095"], TOKEN, transport=httpx.MockTransport(to_https)
    ) as engine:
        engine.check()
        with pytest.raises(ClassifierUnavailable) as caught:
            engine.classify_many([b"an image"])
    # (the bot records the first 300 characters with the skipped image: modbot/classify.py)
    for said in (caplog.text, str(caught.value)[:300]):
        assert "redirects to https://gpu.example (301" in said, said
        assert "classifier.remote" in said
    assert "tried again when images come" not in caplog.text
    assert TOKEN not in caplog.text


def test_a_relative_redirect_is_said_as_a_whole_address():
    def relative(request: httpx.Request) -> httpx.Response:
        return httpx.Response(308, headers={"Location": "/modbot" + request.url.path})

    with (
        RemoteEngine(
            ["http://gpu.example:8095"], TOKEN, transport=httpx.MockTransport(relative)
        ) as engine,
        pytest.raises(
            ClassifierUnavailable,
            match=re.escape("redirects to http://gpu.example:8095/modbot (308"),
        ),
    ):
        engine.classify_many([b"an image"])
