"""A hash list file of one long line of short words (a file mangled into one line, or
made to hurt) took ~24 times its size to read, not the documented 6 at most: every
line was split into a list of all its words first (a 100 MB file: 2.4 GB). Now the
words after the hash are looked at one at a time."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from modbot.hashes import HashList, HashListError

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
WORDS = 300_000


def peak_of_loading(path: Path, kind: str) -> tuple[float, object]:
    """(peak MB allocated while the list loads, the list or the error)."""
    tracemalloc.start()
    try:
        try:
            result: object = HashList.load(path, kind)
        except HashListError as exc:
            result = exc
        return tracemalloc.get_traced_memory()[1] / 1e6, result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("kind", "first"), [("md5", "ab"), ("md5", MD5), ("pdq", "ab"), ("sha256", MD5 * 2)]
)
def test_one_long_line_is_read_within_six_times_its_size(
    kind: str, first: str, tmp_path: Path
) -> None:
    path = tmp_path / f"one-line.{kind}"
    path.write_text(first + " ab" * WORDS + "\n")  # 0.9 MB
    size = path.stat().st_size / 1e6
    peak, result = peak_of_loading(path, kind)
    assert peak < 6 * size, f"{peak:.0f} MB to read {size:.1f} MB"  # was ~22 MB
    if isinstance(result, HashList):  # the hash, then a note of words
        assert len(result) == 1
    else:
        assert isinstance(result, HashListError)
        assert [p[1] for p in result.problems] == [1]


def test_a_second_hash_far_along_the_line_is_still_found(tmp_path: Path) -> None:
    path = tmp_path / "two.md5"
    path.write_text(MD5 + " ab" * WORDS + " " + MD5.upper() + "\n")
    with pytest.raises(HashListError) as info:
        HashList.load(path, "md5")
    (problem,) = info.value.problems
    assert problem[1] == 1 and problem[2].startswith("one hash a line: ")
