"""`modbot gate`'s decisions, in process: a `Gate` on a stand-in classifier, asked over
ASGI as pict-rs asks it (the stored bytes, their `Content-Type`). Fast cases of what
tests/test_gate.py drives through the real command: which hash lists refuse at the
door, and the time budget kept however long the files take to hash."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from pathlib import Path

import httpx
import pytest

import modbot.rules
from modbot.config.policy import load_policy
from modbot.modes.gate import HASH_DECODES, Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
CLASSIFIER = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
"""


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A classifier that finds nothing, at once, and counts what it was given."""

    concept_version = "v1"
    random_weights = True

    def __init__(self) -> None:
        self.given = 0

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        self.given += 1
        return _Verdict()

    def close(self) -> None:
        pass


def gate_for(tmp_path: Path, rules: str, lists: dict[str, str]) -> Gate:
    for name, text in lists.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + rules)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


async def ask(gate: Gate, body: bytes, media_type: str = "image/png") -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.post(
            f"/validate/{SECRET}", content=body, headers={"Content-Type": media_type}
        )
        return answer.status_code, answer.json()


@pytest.mark.parametrize("kind", ["md5", "sha1", "sha256"])
def test_an_exact_hash_list_of_any_kind_refuses_at_the_door(tmp_path, kind):
    body = b"\x89PNG\r\n\x1a\n not really a picture"
    gate = gate_for(
        tmp_path,
        f"""
hash_lists:
  known-bad: {{kind: {kind}, file: bad.txt}}
rules:
  - name: known bad
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
""",
        {"bad.txt": hashlib.new(kind, body).hexdigest() + "\n"},
    )
    try:
        status, answer = asyncio.run(ask(gate, body))
        assert (status, answer["outcome"], answer["rule"]) == (406, "rejected", "known bad")
        assert gate.engine.given == 0  # a hash decided it: no classifier
        assert asyncio.run(ask(gate, body + b"!"))[0] == 200
    finally:
        gate.close()


def test_files_slow_to_hash_are_answered_within_the_budget(tmp_path, monkeypatch):
    """A perceptual hash decodes the file (a second or more for a large PNG, two at a
    time): files queued behind such decodes get `gate.on_timeout` within the budget, not
    an answer seconds later (past pict-rs' 30 s the upload fails whatever the policy);
    past it they are not decoded at all, and the hashes of the bytes still refuse."""
    real, decoded = modbot.rules.hashes_of, []

    def slow_hashes_of(data, kinds):
        decoded.append(threading.get_ident())
        time.sleep(1.0)
        return real(data, kinds)

    monkeypatch.setattr(modbot.rules, "hashes_of", slow_hashes_of)
    known_bad = b"\x89PNG\r\n\x1a\n known bad"
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
  known-bad: {kind: sha256, file: bad.txt}
gate: {budget: 0.5s, on_timeout: reject}
rules:
  - name: known bad
    if: {type: incoming, hash_list: [look-alikes, known-bad]}
    then: {reject: true}
""",
        {"phash.txt": "8000000000000001\n", "bad.txt": hashlib.sha256(known_bad).hexdigest()},
    )

    async def timed(body: bytes) -> tuple[float, int, str]:
        start = time.monotonic()
        status, answer = await ask(gate, body)
        return time.monotonic() - start, status, answer["outcome"]

    async def many() -> list[tuple[float, int, str]]:
        files = [b"\x89PNG\r\n\x1a\n file %d" % n for n in range(6)]
        return await asyncio.gather(*(timed(body) for body in [*files, known_bad]))

    try:
        answers = asyncio.run(many())
        assert [(s, o) for _, s, o in answers] == [(503, "refused_without_verdict")] * 6 + [
            (406, "rejected")
        ]
        assert max(t for t, _, _ in answers) < 0.5 + 0.4, answers
        assert len(decoded) <= HASH_DECODES  # the files past the budget: not decoded
        assert gate.counters["refused_without_verdict"] == 6
        assert gate.engine.given == 0
    finally:
        gate.close()
