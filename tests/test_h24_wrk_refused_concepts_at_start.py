"""At start, a worker that refuses the concepts the bot sends (or the concept set it
names) stops the command with a message that says what to change: which concept in
rules.yaml, the worker's limits, or the worker's `--concepts` setting. It used to repeat
the worker's error alone (`http://...: X-Modbot-Concepts: concept 'gore': ...`)."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from support.worker import TOKEN

import classifier.service as service
from classifier import load_model
from classifier.remote import RemoteEngine, RemoteRequestRefused
from classifier.service import Client, WorkerConfig, WorkerServer, WorkerService, bind_socket
from classifier.tiny import tiny_spec
from fakelemmy import hostile
from modbot.cli import main

RULES = """
classifier: {{remote: [{url}], allow_random_weights: true}}
concepts:
  gore: {{prompts: ["gore", "a bloody wound"], threshold: 0.2}}
  weapons: {{prompts: ["a gun"], threshold: 0.2}}
rules:
  - name: gore
    if: {{labels: gore}}
    then: {{report: "gore"}}
"""


LIMITS: dict[str, int] = {}  # the worker's own limits, tighter than the bot's


@pytest.fixture(scope="module")
def worker(tiny_checkpoint, tmp_path_factory):
    """A worker of another version, with tighter limits on concept sets (``LIMITS``)
    than the bot's (which checks its `concepts:` against its own when it loads them)."""
    digest = bytes.fromhex(service.hash_token(TOKEN).split(":")[1])
    config = WorkerConfig(
        clients=[Client("bot", digest, None)],
        text_cache_dir=tmp_path_factory.mktemp("text-cache"),
    )
    svc = WorkerService(load_model(tiny_spec(tiny_checkpoint)), config)
    app = svc.app

    async def tighter(scope, receive, send):
        with mock.patch.multiple(service, **LIMITS) if LIMITS else contextlib.nullcontext():
            await app(scope, receive, send)

    svc.app = tighter
    server = WorkerServer(svc, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        svc.close()


@pytest.fixture
def limits():
    yield LIMITS
    LIMITS.clear()


@pytest.fixture
def classify(worker, tmp_path, monkeypatch, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(url=worker.url))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(hostile.jpeg())
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)

    def run() -> tuple[int, str]:
        status = main(["classify", "--rules", str(rules), str(photo)])
        return status, capsys.readouterr().err.replace("\n", " ")

    return run


def test_a_refused_concept_is_named_with_what_to_change_in_rules_yaml(classify, limits):
    limits["MAX_PROMPT_CHARS"] = 5
    status, said = classify()
    assert status == 2
    assert "concept 'gore': a prompt is longer than 5 characters" in said
    assert "Change the concept 'gore' in rules.yaml's `concepts:`" in said
    assert TOKEN not in said


def test_a_refusal_of_the_whole_set_says_the_workers_limits(classify, limits):
    limits["MAX_CUSTOM_CONCEPTS"] = 1
    status, said = classify()
    assert status == 2
    assert "2 concepts; at most 1" in said
    assert "Change rules.yaml's `concepts:`" in said


def test_an_unknown_concept_set_says_the_workers_setting(worker):
    with (
        RemoteEngine([worker.url], TOKEN, concept_set="nsfl", allow_random_weights=True) as engine,
        pytest.raises(RemoteRequestRefused) as refused,
    ):
        engine.check()
    assert "unknown concept set 'nsfl'" in str(refused.value)
    assert "modbot worker --concepts nsfl=FILE" in str(refused.value)
