"""The gate holds a request's body once. Before, the chunks pict-rs streamed were kept
in a list and joined at the end: for a moment the body was in memory twice, so a
gate whose fetch.max_bytes_held allows 40 MB held up to 80 MB (the bound counted one
copy). Measured with tracemalloc when the classifier is handed the body."""

from __future__ import annotations

import asyncio
import tracemalloc

import httpx

from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
MB = 1_000_000
SIZE = 16 * MB
CHUNK = 64 * 1024


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A classifier that finds nothing and notes the memory traced so far when given a
    file (the peak: while the gate was reading the body)."""

    concept_version = "v1"
    random_weights = True

    def __init__(self) -> None:
        self.peaks: list[int] = []
        self.sizes: list[int] = []

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        self.sizes.append(len(data))
        self.peaks.append(tracemalloc.get_traced_memory()[1])
        return _Verdict()

    def close(self) -> None:
        pass


def test_the_body_is_held_once(tmp_path):
    (tmp_path / "rules.yaml").write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}}
fetch: {{max_bytes: {2 * SIZE}, max_bytes_held: {4 * SIZE}}}
gate: {{budget: 20s, max_bytes: {2 * SIZE}}}
rules:
  - name: csam
    if: {{type: incoming, labels: [csam]}}
    then: {{reject: true}}
""")
    engine = Engine()
    gate = Gate(
        load_policy(tmp_path / "rules.yaml"),
        Store(tmp_path / "state.sqlite3"),
        engine,
        secret=SECRET,
    )

    async def chunks():
        # pict-rs streams the file (chunked): each chunk made here, traced, then let go
        for n in range(SIZE // CHUNK):
            yield bytes([n % 251]) * CHUNK

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=gate.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            tracemalloc.start()
            try:
                answer = await client.post(
                    f"/validate/{SECRET}", content=chunks(), headers={"Content-Type": "image/png"}
                )
            finally:
                tracemalloc.stop()
            return answer.status_code

    try:
        assert asyncio.run(scenario()) == 200
    finally:
        gate.close()
    assert engine.sizes == [SIZE - SIZE % CHUNK]
    (peak,) = engine.peaks
    # one copy, and the chunks and bookkeeping in flight; before: two copies (> 2 * SIZE)
    assert peak < 1.4 * SIZE, f"{peak / MB:.1f} MB traced for a {SIZE / MB:.0f} MB body"
