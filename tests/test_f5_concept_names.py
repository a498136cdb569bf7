"""One rule for a custom concept's name: what rules.yaml refuses, the worker (its concepts
file, a client's X-Modbot-Concepts, CustomConcept) refuses too, and the other way round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.concepts import ConceptError, CustomConcept
from classifier.service import parse_concepts
from modbot.config.checks import validate

ACCEPTED = ["gore", "g", "hate_symbols", "x9", "a" * 40]
REFUSED = ["gore\n", "hate-symbols", "Gore", "9lives", "_x", "a" * 41, "", "gore "]
RESERVED = ["unreadable", "nsfw", "csam", "subject", "danbooru_nsfw"]


def _rules_refuse(tmp_path: Path, name: str) -> bool:
    text = "concepts:\n  " + json.dumps(name) + ': {prompts: ["x"], threshold: 0.2}\n'
    checked = validate(text, "rules.yaml", tmp_path)
    return any("concept" in p.message and not p.warning for p in checked.problems)


def _worker_refuses(name: str) -> bool:
    try:
        parse_concepts(json.loads(json.dumps({name: {"prompts": ["x"], "threshold": 0.2}})))
    except ConceptError:
        return True
    return False


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_good_name_is_taken_on_both_sides(tmp_path: Path, name: str) -> None:
    assert CustomConcept(name, ("x",), 0.2).name == name
    assert not _worker_refuses(name)
    assert not _rules_refuse(tmp_path, name)


@pytest.mark.parametrize("name", REFUSED)
def test_a_bad_name_is_refused_on_both_sides_with_the_same_rule(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConceptError, match=r"lower-case letters, digits or '_', starting with"):
        CustomConcept(name, ("x",), 0.2)
    assert _worker_refuses(name)
    assert _rules_refuse(tmp_path, name)


@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_name_is_refused_on_both_sides(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConceptError, match="is a built-in score or label"):
        CustomConcept(name, ("x",), 0.2)
    assert _worker_refuses(name)
    assert _rules_refuse(tmp_path, name)


def _worker_limits_refused(
    tmp_path: Path, concepts: dict, remote: bool = True
) -> tuple[bool, bool]:
    lines = "".join(
        f"  {name}: {{prompts: {json.dumps(prompts)}, threshold: 0.2}}\n"
        for name, prompts in concepts.items()
    )
    classifier = "classifier: {remote: 'http://worker.example:8095'}\n" if remote else ""
    checked = validate(classifier + "concepts:\n" + lines, "rules.yaml", tmp_path)
    rules = any(not p.warning for p in checked.problems)
    data = {n: {"prompts": p, "threshold": 0.2} for n, p in concepts.items()}
    return rules, _worker_refuses_set(data)


def _worker_refuses_set(data: dict) -> bool:
    from classifier.service import MAX_CONCEPTS_BYTES, concepts_header

    try:
        parsed = parse_concepts(data)
    except ConceptError:
        return True
    # the header it comes in is refused over its limit before it is parsed
    return len(concepts_header(parsed) or "") > MAX_CONCEPTS_BYTES


@pytest.mark.parametrize(
    "concepts,refused",
    [
        ({"gore": ["x" * 300]}, False),
        ({"gore": ["x" * 301]}, True),
        ({f"c{i}": ["x"] for i in range(32)}, False),
        ({f"c{i}": ["x"] for i in range(33)}, True),
        ({f"c{i}": [f"p{j}" for j in range(8)] for i in range(32)}, False),
        ({f"c{i}": [f"p{j}" for j in range(8)] + ["q"] for i in range(29)}, True),
        # the header a worker takes: 8 KiB, a character outside ASCII 6 bytes of it
        ({"gore": ["x" * 290] * 30}, True),
        ({"gore": ["\u0436" * 150] * 10}, True),
        ({"gore": ["\u0436" * 150] * 8}, False),
    ],
)
def test_rules_yaml_refuses_the_concepts_a_worker_would_refuse(
    tmp_path: Path, concepts: dict, refused: bool
) -> None:
    """A concept set the worker refuses made every image of a bot with classifier.remote
    a 400; check-rules now says so first."""
    assert _worker_limits_refused(tmp_path, concepts) == (refused, refused)


def test_a_local_classifier_takes_concepts_a_worker_would_refuse(tmp_path: Path) -> None:
    """The worker's limits are a worker's: without classifier.remote, nothing is sent."""
    many = {f"c{i}": ["x" * 301] for i in range(33)}
    assert _worker_limits_refused(tmp_path, many, remote=False) == (False, True)
