"""The second decode made for a perceptual hash holds its metadata while it plans.

``classify.decoded_hashes`` asks ``budget.estimate`` what the hash's decode will cost,
and ``estimate`` opens the file to plan it: that open already makes Pillow's copies of
the file's metadata (a 60 KB PNG's zTXt chunks inflate to 64 MB). Those copies must be
held in the decode budget while the open runs, not only the decode that comes after it.
"""

from __future__ import annotations

import tracemalloc

import pytest
from test_h24_fetch_decode_metadata import HEAVY

import classifier.preprocess
from classifier.budget import DecodeBudget
from classifier.preprocess import PreprocessConfig
from modbot.classify import decoded_hashes

MB = 1_000_000


class ElsewhereEngine:
    """A classifier that decodes in another process: no decode budget on this side."""


def opens_measured(monkeypatch, budget: DecodeBudget) -> list[tuple[int, int]]:
    """(bytes Pillow's open of the file allocated, bytes held in ``budget`` meanwhile)
    for every open made to plan a decode."""
    seen: list[tuple[int, int]] = []
    real_open = classifier.preprocess._open

    def measured_open(data: bytes, cfg: PreprocessConfig):
        tracemalloc.start()
        try:
            image = real_open(data, cfg)
            seen.append((tracemalloc.get_traced_memory()[1], budget.in_use))
        finally:
            tracemalloc.stop()
        return image

    monkeypatch.setattr(classifier.preprocess, "_open", measured_open)
    return seen


@pytest.mark.parametrize(
    "name", ["png-ztxt-before-pixels", "jpeg-exif-8mb", "tiff-description-8mb"]
)
def test_the_open_that_plans_a_perceptual_hash_is_within_what_the_budget_holds(monkeypatch, name):
    data = HEAVY[name]()
    budget = DecodeBudget(2_000 * MB)
    seen = opens_measured(monkeypatch, budget)
    not_taken: dict[str, str] = {}
    hashes = decoded_hashes(ElsewhereEngine(), data, ("phash",), budget, None, not_taken)  # type: ignore[arg-type]
    # decoded: a pHash, or, for these plain pictures, none for their one colour (HASHING 6)
    assert set(hashes) == {"phash"} or "one colour" in not_taken.get("phash", ""), not_taken
    assert seen, "the hash's decode was planned without opening the file"
    for allocated, held in seen:
        assert allocated > 4 * MB  # the metadata copies: megabytes
        assert allocated <= held, (allocated, held)
    assert budget.in_use == 0  # all given back


def test_metadata_over_the_whole_budget_gets_no_perceptual_hash_and_is_never_opened(
    monkeypatch,
):
    data = HEAVY["png-ztxt-before-pixels"]()  # inflates to 64 MB
    budget = DecodeBudget(50 * MB)
    seen = opens_measured(monkeypatch, budget)
    assert decoded_hashes(ElsewhereEngine(), data, ("phash",), budget=budget) == {}  # type: ignore[arg-type]
    assert seen == []  # refused on its chunk headers: Pillow never inflated the text
    assert budget.refused == 1 and budget.in_use == 0
