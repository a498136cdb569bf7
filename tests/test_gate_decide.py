"""`modbot gate`'s decisions, in process: a `Gate` on a stand-in classifier, asked over
ASGI as pict-rs asks it (the stored bytes, their `Content-Type`). Fast cases of what
tests/test_gate.py drives through the real command: which hash lists refuse at the
door."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
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
