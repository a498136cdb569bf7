"""The gate's /healthz while the classifier is down and some uploads are files it has a
verdict on already (re-uploads: the verdict cache answers them, the classifier is not
asked). /healthz turns 503 once the classifier gave no verdict on
``NO_VERDICT_UNHEALTHY`` files in a row. Before, a verdict from the cache counted as
the classifier answering and started the count again, so with a re-upload among every
few new files /healthz said ok for ever while every new file got ``gate.on_timeout``
(stored unchecked). Now only a verdict the classifier made ends the run."""

from __future__ import annotations

import asyncio

from test_gate_decide import SECRET, ask, gate_for
from test_s29j_gate_healthz_no_classifier import Switchable, healthz

from modbot.modes.gate import NO_VERDICT_UNHEALTHY, Gate

KNOWN = b"\x89PNG\r\n\x1a\n a meme everybody posts"


def test_cached_verdicts_do_not_hide_a_classifier_that_is_down(tmp_path):
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    engine = Switchable()
    engine.up = True
    gate = Gate(made.policy, made.store, engine, secret=SECRET)

    async def scenario() -> None:
        status, answer = await ask(gate, KNOWN)  # classified once: its verdict is cached
        assert answer["outcome"] == "accepted", answer
        for _ in range(50):  # (the cache is written off the event loop)
            if gate.state.writes_waiting == 0:
                break
            await asyncio.sleep(0.05)
        engine.up = False
        for n in range(NO_VERDICT_UNHEALTHY):
            status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n new file %d" % n)
            assert answer["outcome"] == "allowed_without_verdict", answer
            status, answer = await ask(gate, KNOWN)  # a re-upload: the cache answers
            assert answer["outcome"] == "accepted", answer
        status, body = await healthz(gate)
        # before: 200, ok true (each cached verdict started the count again)
        assert (status, body["ok"]) == (503, False), body
        assert f"the last {NO_VERDICT_UNHEALTHY} files" in body["problem"], body
        assert body["cache_hits"] == NO_VERDICT_UNHEALTHY, body
        engine.up = True  # the classifier's own verdict makes it ok again
        status, answer = await ask(gate, b"\x89PNG\r\n\x1a\n classified again")
        assert answer["outcome"] == "accepted", answer
        status, body = await healthz(gate)
        assert (status, body["ok"]) == (200, True), body

    try:
        asyncio.run(scenario())
    finally:
        gate.close()
        made.store.close()
