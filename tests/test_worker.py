"""`modbot worker`: the classifier over HTTP, started for real (uvicorn on 127.0.0.1,
port 0) with the tiny random-weights model. One worker serves the whole module; the
command itself is started once, in a child process, at the end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from classifier import ConceptSet, CustomConcept, Engine, Verdict, load_model
from classifier.service import (
    Client,
    WorkerConfig,
    WorkerServer,
    WorkerService,
    bind_socket,
    hash_token,
)
from classifier.tiny import tiny_spec, write_random_checkpoint
from fakelemmy import hostile

ALICE = "alice-token-0123456789abcdef"  # unlimited
BOB = "bob-token-0123456789abcdefgh"  # 2 images a minute
CAROL = "carol-token-0123456789abcdef"  # for the concept-set tests
MAX_BODY = 200_000
GORE = (CustomConcept("gore", ("a photo of a mutilated body", "gore"), 0.2),)


def client(name: str, token: str, quota: int | None) -> Client:
    return Client(name, bytes.fromhex(hash_token(token).split(":")[1]), quota)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return load_model(tiny_spec(checkpoint))


@pytest.fixture(scope="module")
def worker(loaded, tmp_path_factory):
    config = WorkerConfig(
        clients=[client("alice", ALICE, None), client("bob", BOB, 2), client("carol", CAROL, None)],
        max_body=MAX_BODY,
        named_sets={"gore": GORE},
        max_concept_sets=2,
        max_batch=16,
        max_wait_ms=50,
        text_cache_dir=tmp_path_factory.mktemp("text-cache"),
    )
    service = WorkerService(loaded, config)
    server = WorkerServer(service, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        service.close()


def post(worker, data: bytes, token: str | None = ALICE, **headers) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{worker.url}/v1/classify", content=data, headers=headers, timeout=60)


def version_with(loaded, custom) -> str:
    """The concept version an in-process engine has with these concepts."""
    with Engine(loaded, ConceptSet.builtin(custom=custom)) as engine:
        return engine.concept_version


def test_an_image_gets_the_verdict_the_engine_gives(worker, photos):
    answer = post(worker, photos["coffee"], **{"Content-Type": "image/jpeg"})
    assert answer.status_code == 200, answer.text
    verdict = Verdict.from_dict(answer.json())
    (direct,) = worker.service.default_engine.classify_many([photos["coffee"]])
    assert answer.json().keys() == direct.to_dict().keys()
    assert verdict.labels == direct.labels and verdict.sha256 == direct.sha256
    assert verdict.model == "modbot-tiny/random-weights" and verdict.random_weights
    assert verdict.concept_version == direct.concept_version
    assert verdict.scores == pytest.approx(direct.scores, abs=1e-6)


def test_bodies_that_are_not_images_get_unreadable_verdicts(worker):
    for body, media_type, reason in [
        (hostile.html_page(), "text/html", "not an image"),
        (b"", "image/jpeg", "empty"),
        (hostile.truncated_jpeg(), "image/jpeg", "truncated"),
    ]:
        answer = post(worker, body, **{"Content-Type": media_type})
        assert answer.status_code == 200, answer.text
        verdict = answer.json()
        assert reason in verdict["unreadable"]
        assert verdict["labels"] == [] and verdict["scores"] == {} and verdict["regions"] == 0
        assert verdict["concept_version"] == worker.service.default_engine.concept_version


def test_a_body_over_the_cap_is_413_declared_or_streamed(worker):
    before = worker.service.counters["too_large"]
    big = hostile.large_file(MAX_BODY + 1)
    answer = post(worker, big)  # Content-Length says it
    assert answer.status_code == 413 and str(MAX_BODY) in answer.json()["error"]

    def chunks():  # no Content-Length: chunked, as pict-rs sends
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    answer = httpx.post(
        f"{worker.url}/v1/classify",
        content=chunks(),
        timeout=60,
        headers={"Authorization": f"Bearer {ALICE}"},
    )
    assert answer.status_code == 413
    assert worker.service.counters["too_large"] == before + 2
    assert post(worker, big[:MAX_BODY]).status_code == 200, "the cap itself is allowed"


def test_a_missing_or_unknown_token_is_401_and_never_logged(worker, photos, caplog):
    caplog.set_level(logging.DEBUG)
    worker.service._refusal_logged = 0.0  # (a line a minute at most)
    missing = post(worker, photos["coffee"], token=None)
    assert missing.status_code == 401 and "missing token" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = post(worker, photos["coffee"], token="not-a-token-of-this-worker")
    assert wrong.status_code == 401 and "unknown token" in wrong.json()["error"]
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    basic = post(worker, photos["coffee"], token=None, Authorization=f"Basic {ALICE}")
    assert basic.status_code == 401
    info = httpx.get(f"{worker.url}/v1/info", headers={"Authorization": "Bearer nope"})
    assert info.status_code == 401
    assert "refused" in caplog.text, "refusals are logged (the peer, never the token)"
    assert "not-a-token-of-this-worker" not in caplog.text and ALICE not in caplog.text


def test_a_client_over_its_quota_gets_429_with_retry_after(worker, photos):
    assert post(worker, photos["chelsea"], token=BOB).status_code == 200
    assert post(worker, photos["chelsea"], token=BOB).status_code == 200
    over = post(worker, photos["chelsea"], token=BOB)
    assert over.status_code == 429, over.text
    assert int(over.headers["retry-after"]) >= 1
    assert "'bob'" in over.json()["error"] and "2 images a minute" in over.json()["error"]
    info = httpx.get(f"{worker.url}/v1/info", headers={"Authorization": f"Bearer {BOB}"})
    assert info.status_code == 429, "an info request counts too (it may build a concept set)"
    assert post(worker, photos["chelsea"], token=ALICE).status_code == 200, (
        "others are not affected"
    )


def test_concurrent_requests_from_several_clients_share_batches(worker, photos):
    engine = worker.service.default_engine
    before = dict(engine.stats)
    bodies = [photos[name] for name in sorted(photos)] * 4  # 20 requests at once

    async def burst():
        async with httpx.AsyncClient(timeout=60) as http:
            return await asyncio.gather(
                *(
                    http.post(
                        f"{worker.url}/v1/classify",
                        content=body,
                        headers={"Authorization": f"Bearer {(ALICE, CAROL)[i % 2]}"},
                    )
                    for i, body in enumerate(bodies)
                )
            )

    answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [200] * len(bodies)
    assert engine.stats["images"] - before["images"] == len(bodies)
    batches = engine.stats["batches"] - before["batches"]
    assert batches < len(bodies), "concurrent requests land in shared batches"
    # the same image gives the same verdict whatever batch it was in
    by_sha = {}
    for a in answers:
        by_sha.setdefault(a.json()["sha256"], set()).add(tuple(a.json()["labels"]))
    assert all(len(v) == 1 for v in by_sha.values())


def test_healthz_says_model_device_queue_and_rate_without_a_token(worker, photos):
    assert post(worker, photos["astronaut"]).status_code == 200
    health = httpx.get(f"{worker.url}/healthz").json()
    assert health["ok"] is True and health["model_loaded"] is True
    assert health["model"] == "modbot-tiny/random-weights" and health["random_weights"] is True
    assert health["device"] == "cpu"
    assert health["queue_depth"] == 0
    assert health["images_per_s"] > 0 and health["window_s"] == 60
    assert health["images"] >= 1 and health["batches"] >= 1
    assert health["concept_sets"]["named"] == ["gore"]
    assert "alice" not in json.dumps(health), "no client names for anyone who asks"


def test_healthz_with_a_trailing_slash_is_healthz(worker):
    # `modbot healthcheck --http http://worker:8095/healthz/` (an easy slip in a compose
    # file) got a 307 it does not follow: "no answer", the container unhealthy for ever
    answer = httpx.get(f"{worker.url}/healthz/")
    assert answer.status_code == 200, answer.status_code
    assert answer.json()["ok"] is True


def test_a_client_sends_its_own_concept_set(worker, loaded, photos):
    probe = {"probe": {"prompts": ["a photo of a cat"], "threshold": 0.0}}
    header = {"X-Modbot-Concepts": json.dumps(probe)}
    expected = version_with(loaded, [CustomConcept("probe", ("a photo of a cat",), 0.0)])
    info = httpx.get(
        f"{worker.url}/v1/info", headers={"Authorization": f"Bearer {CAROL}", **header}
    )
    assert info.status_code == 200, info.text
    assert info.json()["concept_version"] == expected and info.json()["concepts"] == ["probe"]
    answer = post(worker, photos["chelsea"], token=CAROL, **header)
    assert answer.status_code == 200, answer.text
    verdict = answer.json()
    assert verdict["concept_version"] == expected != worker.service.default_engine.concept_version
    assert "probe" in verdict["scores"]
    plain = post(worker, photos["chelsea"], token=CAROL).json()
    assert "probe" not in plain["scores"] and plain["scores"]["nsfw"] == pytest.approx(
        verdict["scores"]["nsfw"], abs=1e-6
    )

    # at most max_concept_sets (2) sets sent by clients are kept
    for n in range(3):
        extra = {f"extra{n}": {"prompts": [f"a photo of {n} dogs"], "threshold": 0.3}}
        assert (
            post(
                worker, photos["chelsea"], token=CAROL, **{"X-Modbot-Concepts": json.dumps(extra)}
            ).status_code
            == 200
        )
    assert len(worker.service.sets.sent) == 2
    assert httpx.get(f"{worker.url}/healthz").json()["concept_sets"]["sent"] == 2


@pytest.mark.parametrize(
    "sent, said",
    [
        ("{not json", "not valid JSON"),
        ("[" * 4000, "not valid JSON"),  # nested past the parser's depth: RecursionError
        (json.dumps({"csam": {"prompts": ["x"], "threshold": 0.2}}), "built-in score"),
        (json.dumps({"gore": {"prompts": ["x"], "threshold": 5}}), "cosine similarity"),
        (json.dumps({"gore": {"prompts": [], "threshold": 0.2}}), "non-empty list"),
        (json.dumps({"gore": {"prompts": ["x" * 400], "threshold": 0.2}}), "longer than 300"),
        (
            json.dumps({f"c{i}": {"prompts": ["x"], "threshold": 0.2} for i in range(40)}),
            "at most 32",
        ),
        (json.dumps({"gore": {"prompts": ["x" * 290] * 30, "threshold": 0.2}}), "over 8192 bytes"),
    ],
)
def test_a_bad_concept_set_is_400_with_the_reason(worker, photos, sent, said):
    """400, never 500: a client reads 500 as the worker down and fails over."""
    answer = post(worker, photos["chelsea"], token=CAROL, **{"X-Modbot-Concepts": sent})
    assert answer.status_code == 400 and said in answer.json()["error"], answer.text
    info = httpx.get(
        f"{worker.url}/v1/info",
        headers={"Authorization": f"Bearer {CAROL}", "X-Modbot-Concepts": sent},
    )
    assert info.status_code == 400 and said in info.json()["error"], info.text


def test_a_named_concept_set_served_by_the_worker(worker, loaded, photos):
    answer = post(worker, photos["chelsea"], token=CAROL, **{"X-Modbot-Concept-Set": "gore"})
    assert answer.status_code == 200
    assert "gore" in answer.json()["scores"]
    assert answer.json()["concept_version"] == version_with(loaded, GORE)
    unknown = post(worker, photos["chelsea"], token=CAROL, **{"X-Modbot-Concept-Set": "spam"})
    assert unknown.status_code == 400 and "serves: gore" in unknown.json()["error"]


# -- the command ----------------------------------------------------------------------------


def test_worker_command_needs_tokens_and_makes_them(tmp_path):
    env = {**os.environ}
    env.pop("MODBOT_WORKER_TOKENS_FILE", None)
    env.pop("MODBOT_WORKER_TOKENS", None)
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "no client tokens" in done.stderr
    bad = tmp_path / "tokens"
    bad.write_text("small short 10\n")
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "worker", "--tokens-file", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and f"{bad}:1:" in done.stderr and "shorter than 16" in done.stderr
    assert "short 10" not in done.stderr, "a token is never repeated"
    made = subprocess.run(
        [sys.executable, "-m", "modbot", "worker", "--new-token", "small", "--quota", "60"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = made.stdout.splitlines()[1].strip()
    line = made.stdout.splitlines()[3].strip()
    assert line.startswith("small sha256:") and line.endswith(" 60") and token not in line


def test_worker_command_serves_until_sigterm(checkpoint, photos, tmp_path):
    token = "cli-token-0123456789abcdef"
    (tmp_path / "tokens").write_text(
        f"# who may use this worker\ncli {hash_token(token)} unlimited\n"
    )
    port_file = tmp_path / "port"
    env = {
        **os.environ,
        "MODBOT_WORKER_TOKENS_FILE": str(tmp_path / "tokens"),
        "MODBOT_TEXT_CACHE_DIR": str(tmp_path / "text-cache"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modbot",
            "worker",
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(port_file),
            "--model",
            "modbot-tiny",
            "--pretrained",
            "none",
            "--checkpoint",
            str(checkpoint),
            "--device",
            "cpu",
            "--allow-random-weights",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        assert httpx.get(f"{url}/healthz").json()["ok"] is True
        answer = httpx.post(
            f"{url}/v1/classify",
            content=photos["coffee"],
            timeout=60,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
        )
        assert answer.status_code == 200 and answer.json()["model"] == "modbot-tiny/random-weights"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "listening on http://127.0.0.1:" in out
    assert token not in out + err
