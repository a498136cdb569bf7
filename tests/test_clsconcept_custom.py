"""A custom concept fires as the built-in ones do: strictly above its threshold after
the 4-decimal rounding (its docstring said "reaches")."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.concepts import ConceptSet, CustomConcept
from classifier.decision import DecisionPlan


@pytest.mark.parametrize(
    "similarity,fires", [(0.23, False), (0.23004, False), (0.23005, False), (0.23006, True)]
)
def test_a_custom_concept_fires_strictly_above_its_rounded_threshold(similarity, fires):
    concepts = ConceptSet.builtin(custom=[CustomConcept("gore", ("gore",), 0.23)])
    sims = np.full(len(concepts.prompts), 0.1, np.float32)
    sims[concepts.index["gore"]] = similarity
    decision = DecisionPlan(concepts).decide(sims)
    assert ("gore" in decision.labels) is fires
    assert (decision.scores["gore"] > 0) is fires
