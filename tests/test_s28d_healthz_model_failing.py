"""A worker whose model fails on every image (a GPU gone bad: "CUDA error: an illegal
memory access", out of memory for good) says so on /healthz: not ok, HTTP 503, and why,
so that a load balancer stops sending it images and `modbot healthcheck --http` (the
compose file's healthcheck) reports it. Before, /healthz said ok: true while every
classify got 503: the bots behind it skipped every image, and nothing flagged the
worker. One image the model fails on alone (a hostile one) is not that; a verdict
made again makes it ok."""

from __future__ import annotations

import httpx
import pytest

from classifier import load_model
from classifier.service import WorkerConfig, WorkerServer, WorkerService, bind_socket
from classifier.tiny import tiny_spec
from modbot.modes.health import http_health


@pytest.fixture(scope="module")
def worker(tiny_checkpoint, tmp_path_factory):
    loaded = load_model(tiny_spec(tiny_checkpoint))
    config = WorkerConfig(max_wait_ms=5, text_cache_dir=tmp_path_factory.mktemp("text-cache"))
    service = WorkerService(loaded, config)
    server = WorkerServer(service, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        service.close()


def test_healthz_is_not_ok_while_the_model_fails_on_every_image(worker, photos, monkeypatch):
    engine = worker.service.default_engine

    def gpu_gone(regions):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    url = f"{worker.url}/healthz"
    post = f"{worker.url}/v1/classify"
    with monkeypatch.context() as patched:
        patched.setattr(engine, "_similarities", gpu_gone)
        answer = httpx.post(post, content=photos["coffee"], timeout=60)
        assert answer.status_code == 503
        assert http_health(url)[0], "one image failing alone is not a worker failing"
        for _ in range(5):
            assert httpx.post(post, content=photos["coffee"], timeout=60).status_code == 503
        health = httpx.get(url, timeout=10)
        assert health.status_code == 503
        said = health.json()
        assert said["ok"] is False and said["model_loaded"] is True
        assert "RuntimeError" in said["problem"] and "restart" in said["problem"]
        ok, line = http_health(url)
        assert not ok and "not ok" in line
    # the model works again: a verdict makes it ok
    assert httpx.post(post, content=photos["coffee"], timeout=60).status_code == 200
    health = httpx.get(url, timeout=10)
    assert health.status_code == 200 and health.json()["ok"] is True
    assert "problem" not in health.json()
