"""The worker's memory bound: one decode budget for every concept set's engine, and one
budget for the image bodies it holds (received, or waiting for their verdict); and the
worker's --decode-memory and --deepdanbooru, which make its verdicts the bot's."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from classifier import CustomConcept, load_model
from classifier.service import WorkerConfig, WorkerService, concepts_header
from classifier.tiny import tiny_spec


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def test_every_concept_set_decodes_within_one_shared_decode_budget(loaded, tmp_path, photos):
    config = WorkerConfig(
        named_sets={"g": (CustomConcept("gore", ("gore",), 0.2),)},
        decode_memory=300_000_000,
        text_cache_dir=tmp_path,
    )
    service = WorkerService(loaded, config)

    async def main():
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
            for i in range(3):
                sent = concepts_header([CustomConcept(f"c{i}", (f"thing {i}",), 0.2)])
                answer = await c.post(
                    "/v1/classify", content=photos["astronaut"], headers={"X-Modbot-Concepts": sent}
                )
                assert answer.status_code == 200, answer.text
            return (await c.get("/healthz")).json()

    try:
        health = asyncio.run(main())
        engines = service.sets.engines()
        assert len(engines) == 5  # the default, "g" and the three sent
        assert {id(e.decode_budget) for e in engines} == {id(service.decode_budget)}
        assert service.decode_budget.total == 300_000_000
        assert health["decode_memory"]["total"] == 300_000_000
        assert 0 < health["decode_memory"]["peak"] <= 300_000_000
    finally:
        service.close()


def test_bodies_held_share_one_budget_and_a_body_over_it_is_503(loaded, tmp_path):
    config = WorkerConfig(max_body=1000, max_bytes_held=2500, text_cache_dir=tmp_path)
    service = WorkerService(loaded, config)
    answers: list[dict] = []

    async def slow_upload(gate: asyncio.Event, size: int = 1000, chunk: int = 250):
        """A client that sends all but its last byte, then waits for `gate`."""
        sent = 0

        async def receive():
            nonlocal sent
            if sent < size - 1:
                part = min(chunk, size - 1 - sent)
                sent += part
                return {"type": "http.request", "body": b"\0" * part, "more_body": True}
            await gate.wait()
            sent += 1
            return {"type": "http.request", "body": b"\0", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answers.append({"status": message["status"]})
            elif message["type"] == "http.response.body":
                answers[-1]["body"] = message.get("body", b"")

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/classify",
            "headers": [],
            "query_string": b"",
            "http_version": "1.1",
            "scheme": "http",
            "server": ("w", 80),
            "client": ("127.0.0.1", 5),
            "root_path": "",
        }
        await service.app(scope, receive, send)

    async def chunks(size: int, n: int):  # no Content-Length: the worker counts as it reads
        for _ in range(n):
            yield b"\0" * size

    async def main():
        gate = asyncio.Event()
        uploads = [asyncio.create_task(slow_upload(gate)) for _ in range(2)]
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
            for _ in range(100):  # the two slow ones hold 999 bytes each
                if (await c.get("/healthz")).json()["bytes_held"]["in_use"] == 1998:
                    break
                await asyncio.sleep(0.01)
            declared = await c.post("/v1/classify", content=b"\0" * 600)
            streamed = await c.post("/v1/classify", content=chunks(300, 3))
            held = (await c.get("/healthz")).json()
            gate.set()
            await asyncio.gather(*uploads)
            after = await c.post("/v1/classify", content=b"\0" * 600)
            return declared, streamed, held, after, (await c.get("/healthz")).json()

    try:
        declared, streamed, held, after, health = asyncio.run(main())
    finally:
        service.close()
    for refused in (declared, streamed):
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "2500 bytes" in refused.json()["error"]
    assert held["bytes_held"]["in_use"] == 1998 and held["bytes_held"]["total"] == 2500
    assert held["busy"] == 2
    assert [a["status"] for a in answers] == [200, 200], "the slow ones still get verdicts"
    assert json.loads(answers[0]["body"])["unreadable"]
    assert after.status_code == 200 and after.json()["unreadable"]
    assert health["bytes_held"]["in_use"] == 0


def test_the_bytes_held_cannot_be_less_than_one_body(loaded):
    with pytest.raises(ValueError, match="max_bytes_held"):
        WorkerService(loaded, WorkerConfig(max_body=1000, max_bytes_held=999))


def test_worker_command_takes_max_bytes_held(capsys):
    from modbot.cli import build_parser, main
    from modbot.cli.worker import worker_config

    args = build_parser().parse_args(["worker", "--no-auth", "--max-bytes-held", "2GB"])
    assert worker_config(args, {}, None).max_bytes_held == 2_000_000_000
    default = build_parser().parse_args(["worker", "--no-auth"])
    assert worker_config(default, {}, None).max_bytes_held == 1_000_000_000

    argv = ["worker", "--no-auth", "--max-bytes", "40MB", "--max-bytes-held", "10MB"]
    assert main(argv) == 2  # before any model is loaded
    err = capsys.readouterr().err
    assert "max_bytes_held (--max-bytes-held, 10000000 bytes) must hold at least one" in err


def test_worker_command_serves_the_bots_deepdanbooru_and_decode_memory(tiny_checkpoint, tmp_path):
    """A bot whose rules.yaml sets deepdanbooru and decode_memory gets, through a worker
    started with the same, the concept version (and so verdicts) its own model gives."""
    from classifier.deepdanbooru import DeepDanbooruError, write_random_weights
    from modbot.classify import local_concept_version
    from modbot.cli import build_parser
    from modbot.cli.worker import build_service, worker_config
    from modbot.config.policy import load_policy

    tags = ["rating:safe", "rating:questionable", "rating:explicit", "realistic", "bikini"]
    weights = write_random_weights(tmp_path / "model-resnet_custom_v3.pt", tags)
    (tmp_path / "rules.yaml").write_text(
        "classifier:\n"
        "  model: modbot-tiny\n"
        "  pretrained: null\n"
        f"  checkpoint: {tiny_checkpoint}\n"
        "  device: cpu\n"
        "  allow_random_weights: true\n"
        f"  deepdanbooru: {weights}\n"
        "  decode_memory: 2GB\n"
        "rules: []\n"
    )
    bots = local_concept_version(load_policy(tmp_path / "rules.yaml"))
    model = ["--model", "modbot-tiny", "--pretrained", "none", "--checkpoint", str(tiny_checkpoint)]
    model += ["--device", "cpu", "--allow-random-weights"]
    args = build_parser().parse_args(
        ["worker", "--no-auth", *model, "--deepdanbooru", str(weights), "--decode-memory", "2GB"]
    )
    service = build_service(args, worker_config(args, {}, None))
    try:
        assert service.default_engine.danbooru is not None
        assert service.decode_budget.total == 2_000_000_000
        assert service.default_engine.concept_version == bots
    finally:
        service.close()

    args = build_parser().parse_args(["worker", "--no-auth", *model, "--deepdanbooru", "off"])
    service = build_service(args, worker_config(args, {}, None))
    try:
        assert service.default_engine.danbooru is None
        assert service.decode_budget.total == 1_000_000_000
    finally:
        service.close()
    missing = build_parser().parse_args(
        ["worker", "--no-auth", *model, "--deepdanbooru", str(tmp_path / "none.pt")]
    )
    with pytest.raises(DeepDanbooruError, match=r"none\.pt do not exist"):
        build_service(missing, worker_config(missing, {}, None))


def test_check_rules_says_deepdanbooru_and_decode_memory_are_the_workers_with_remote(tmp_path):
    from modbot.config.checks import validate

    text = (
        "classifier:\n"
        "  remote: http://10.0.0.5:8095\n"
        "  deepdanbooru: off\n"
        "  decode_memory: 3GB\n"
        "rules: []\n"
    )
    problems = [str(p) for p in validate(text, "rules.yaml", tmp_path).problems]
    assert [p for p in problems if "classifier." in p] == [
        "rules.yaml:3: warning: classifier.deepdanbooru, classifier.decode_memory: the "
        "workers' with classifier.remote (start them with --deepdanbooru and --decode-memory; "
        "decode_memory here bounds only the decodes for a perceptual hash list)"
    ]
