"""The gate's /healthz while its classifier answers every file, but always after
``gate.budget``: every upload gets ``gate.on_timeout`` (stored unchecked, or refused),
the gate decides nothing. Before, each late verdict (cached for the bot) started the
"no verdict" count again, so /healthz said ok: true with 200 for ever and the compose
file's healthcheck called the gate healthy. Now, once ``NO_VERDICT_UNHEALTHY`` files in
a row were not decided in time, /healthz answers 503 with a problem saying the
classifier is slow (not down), how late it is, what each upload got, and what to change;
A verdict within the budget makes it ok again."""

from __future__ import annotations

import asyncio

from test_gate_decide import SECRET, Engine, ask, gate_for
from test_s29j_gate_healthz_no_classifier import healthz

from modbot.modes.gate import NO_VERDICT_UNHEALTHY, Gate

BUDGET = 0.4


class Slow(Engine):
    """A classifier that answers every file, ``delay`` seconds after it was given it."""

    delay = 1.0

    async def classify(self, data: bytes):
        await asyncio.sleep(self.delay)
        return await super().classify(data)


def test_healthz_says_a_classifier_always_slower_than_the_budget(tmp_path):
    made = gate_for(tmp_path, f"gate: {{on_timeout: reject, budget: {BUDGET}s}}\n", {})
    made.close()
    engine = Slow()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)

    async def scenario() -> None:
        for n in range(NO_VERDICT_UNHEALTHY):
            status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n file %d" % n)
            assert (status, answer["outcome"]) == (503, "refused_without_verdict"), answer
            if n == 0:
                assert (await healthz(gate))[0] == 200, "one late file is not the gate failing"
        await asyncio.sleep(engine.delay + 0.3)  # every late verdict came (and was cached)
        assert engine.given == NO_VERDICT_UNHEALTHY
        status, body = await healthz(gate)
        # before: 200, ok true (each late verdict started the count again)
        assert (status, body["ok"]) == (503, False), body
        problem = body["problem"]
        assert f"the last {NO_VERDICT_UNHEALTHY} files in a row" in problem, problem
        assert f"within the {BUDGET:g}s gate.budget" in problem, problem
        assert "refused (gate.on_timeout: reject)" in problem, problem
        assert "its verdicts come late, the last after 1." in problem, problem  # how late, measured
        assert body["late_verdicts"] == NO_VERDICT_UNHEALTHY, body
        # a re-upload the late verdict was cached for is decided, but says nothing of
        # the classifier's speed: still not ok
        status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n file 0")
        assert (status, answer["outcome"]) == (200, "accepted"), answer
        assert (await healthz(gate))[0] == 503
        engine.delay = 0.0  # the classifier is fast again: its verdict in time makes it ok
        status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n in time")
        assert (status, answer["outcome"]) == (200, "accepted"), answer
        status, body = await healthz(gate)
        assert (status, body["ok"]) == (200, True) and "problem" not in body, body

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
        made.store.close()
