"""A worker behind a TLS proxy whose body limit is under the worker's own (nginx's
default client_max_body_size is 1 MB; the README asks for a proxy in front): the
proxy's 413 page for every larger photo made the image "refused" (RemoteRequestRefused),
which the bot records as classifier_error and marks seen: never classified, not even
once the admin raised the proxy's limit, and no line in the log but a warning per image.
A proxy's 413 is a setting to fix, not the image's fault: the image is skipped as
classifier_unavailable (looked at again), and the log says which limit to raise, at
most every 5 minutes a worker."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import httpx

from classifier.remote import RemoteEngine
from modbot.classify import CLASSIFIER_UNAVAILABLE, judge

TOKEN = "bot-token-0123456789abcdefgh"
VERSION = "0123456789abcdef"
LIMIT = 1000  # the proxy's body limit, in bytes


class NoCache:
    async def get(self, sha256: str, concept_version: str) -> None:
        return None

    def put(self, sha256: str, concept_version: str, verdict: dict) -> None:
        raise AssertionError("nothing to cache: no verdict came")


def behind_nginx(asked: list[str]) -> httpx.MockTransport:
    """A worker (its /v1/info) behind a proxy that refuses bodies over LIMIT."""

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/v1/info":
            return httpx.Response(
                200,
                json={
                    "model": "ViT-L-14/openai",
                    "concept_version": VERSION,
                    "random_weights": False,
                    "deepdanbooru": True,
                    "max_body": 40 << 20,
                },
            )
        if len(request.content) > LIMIT:
            page = b"<html><head><title>413 Request Entity Too Large</title></head></html>"
            return httpx.Response(413, content=page, headers={"Content-Type": "text/html"})
        raise AssertionError("only large images are sent in this test")

    return httpx.MockTransport(handler)


def test_a_proxys_413_leaves_the_image_to_be_looked_at_again(caplog):
    caplog.set_level(logging.WARNING)
    asked: list[str] = []
    with RemoteEngine(["https://gpu.example"], TOKEN, transport=behind_nginx(asked)) as engine:
        engine.check()
        photos = [bytes([i]) * (LIMIT * 2) for i in range(3)]
        judged = [
            asyncio.run(judge(engine, NoCache(), hashlib.sha256(p).hexdigest(), p)) for p in photos
        ]
    for one in judged:
        # looked at again next cycle (pipeline: only classifier_unavailable is), not
        # recorded classifier_error and marked seen for ever
        assert one.skipped == CLASSIFIER_UNAVAILABLE, one
        assert "client_max_body_size" in one.detail
    assert asked.count("/v1/classify") == 3, "each image sent once: the proxy refuses it again"
    said = [r.getMessage() for r in caplog.records if "client_max_body_size" in r.getMessage()]
    assert len(said) == 1, f"said once, not per image: {said}"
    assert "https://gpu.example" in said[0]
    assert "looked at again" in said[0]
    assert TOKEN not in caplog.text
