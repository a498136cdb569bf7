"""The upload gate's memory bounds: the decode for a perceptual hash with a classifier
that runs elsewhere (``classifier.remote``), and the bodies pict-rs sends at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
