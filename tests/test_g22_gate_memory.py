"""The upload gate's memory bound (fetch.max_bytes_held, /healthz
`waiting_for_verdict`) counts every body it still holds after its answer."""

from __future__ import annotations

import asyncio
import threading

from test_gate_decide import ask, gate_for, health

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
