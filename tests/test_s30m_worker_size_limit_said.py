"""A worker whose size limit (its `--max-bytes`, `max_body` in its /v1/info) is under
the largest image the bot sends it (`fetch.max_bytes`, 25 MB by default; the gate's
`gate.max_bytes`) refuses every image in between (413): the bot skipped each as
classifier_error, marked seen and never classified, and nothing said so at start. Now
the start warns, naming the worker, both sizes and what to set."""

from __future__ import annotations

import httpx
from support.policies import _policy_head
from support.worker import TOKEN

from classifier.remote import RemoteEngine
from modbot.classify import build_engine
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.config.settings import Secret

INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


def said(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "classifier.remote" and "--max-bytes" in r.getMessage()
    ]


def test_the_check_names_a_worker_taking_less_than_the_largest_image(caplog):
    limits = {"w1": 10_000_000, "w2": 25_000_000}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**INFO, "max_body": limits[request.url.host]})

    with RemoteEngine(
        ["http://w1:8095", "http://w2:8095"],
        TOKEN,
        transport=httpx.MockTransport(handler),
        largest_image=(25_000_000, "fetch.max_bytes"),
    ) as engine:
        engine.check()
    (line,) = said(caplog)  # w2 takes the largest image: not said
    assert "http://w1:8095" in line and "w2" not in line
    assert "10,000,000 bytes" in line and "25,000,000 bytes of fetch.max_bytes" in line
    assert "--max-bytes 25000000 or more" in line
    assert "lower fetch.max_bytes to 10000000" in line
    assert "classifier_error" in line


def _rules(tmp_path, tiny, worker, tail: str):
    path = tmp_path / "rules.yaml"
    head = _policy_head(tiny.checkpoint, tmp_path, (), f', remote: ["{worker.url}"]')
    path.write_text(f"{head}\n{tail}\nrules: []\n")
    return path


def test_the_bot_warns_at_start_of_a_worker_under_fetch_max_bytes(tmp_path, tiny, worker, caplog):
    # the test worker takes 40 MiB, its default (pict-rs' own limit)
    policy = load_policy(_rules(tmp_path, tiny, worker, "fetch: {max_bytes: 50MB}"))
    build_engine(policy, Secret(TOKEN)).close()
    (line,) = said(caplog)
    assert worker.url in line and "41,943,040 bytes" in line
    assert "50,000,000 bytes of fetch.max_bytes" in line


def test_the_bot_says_nothing_of_a_worker_that_takes_its_largest_image(
    tmp_path, tiny, worker, caplog
):
    policy = load_policy(_rules(tmp_path, tiny, worker, "fetch: {max_bytes: 40MB}"))
    build_engine(policy, Secret(TOKEN)).close()
    assert said(caplog) == []


def test_modbot_gate_warns_at_start_of_a_worker_under_gate_max_bytes(
    tmp_path, tiny, worker, monkeypatch, caplog
):
    rules = _rules(tmp_path, tiny, worker, "gate: {max_bytes: 60MB}")
    monkeypatch.setenv("MODBOT_GATE_SECRET", "gate-secret-0123456789abcdef")
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    monkeypatch.setenv("MODBOT_RULES", str(rules))
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    taken = tmp_path / "port"
    taken.mkdir()  # the gate stops once listening (it cannot write its port file)
    assert main(["gate", "--listen", "127.0.0.1:0", "--port-file", str(taken)]) == 1
    (line,) = said(caplog)
    assert worker.url in line and "60,000,000 bytes of gate.max_bytes" in line
