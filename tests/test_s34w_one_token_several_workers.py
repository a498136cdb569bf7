"""A bot with two workers run by different admins (its own GPU box, and a trusted larger
instance's worker as the backup): the bot sends its one MODBOT_CLASSIFIER_TOKEN to
every worker in classifier.remote, but when one refused it the bot stopped saying "set
MODBOT_CLASSIFIER_TOKEN to a token that worker's admin gave you", which breaks the
other worker (each `--new-token` is a fresh random token). The message now says the
one token goes to every worker, and how that worker's admin can take this same token:
its digest as a tokens-file line, never the token itself."""

from __future__ import annotations

import httpx
import pytest

from classifier.remote import RemoteEngine, WorkerRefused

TOKEN = "bot-token-0123456789abcdefgh"
URLS = ["https://gpu.home.example", "https://workers.big.example"]
INFO = {
    "model": "ViT-L-14/openai",
    "concept_version": "0123456789abcdef",
    "random_weights": False,
    "deepdanbooru": True,
    "max_body": 40 << 20,
}


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "gpu.home.example":
        return httpx.Response(200, json=INFO)
    return httpx.Response(
        401,
        json={"error": "unknown token: ask this worker's admin for one"},
        headers={"WWW-Authenticate": 'Bearer realm="modbot-worker", error="invalid_token"'},
    )


def test_a_refusal_among_several_workers_says_the_one_token_goes_to_all():
    with (
        RemoteEngine(URLS, TOKEN, transport=httpx.MockTransport(handler)) as engine,
        pytest.raises(WorkerRefused) as refused,
    ):
        engine.check()
    said = str(refused.value)
    assert "https://workers.big.example" in said
    assert "https://gpu.home.example" not in said, "the worker that took it is not blamed"
    assert "every worker in classifier.remote" in said
    assert "sha256:" in said and "sha256sum" in said, "how the other admin takes this token"
    assert TOKEN not in said


def test_one_worker_keeps_the_short_advice():
    with (
        RemoteEngine(URLS[1:], TOKEN, transport=httpx.MockTransport(handler)) as engine,
        pytest.raises(WorkerRefused) as refused,
    ):
        engine.check()
    assert "a token that worker's admin gave you" in str(refused.value)
    assert "every worker" not in str(refused.value)
