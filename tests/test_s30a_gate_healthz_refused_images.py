"""The gate's /healthz and uploads the classifier's workers refuse as such. /healthz
turns 503 once the classifier gave no verdict on ``NO_VERDICT_UNHEALTHY`` files in a
row (every worker down, a model failing on every image). Before, a file every worker
refused for itself (413: over the workers' size limit; the upload's fault, as a worker
that answered says) counted as the classifier failing, so five such uploads in a row,
by one user, made a false alarm on a healthy classifier. Now such a refusal is a worker
that answered: /healthz stays ok, and a verdict was not needed to show it. Each such file
still gets ``gate.on_timeout`` and its record says why."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from test_gate_decide import SECRET, ask, gate_for
from test_s29j_gate_healthz_no_classifier import healthz

from classifier.remote import RemoteEngine
from modbot.modes.gate import NO_VERDICT_UNHEALTHY, Gate

INFO = {"model": "m", "random_weights": True, "concept_version": "0123456789abcdef"}
VERDICT = {
    "labels": ["photo"],
    "scores": {"photo": 0.9, "subject": 0.1, "underage": -0.1, "nsfw": -0.1, "anime": -0.1}
    | {"csam": -0.1},
    "model": "m",
    "random_weights": True,
    "concept_version": "0123456789abcdef",
}
LIMIT = 100  # the workers' --max-bytes


def worker(request: httpx.Request) -> httpx.Response:
    """A modbot worker: its info, a 413 (its own, JSON) for an image over its limit, else
    a verdict on the image sent."""
    if request.url.path == "/v1/info":
        return httpx.Response(200, json=INFO)
    if len(request.content) > LIMIT:
        error = f"the image is larger than this worker's limit of {LIMIT} bytes"
        return httpx.Response(413, json={"error": error})
    sha256 = hashlib.sha256(request.content).hexdigest()
    return httpx.Response(200, json={**VERDICT, "sha256": sha256})


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def gate_on(tmp_path, answer) -> tuple[Gate, RemoteEngine]:
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    engine = RemoteEngine(
        ["http://w1:8095", "http://w2:8095"],
        "token",
        transport=httpx.MockTransport(answer),
        allow_random_weights=True,
        max_backoff=0.01,
    )
    return Gate(made.policy, made.store, engine, secret=SECRET), engine


def big(n: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"%d" % n * LIMIT


def test_uploads_every_worker_refuses_are_not_a_failing_classifier(tmp_path):
    gate, engine = gate_on(tmp_path, worker)

    async def scenario() -> None:
        for n in range(NO_VERDICT_UNHEALTHY + 2):
            status, answer = await ask(gate, big(n))
            assert (status, answer["outcome"]) == (200, "allowed_without_verdict"), answer
            assert "refused the request (413)" in answer["why"], answer
        status, body = await healthz(gate)
        # before: 503, ok false, "the classifier gave no verdict on the last 7 files"
        assert (status, body["ok"]) == (200, True), body
        assert "problem" not in body, body
        assert body["allowed_without_verdict"] == NO_VERDICT_UNHEALTHY + 2
        # the classifier answers files it takes
        status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n small")
        assert (status, answer["outcome"]) == (200, "accepted"), answer

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
        engine.close()
    records = gate.store.decisions()  # each refused file recorded, with why
    gate.store.close()
    refused = [r for r in records if r["gate"]["outcome"] == "allowed_without_verdict"]
    assert len(refused) == NO_VERDICT_UNHEALTHY + 2
    assert all("refused the request (413)" in r["gate"]["why"] for r in refused)


def test_workers_down_still_make_healthz_503(tmp_path):
    gate, engine = gate_on(tmp_path, down)

    async def scenario() -> None:
        for n in range(NO_VERDICT_UNHEALTHY):
            status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n file %d" % n)
            assert answer["outcome"] == "allowed_without_verdict", answer
        status, body = await healthz(gate)
        assert (status, body["ok"]) == (503, False), body
        assert f"the last {NO_VERDICT_UNHEALTHY} files in a row" in body["problem"], body
        assert "classifier_unavailable" in body["problem"], body

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
        engine.close()
        gate.store.close()
