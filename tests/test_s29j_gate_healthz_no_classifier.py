"""The gate's /healthz while its classifier gives no verdict on any file (every worker
of ``classifier.remote`` down, a local model failing on every image): every upload is
decided by ``gate.on_timeout``, stored unchecked or refused. Before, /healthz said ok:
true with 200, so the compose file's healthcheck (``modbot healthcheck --http``) called
the gate healthy, and only the admins' hourly report said otherwise. Now, as a worker's
/healthz does for its model, once the classifier failed on ``NO_VERDICT_UNHEALTHY``
files in a row with no verdict since, /healthz answers 503, ok false and a problem
saying what failed and what to look at; one file it fails on alone is not that, and the
next verdict makes it ok again."""

from __future__ import annotations

import asyncio

import httpx
from test_gate_decide import SECRET, Engine, ask, gate_for

from modbot.modes.gate import Gate


class Switchable(Engine):
    """A classifier whose workers are all down until ``up`` is set."""

    up = False

    async def classify(self, data: bytes):
        from classifier.remote import ClassifierUnavailable

        if not self.up:
            raise ClassifierUnavailable("no worker answered (connection refused)")
        return await super().classify(data)


async def healthz(gate: Gate) -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.get("/healthz")
        return answer.status_code, answer.json()


def test_healthz_is_not_ok_while_the_classifier_gives_no_verdict(tmp_path):
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    engine = Switchable()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)

    async def scenario() -> None:
        for n in range(4):  # a few failures: not yet
            status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n file %d" % n)
            assert answer["outcome"] == "allowed_without_verdict", answer
        assert (await healthz(gate))[0] == 200
        await ask(gate, b"\x89PNG\r\n\x1a\n file 4")
        status, body = await healthz(gate)
        # before: 200, ok true
        assert (status, body["ok"]) == (503, False), body
        assert "classifier_unavailable" in body["problem"], body
        assert "5 files in a row" in body["problem"], body
        engine.up = True
        status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n file 5")
        assert answer["outcome"] == "accepted", answer
        status, body = await healthz(gate)
        assert (status, body["ok"]) == (200, True) and "problem" not in body, body

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
        made.store.close()
