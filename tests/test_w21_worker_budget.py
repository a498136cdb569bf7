"""An image over the worker's whole decode budget is unreadable, and the reason names
the setting that raises that budget: the worker's --decode-memory, not rules.yaml's
classifier.decode_memory (unused by a bot on classifier.remote)."""

from __future__ import annotations

from starlette.testclient import TestClient

from classifier import load_model
from classifier.service import WorkerConfig, WorkerService
from classifier.tiny import tiny_spec
from fakelemmy import hostile


def test_a_refusal_of_the_workers_budget_names_its_setting(tiny_checkpoint, tmp_path):
    service = WorkerService(
        load_model(tiny_spec(tiny_checkpoint)),
        WorkerConfig(text_cache_dir=tmp_path, decode_memory=50_000_000),
    )
    try:
        answer = TestClient(service.app).post("/v1/classify", content=hostile.png_rgba(4000, 4000))
    finally:
        service.close()
    said = answer.json()["unreadable"]
    assert said.endswith("decode budget of 50 MB (modbot worker --decode-memory)"), said
