"""The gate's default `max_bytes` is pict-rs' own default `media.max_file_size`, 40, which
pict-rs reads in MiB (its `MEGABYTES = 1024 * 1024`): 41,943,040 bytes. Before, the gate's
default was 40,000,000, so a file of 40,000,001 to 41,943,040 bytes that pict-rs takes
was answered 413 by a gate set up as documented, and the upload failed."""

from __future__ import annotations

import asyncio

import httpx

from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
rules:
  - name: flagged at the door
    if: {type: incoming, labels: [csam]}
    then: {reject: true}
"""
PICTRS_DEFAULT = 40 * 1024 * 1024


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A remote-like classifier that finds nothing."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


def status_of(tmp_path, size: int) -> int:
    (tmp_path / "rules.yaml").write_text(RULES)
    policy = load_policy(tmp_path / "rules.yaml")
    gate = Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)

    async def ask() -> int:
        transport = httpx.ASGITransport(app=gate.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            answer = await client.post(
                f"/validate/{SECRET}",
                content=b"\x89PNG\r\n\x1a\n" + bytes(size - 8),
                headers={"Content-Type": "image/png"},
            )
            return answer.status_code

    try:
        return asyncio.run(ask())
    finally:
        gate.close()


def test_a_file_pictrs_takes_by_its_default_is_not_refused_as_too_large(tmp_path):
    assert status_of(tmp_path, 40_000_001) != 413  # was 413: "over gate.max_bytes"


def test_a_file_over_pictrs_default_is_refused_as_too_large(tmp_path):
    assert status_of(tmp_path, PICTRS_DEFAULT + 1) == 413
