"""The cycle line's "memory peak: downloads N MB" is what the download budget reserved
at once (a running download holds fetch.max_bytes), and the docs say so."""

from __future__ import annotations

import asyncio
from pathlib import Path

from modbot.fetch.budget import BodyBudget

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_the_download_peak_counts_reservations_as_the_docs_say() -> None:
    async def three_small_downloads() -> BodyBudget:
        budget = BodyBudget(200_000_000)
        holds = [await budget.hold(25_000_000) for _ in range(3)]
        for hold in holds:
            hold.shrink(10_000)  # 10 KB images
        return budget

    budget = asyncio.run(three_small_downloads())
    assert budget.in_use == 30_000 and budget.peak == 75_000_000
    doc = " ".join(DOCS.read_text().split())
    assert "the most each budget had reserved at once" in doc
    assert "with what was used" not in doc
