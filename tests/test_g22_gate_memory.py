"""The upload gate's memory bound (fetch.max_bytes_held, /healthz
`waiting_for_verdict`) counts every body it still holds after its answer."""

from __future__ import annotations

import asyncio
import threading

from test_gate_decide import Local, ask, gate_for, health, png

import modbot.modes.gate


def test_a_body_still_decoding_for_its_hash_after_the_answer_stays_counted(tmp_path, monkeypatch):
    """A perceptual hash's decode past the budget finishes in its thread, with the
    file's bytes: they stay in the bytes the gate holds until it ends. Before, they were
    given back with the answer, so the files pict-rs sent next could fill the whole
    bound while the decodes still held theirs (two files of up to gate.max_bytes)."""
    real, go = modbot.modes.gate.decoded_hashes, threading.Event()

    def slow_decoded_hashes(*args):
        go.wait(10)
        return real(*args)

    monkeypatch.setattr(modbot.modes.gate, "decoded_hashes", slow_decoded_hashes)
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
gate: {budget: 0.3s, on_timeout: allow}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes}
    then: {reject: true}
""",
        {"phash.txt": "8000000000000001\n"},
    )
    body = b"\x89PNG\r\n\x1a\n" + bytes(100_000)

    async def scenario() -> None:
        status, answer = await ask(gate, body)
        assert (status, answer["why"].split(":")[0]) == (200, "timeout")
        # the decode runs on in its thread, holding the body
        assert (await health(gate))["waiting_for_verdict"]["bytes"] == len(body)
        go.set()
        for _ in range(500):
            if gate._held == 0:
                break
            await asyncio.sleep(0.01)
        assert gate._held == 0  # given back once the decode ended

    try:
        asyncio.run(scenario())
    finally:
        go.set()
        gate.close()


def test_a_hash_decode_that_waited_past_the_budget_for_memory_is_not_made(tmp_path, monkeypatch):
    """The decode for a perceptual hash waits for room in the classifier's decode
    budget. One still waiting when the file's budget is spent has no one to answer any
    more: it is not made when the room comes (no CPU, no memory, and its turn is free
    for the next file). Before, every such file was decoded after its answer."""
    import modbot.hashes

    real, decoded = modbot.hashes.hashes_of, []

    def counting_hashes_of(data, kinds):
        decoded.append(len(data))
        return real(data, kinds)

    monkeypatch.setattr(modbot.hashes, "hashes_of", counting_hashes_of)
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
gate: {budget: 0.3s, on_timeout: allow}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes}
    then: {reject: true}
""",
        {"phash.txt": "8000000000000001\n"},
    )
    gate.engine = engine = Local(decode_memory=8_000_000)
    busy = engine.decode_budget.charge(8_000_000)  # the classifier's own decodes

    async def scenario() -> None:
        status, answer = await ask(gate, png(200, 200, 10))
        assert (status, answer["why"].split(":")[0]) == (200, "timeout")
        busy.release()  # room comes, after the answer
        for _ in range(500):
            if gate._held == 0:
                break
            await asyncio.sleep(0.01)
        assert gate._held == 0

    try:
        asyncio.run(scenario())
        assert decoded == []  # before: decoded once the room came
        assert engine.decode_budget.in_use == 0
    finally:
        gate.close()
