"""A python-threatexchange local_file of one line 4 MB long with one character past
U+FFFF in it (hostile, or a broken export) took 25 times the file's size to be refused
(2.5 GB for a 100 MB file, past the "about 6 times the file's size at most, whatever its
lines hold" docs/hash-sharing.md promises): the line was copied whole, at 4 bytes a
character, to be stripped, split and named. A line over a megabyte (no local_file holds
one) is now read as its first megabyte: refused all the same, naming the line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from modbot.hashes import HashList, HashListError


@pytest.mark.parametrize("ends", ["", "\n"])
def test_a_hostile_long_line_is_refused_within_six_times_the_file_s_size(
    tmp_path: Path, ends: str
) -> None:
    path = tmp_path / "industry.te"
    good = "pdq " + "ab" * 32 + "\n"
    path.write_text(good + "pdq " + "a" * 4_000_000 + "\U0001f600" + ends + good, "utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(HashListError) as refused:
            HashList.load(path, "pdq", format="threatexchange")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ":2: pdq: expected a PDQ hash" in str(refused.value), refused.value
    assert peak < 6 * size, f"{peak / size:.1f} times the file's size"
