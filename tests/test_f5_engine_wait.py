"""Engine's max_wait_ms must be a finite number of milliseconds: an inf (or a wait past
time_t) killed the inference thread at its first wait, and every classify hung."""

from __future__ import annotations

import math

import pytest

from classifier.concepts import ConceptSet, CustomConcept
from classifier.engine import MAX_WAIT_MS, Engine
from classifier.model import load_model
from classifier.tiny import tiny_spec


@pytest.mark.parametrize("wait", [math.inf, math.nan, -math.inf, -1, 1e300, MAX_WAIT_MS + 1])
def test_a_wait_that_is_not_a_finite_number_of_ms_is_refused(wait: float) -> None:
    with pytest.raises(ValueError, match="max_wait_ms must be a number from 0 to 60000"):
        Engine(None, max_wait_ms=wait)  # type: ignore[arg-type]  # refused before it is used


def test_the_longest_wait_allowed_still_classifies(tiny, photos) -> None:
    images = [photos[n] for n in [tiny.flagged, *tiny.others]][:4]
    with Engine(
        load_model(tiny_spec(tiny.checkpoint)),
        ConceptSet.builtin(custom=[CustomConcept("probe", ("x",), 0.0)]),
        max_wait_ms=MAX_WAIT_MS,
        max_batch=2,
    ) as engine:
        assert len(engine.classify_many(images)) == len(images)


def test_the_worker_cli_takes_the_same_range() -> None:
    import argparse

    from modbot.cli.worker import _wait_ms

    assert _wait_ms(str(MAX_WAIT_MS)) == MAX_WAIT_MS
    with pytest.raises(argparse.ArgumentTypeError):
        _wait_ms(str(MAX_WAIT_MS + 1))
