"""What the gate's /healthz and ``modbot healthcheck --http`` say of a classifier that
gives no verdict: the last failure whole. With two workers, the remote classifier's
reason names each (each one's own reason bounded, marked with "…"). Before, /healthz
kept the first 300 characters of it: a first worker's long error (its CUDA message)
left the second worker, and why it failed, out, cut mid-word with nothing saying so;
and ``modbot healthcheck --http`` printed the first 300 characters of the answer's JSON,
so the admin read neither the second worker nor what to look at."""

from __future__ import annotations

import httpx
from test_gate_decide import SECRET, gate_for

from classifier.remote import RemoteEngine
from classifier.service import WorkerServer, bind_socket
from modbot.modes.gate import NO_VERDICT_UNHEALTHY, Gate
from modbot.modes.health import http_health

INFO = {"model": "m", "random_weights": True, "concept_version": "0123456789abcdef"}
CUDA = "CUDA error: an illegal memory access was encountered. " * 8


def workers(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1/info":
        return httpx.Response(200, json=INFO)
    if request.url.host == "w1":  # its GPU gone bad: a long error
        return httpx.Response(503, json={"error": f"the model failed: {CUDA}"})
    raise httpx.ConnectError("connection refused")  # w2 is down


def test_healthz_and_healthcheck_say_the_whole_failure(tmp_path):
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    engine = RemoteEngine(
        ["http://w1:8095", "http://w2:8095"],
        "token",
        transport=httpx.MockTransport(workers),
        allow_random_weights=True,
    )
    engine.check()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))  # type: ignore[arg-type]
    server.start()
    try:
        for n in range(NO_VERDICT_UNHEALTHY):
            answer = httpx.post(
                f"{server.url}/validate/{SECRET}",
                content=b"\x89PNG\r\n\x1a\n file %d" % n,
                headers={"Content-Type": "image/png"},
                timeout=30,
            )
            assert answer.json()["outcome"] == "allowed_without_verdict", answer.text
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503
        problem = health.json()["problem"]
        # before: cut at 300 characters, inside w1's reason
        assert "http://w2:8095: cannot connect: connection refused" in problem, problem
        assert "…; http://w2:8095" in problem, "w1's reason says where it was cut"
        ok, line = http_health(f"{server.url}/healthz")
        assert not ok
        # before: "{'ok': False, 'problem': 'the classifier gave no ver" ... 300 characters
        assert "HTTP 503, not ok: the classifier gave no verdict" in line, line
        assert "http://w2:8095: cannot connect" in line, line
        assert line.endswith("classifier.remote) and the gate's log"), line
    finally:
        server.stop()
        gate.close()
        engine.close()
        made.store.close()
