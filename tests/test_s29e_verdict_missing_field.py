"""A worker (or a proxy in front of one) that answers 200 with a JSON object lacking a
verdict's field: the error the admin reads names the field that is missing, not just
its name in quotes ("not a verdict ('labels')")."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from classifier.remote import RemoteEngine, RemoteError
from classifier.verdict import Verdict

TOKEN = "bot-token-0123456789abcdefgh"
INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


def _verdict(data: bytes) -> dict:
    return {
        "labels": [],
        "scores": {"subject": 0.05, "underage": -0.2, "nsfw": -0.1, "anime": -0.3, "csam": -0.2},
        "model": "m",
        "random_weights": False,
        "concept_version": "0123456789abcdef",
        "sha256": hashlib.sha256(data).hexdigest(),
    }


@pytest.mark.parametrize("field", ["labels", "scores", "model", "random_weights"])
def test_a_verdict_without_a_field_says_which_is_missing(field):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        answer = _verdict(request.content)
        del answer[field]
        return httpx.Response(200, json=answer)

    with (
        RemoteEngine(["http://w1:8095"], TOKEN, transport=httpx.MockTransport(handler)) as engine,
        pytest.raises(RemoteError) as caught,
    ):
        engine.classify_many([b"an image"])
    assert f"{field}: missing" in str(caught.value), str(caught.value)


def test_from_dict_raises_value_error_for_a_missing_field():
    answer = _verdict(b"x")
    del answer["concept_version"]
    with pytest.raises(ValueError, match="concept_version: missing"):
        Verdict.from_dict(answer)
