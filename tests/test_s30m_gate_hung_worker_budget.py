"""The gate did not give the remote classifier its budget: a first worker that takes the
image and never answers (its GPU hung, its HTTP side still accepting) had half of
`classifier.remote.timeout` (30 s of the default 60 s), far past `gate.budget`, so every
upload got `gate.on_timeout` although the second worker, healthy, was never asked in
time. Now every worker but the last is asked within the budget's time left; the gate
gets the second worker's verdict within its budget."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
from test_gate_decide import SECRET, ask, gate_for

from classifier.remote import RemoteEngine
from modbot.modes.gate import Gate

INFO = {"model": "m", "random_weights": True, "concept_version": "0123456789abcdef"}
VERDICT = {
    "labels": [],
    "scores": {"subject": 0.1, "underage": -0.1, "nsfw": -0.1, "anime": -0.1, "csam": -0.1},
    "model": "m",
    "random_weights": True,
    "concept_version": "0123456789abcdef",
}
BUDGET = 3.0


def test_a_hung_first_worker_leaves_the_gate_the_second_ones_verdict(tmp_path):
    asked: dict[str, int] = {}

    async def workers(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.host == "w1":
            await asyncio.sleep(3600)  # takes the image, never answers
        sha256 = hashlib.sha256(request.content).hexdigest()
        return httpx.Response(200, json={**VERDICT, "sha256": sha256})

    made = gate_for(tmp_path, f"gate: {{on_timeout: reject, budget: {BUDGET:g}s}}\n", {})
    made.close()
    engine = RemoteEngine(
        ["http://w1:8095", "http://w2:8095"],
        "token",
        transport=httpx.MockTransport(workers),
        allow_random_weights=True,
    )  # classifier.remote.timeout: the default 60 s
    engine.check()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)
    try:
        started = time.monotonic()
        status, answer = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n an upload"))
        took = time.monotonic() - started
    finally:
        gate.close()
        engine.close()
        made.store.close()
    # before: 503 refused_without_verdict ("no verdict within the 3s budget")
    assert (status, answer["outcome"]) == (200, "accepted"), answer
    assert asked == {"w1": 1, "w2": 1}
    assert took < BUDGET, "within gate.budget, the failover included"


def test_the_last_worker_keeps_its_time_and_its_late_verdict_is_cached(tmp_path):
    """A worker slower than the budget (the only one, or the last left) is not cut off
    at the budget: its verdict comes late and decides the next upload of the file."""

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        await asyncio.sleep(BUDGET)
        sha256 = hashlib.sha256(request.content).hexdigest()
        return httpx.Response(200, json={**VERDICT, "sha256": sha256})

    made = gate_for(tmp_path, f"gate: {{on_timeout: reject, budget: {BUDGET:g}s}}\n", {})
    made.close()
    engine = RemoteEngine(
        ["http://w1:8095"], "token", transport=httpx.MockTransport(slow), allow_random_weights=True
    )
    engine.check()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)
    body = b"\x89PNG\r\n\x1a\n uploaded twice"

    async def scenario() -> list[str]:
        outcomes = [(await ask(gate, body))[1]["outcome"]]
        await asyncio.sleep(1.0)  # the worker's verdict comes meanwhile
        outcomes.append((await ask(gate, body))[1]["outcome"])
        return outcomes

    try:
        outcomes = asyncio.run(scenario())
    finally:
        gate.close()
        engine.close()
        made.store.close()
    assert outcomes == ["refused_without_verdict", "accepted"]
