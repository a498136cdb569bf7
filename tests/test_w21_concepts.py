"""A concept set whose threshold is an integer too large for a float (JSON allows
one): a 400 saying so from the worker, and a clear error from `modbot worker
--concepts`, not a 500 with a traceback (OverflowError)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from classifier import load_model
from classifier.service import WorkerConfig, WorkerService
from classifier.tiny import tiny_spec
from modbot.cli import main

HUGE = '{"gore": {"prompts": ["gore"], "threshold": 1' + "0" * 400 + "}}"
SAID = "concept 'gore': threshold: not a cosine similarity (between -1 and 1)"


@pytest.fixture(scope="module")
def service(tiny_checkpoint, tmp_path_factory):
    made = WorkerService(
        load_model(tiny_spec(tiny_checkpoint)),
        WorkerConfig(text_cache_dir=tmp_path_factory.mktemp("text-cache")),
    )
    yield made
    made.close()


def test_a_sent_set_with_a_huge_threshold_is_400(service):
    client = TestClient(service.app, raise_server_exceptions=False)
    headers = {"X-Modbot-Concepts": HUGE}
    for answer in (
        client.get("/v1/info", headers=headers),
        client.post("/v1/classify", headers=headers, content=b"img"),
    ):
        assert answer.status_code == 400, answer.text
        assert SAID in answer.json()["error"]


def test_a_named_set_with_a_huge_threshold_stops_the_worker_clearly(tmp_path, capsys):
    path = tmp_path / "gore.json"
    path.write_text(HUGE)
    assert main(["worker", "--no-auth", "--concepts", f"gore={path}"]) == 2
    assert SAID in capsys.readouterr().err


def test_a_concept_made_with_a_huge_integer_threshold_is_refused_as_out_of_range():
    """Wherever a concept is made (a concepts file, the safety set, rules.yaml's), not
    only through the worker's header: a ConceptError, not an OverflowError."""
    from classifier.concepts import ConceptError, CustomConcept

    with pytest.raises(ConceptError, match=r"threshold: 10000000000000000000\.\.\. is not a"):
        CustomConcept("gore", ("gore",), 10**400)
    with pytest.raises(ConceptError, match="must be a number"):
        CustomConcept("gore", ("gore",), float("nan"))
