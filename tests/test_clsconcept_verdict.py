"""A verdict read back from JSON (a classifier worker's answer) is checked field by
field: a broken or foreign answer is refused, never half-read."""

from __future__ import annotations

import json

import pytest

from classifier.verdict import Verdict

GOOD = {
    "labels": ["csam", "nsfw", "underage"],
    "scores": {"csam": 0.01, "nsfw": 0.02, "underage": 0.01, "anime": -0.05, "subject": 0.1},
    "prompt_scores": {"child": 0.236, "nude": 0.24},
    "matched": {"underage": ["child"], "nsfw": ["nude"]},
    "model": "ViT-L-14/openai",
    "random_weights": False,
    "concept_version": "0123456789abcdef",
    "unreadable": None,
    "regions": 1,
    "sha256": "ab" * 32,
    "deepdanbooru": "not_needed",
    "danbooru": {},
}


def test_a_verdict_round_trips_through_json():
    v = Verdict.from_dict(json.loads(json.dumps(GOOD)))
    assert v.to_dict() == GOOD
    assert Verdict.from_dict(v.to_dict()) == v


@pytest.mark.parametrize(
    "field,value",
    [
        ("labels", "csam"),  # was read as the labels c, s, a, m
        ("labels", [1]),
        ("scores", {"csam": True, "nsfw": 0.02, "underage": 0.01}),  # was a margin of 1.0
        ("scores", {"csam": "0.3", "nsfw": 0.02, "underage": 0.01}),
        ("scores", {"csam": float("nan"), "nsfw": 0.02, "underage": 0.01}),
        ("scores", {"csam": float("inf"), "nsfw": 0.02, "underage": 0.01}),
        ("scores", {"csam": -0.2, "nsfw": 0.02, "underage": 0.01}),  # a label without its score
        ("scores", {"nsfw": 0.02, "underage": 0.01}),
        ("scores", [0.1]),
        ("prompt_scores", {"child": float("nan")}),
        ("danbooru", {"rating:safe": "1e9"}),
        ("matched", {"nsfw": "nude"}),  # was read as n, u, d, e
        ("matched", ["nude"]),
        ("model", 5),
        ("concept_version", 7),
        ("random_weights", "false"),  # was read as true
        ("regions", 2.7),
        ("regions", True),
        ("regions", -1),
        ("sha256", None),
        ("unreadable", 1),
        ("deepdanbooru", 3),
    ],
)
def test_a_field_of_the_wrong_type_is_refused(field, value):
    data = {**GOOD, field: value}
    with pytest.raises((ValueError, TypeError)):
        Verdict.from_dict(json.loads(json.dumps(data)))


def test_not_an_object_is_refused():
    for data in ([], "verdict", None, 3):
        with pytest.raises((ValueError, TypeError)):
            Verdict.from_dict(data)  # type: ignore[arg-type]
