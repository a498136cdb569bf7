"""The upload gate's memory bounds: the decode for a perceptual hash with a classifier
that runs elsewhere (``classifier.remote``), and the bodies pict-rs sends at once."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from test_gate_decide import SECRET, Engine, ask, png

import modbot.rules
from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

LOOK_ALIKES = """
classifier: {{model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true,
  decode_memory: {memory}}}
hash_lists:
  look-alikes: {{kind: phash, file: phash.txt}}
rules:
  - name: look-alike
    if: {{type: incoming, hash_list: look-alikes}}
    then: {{reject: true}}
"""


def gate_for(tmp_path: Path, rules: str, lists: dict[str, str]) -> Gate:
    """A gate on a classifier with no decode budget of its own, as classifier.remote's."""
    for name, text in lists.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "rules.yaml").write_text(rules)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


def test_a_remote_classifiers_gate_decodes_for_a_perceptual_hash_within_a_budget(tmp_path):
    """With the classifier in a worker the gate has no classifier's decode budget: its
    decodes for a perceptual hash took whatever a 64-megapixel frame costs, two at a
    time. They hold their memory in a budget of classifier.decode_memory of their own,
    and a file too costly for it gets no perceptual hash, as with a local classifier."""
    small, large = png(200, 200, 10), png(6000, 6000, 20)  # 36 MP: ~144 MB of RGB
    lists = {
        "phash.txt": "".join(
            f"{modbot.rules.hashes_of(b, ['phash'])['phash']}\n" for b in (small, large)
        )
    }
    gate = gate_for(tmp_path, LOOK_ALIKES.format(memory="50MB"), lists)
    try:
        status, answer = asyncio.run(ask(gate, small))
        assert (status, answer["rule"]) == (406, "look-alike")
        status, answer = asyncio.run(ask(gate, large))
        assert (status, answer["outcome"]) == (200, "accepted")  # before: 406, decoded
        assert gate.hash_budget.refused == 1 and gate.hash_budget.in_use == 0
        assert 0 < gate.hash_budget.peak < 50_000_000
    finally:
        gate.close()


def test_bodies_received_at_once_hold_at_most_max_bytes_held(tmp_path):
    """pict-rs sends many files at once: each body was read whole before any bound was
    looked at, so six 1 MB uploads in flight held 6 MB under a 3 MB bound. The bodies
    being received now hold their bytes in it too: one that does not fit lets go of its
    body and is only hashed (its hashes and a cached verdict still decide), else it gets
    gate.on_timeout at once (`busy`)."""
    mb = 1_000_000
    rules = f"""
classifier: {{model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}}
fetch: {{max_bytes: {mb}, max_bytes_held: {3 * mb}}}
gate: {{budget: 5s, on_timeout: reject, max_bytes: {2 * mb}}}
hash_lists:
  known-bad: {{kind: md5, file: bad.md5}}
rules:
  - name: known bad
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
"""
    bad = bytes([9]) * mb
    gate = gate_for(tmp_path, rules, {"bad.md5": hashlib.md5(bad).hexdigest() + "\n"})
    senders, all_in = 0, asyncio.Event()
    tails = [asyncio.Event() for _ in range(6)]

    async def body(n: int) -> AsyncIterator[bytes]:
        nonlocal senders
        for _ in range(4):
            yield bytes([n]) * (mb // 4)
            await asyncio.sleep(0)
        senders += 1
        if senders == 6:
            all_in.set()
        await tails[n].wait()  # every body is in flight, all but its last byte
        yield bytes([n])

    async def post(n: int) -> dict:
        transport = httpx.ASGITransport(app=gate.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            answer = await client.post(
                f"/validate/{SECRET}", content=body(n), headers={"Content-Type": "image/png"}
            )
            return answer.json()

    async def scenario() -> list[dict]:
        posts = [asyncio.create_task(post(n)) for n in range(6)]
        await all_in.wait()
        for n in range(6):  # one file after the other: no two wait for a verdict at once
            tails[n].set()
            await posts[n]
        return [p.result() for p in posts]

    try:
        answers = asyncio.run(scenario())
        busy = [a for a in answers if a["why"].startswith("busy")]
        assert len(busy) >= 3, answers  # before: none, all six held at once
        assert all(a["outcome"] == "accepted" for a in answers if a not in busy), answers
        assert "fetch.max_bytes_held" in busy[0]["why"]
        assert gate._held == 0  # every body's bytes given back
        # the hashes of the bytes still refuse a file the gate could not keep
        gate._held = gate.max_held
        status, answer = asyncio.run(ask(gate, bad))
        assert (status, answer["rule"]) == (406, "known bad")
    finally:
        gate.close()
