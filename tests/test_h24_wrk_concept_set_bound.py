"""--max-concept-sets bounds the engines a worker has built for the concept sets
clients send, at every moment: a burst of requests with distinct sets waits for a slot
(or gets 503), it does not build one engine each. Driven in-process (ASGI)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from classifier import load_model
from classifier import service as service_module
from classifier.service import CONCEPTS_HEADER, WorkerConfig, WorkerService
from classifier.tiny import tiny_spec

MAX_SETS = 2
BURST = 8


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


class Counted(service_module.Engine):
    """The worker's Engine, counting the ones alive (built and not closed)."""

    alive = 0
    peak = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).alive += 1
        type(self).peak = max(type(self).peak, type(self).alive)
        self._counted = True

    def close(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            type(self).alive -= 1
        super().close()


def concepts(n: int) -> str:
    return json.dumps(
        {f"thing{n}": {"prompts": [f"a photo of thing number {n}"], "threshold": 0.2}}
    )


def test_a_burst_of_distinct_concept_sets_never_holds_more_engines_than_the_limit(
    loaded, tmp_path, photos, monkeypatch
):
    monkeypatch.setattr(service_module, "Engine", Counted)
    Counted.alive = Counted.peak = 0
    config = WorkerConfig(max_concept_sets=MAX_SETS, max_wait_ms=20, text_cache_dir=tmp_path)
    service = WorkerService(loaded, config)
    fixed = Counted.alive  # the default engine (no named sets)
    image = next(iter(photos.values()))

    async def main():
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w", timeout=60) as c:
            return await asyncio.gather(
                *(
                    c.post("/v1/classify", content=image, headers={CONCEPTS_HEADER: concepts(n)})
                    for n in range(BURST)
                )
            )

    try:
        answers = asyncio.run(main())
        health = asyncio.run(_healthz(service))
    finally:
        service.close()
    assert [a.status_code for a in answers] == [200] * BURST, [a.text for a in answers]
    assert {f"thing{n}" for n in range(BURST)} == {
        next(k for k in a.json()["scores"] if k.startswith("thing")) for a in answers
    }
    assert Counted.peak - fixed <= MAX_SETS
    assert health["concept_sets"]["sent"] <= MAX_SETS


async def _healthz(service: WorkerService) -> dict:
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
        return (await c.get("/healthz")).json()


def test_a_new_set_while_every_slot_is_in_use_waits_then_gets_503_naming_the_setting(
    loaded, tmp_path, photos, monkeypatch
):
    monkeypatch.setattr(service_module, "SET_SLOT_WAIT", 0.2)
    config = WorkerConfig(max_concept_sets=MAX_SETS, max_wait_ms=20, text_cache_dir=tmp_path)
    service = WorkerService(loaded, config)
    image = next(iter(photos.values()))

    async def main():
        held = [
            await service.sets.acquire(service_module.parse_concepts(json.loads(concepts(n))), None)
            for n in range(MAX_SETS)
        ]  # two requests still using their sets
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w", timeout=60) as c:
            refused = await c.post(
                "/v1/classify", content=image, headers={CONCEPTS_HEADER: concepts(99)}
            )
            await service.sets.release(held[0])  # one is done: its slot is free
            served = await c.post(
                "/v1/classify", content=image, headers={CONCEPTS_HEADER: concepts(99)}
            )
        await service.sets.release(held[1])
        return refused, served

    try:
        refused, served = asyncio.run(main())
    finally:
        service.close()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert "--max-concept-sets" in refused.json()["error"]
    assert served.status_code == 200 and "thing99" in served.json()["scores"]
    assert len(service.sets.sent) == MAX_SETS


def test_a_503_for_a_slot_is_busy_and_costs_no_quota(loaded, tmp_path, monkeypatch):
    import hashlib

    from classifier.service import Client

    monkeypatch.setattr(service_module, "SET_SLOT_WAIT", 0.1)
    token = "slot-token-0123456789abcdef"
    bob = Client("bob", hashlib.sha256(token.encode()).digest(), 1)  # 1 request a minute
    config = WorkerConfig(clients=[bob], max_concept_sets=1, text_cache_dir=tmp_path)
    service = WorkerService(loaded, config)

    async def main():
        held = await service.sets.acquire(
            service_module.parse_concepts(json.loads(concepts(1))), None
        )
        transport = httpx.ASGITransport(app=service.app)
        headers = {"Authorization": f"Bearer {token}", CONCEPTS_HEADER: concepts(2)}
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
            busy = await c.get("/v1/info", headers=headers)
            await service.sets.release(held)
            served = await c.get("/v1/info", headers=headers)
        return busy, served

    try:
        busy, served = asyncio.run(main())
    finally:
        service.close()
    assert busy.status_code == 503
    assert service.counters["busy"] == 1
    assert served.status_code == 200, served.text  # the 503 did not use bob's one request
    assert served.json()["concepts"] == ["thing2"]
