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
