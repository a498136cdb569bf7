"""Reading a hash list takes memory in proportion to the hashes it holds, not to its
lines: a file of 200,000 wrong (or skipped) lines is refused (or read) in a few MB."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modbot.hashes import HashList, HashListError
from modbot.threatexchange_files import read_local_file

LINES = 200_000


@contextmanager
def peak_mb() -> Iterator[Callable[[], float]]:
    """The peak of memory allocated within the block, in MB (called after it)."""
    peak: list[float] = []
    tracemalloc.start()
    try:
        yield lambda: peak[0]
    finally:
        peak.append(tracemalloc.get_traced_memory()[1] / 1e6)
        tracemalloc.stop()


def test_a_list_of_many_wrong_lines_is_refused_in_a_few_mb(tmp_path: Path) -> None:
    path = tmp_path / "oops.sha256"
    path.write_bytes(b"x\n" * LINES)  # 2 MB: what a mistaken file of short lines holds
    with peak_mb() as peak, pytest.raises(HashListError) as info:
        HashList.load(path, "sha256")
    assert peak() < 5  # was 40 MB: every problem kept, then cut to 21
    problems = info.value.problems
    assert len(problems) == 21
    assert problems[-1][1:] == (21, f"... and {LINES - 20} more lines like these")


def test_a_local_file_of_many_lines_it_skips_or_refuses_in_a_few_mb() -> None:
    skipped = "video_md5 d41d8cd98f00b204e9800998ecf8427e\n" * LINES
    with peak_mb() as peak:
        local = read_local_file(skipped)
    assert peak() < 5  # was 51 MB: a tuple kept for every line skipped
    assert local.hashes == [] and len(local.skipped) == 21
    assert local.skipped[-1] == (21, "video_md5", f"... and {LINES - 20} more lines like these")
    bad = "pdq x\n" * LINES
    with peak_mb() as peak, pytest.raises(HashListError) as info:
        read_local_file(bad, shown="te.txt")
    assert peak() < 5
    assert info.value.problems[-1] == ("te.txt", 21, f"... and {LINES - 20} more lines like these")


def test_lines_are_counted_as_an_editor_counts_them(tmp_path: Path) -> None:
    h = "ab" * 32
    path = tmp_path / "crlf.sha256"
    path.write_bytes(f"# list\r\n\r\n{h}\r\nnope\r\n{h.upper()}  file.jpg\r".encode())
    with pytest.raises(HashListError) as info:
        HashList.load(path, "sha256")
    assert [p[1] for p in info.value.problems] == [4]
    path.write_bytes(f"# list\r\n\r\n{h}\r\n{h.upper()}  file.jpg\r\n".encode())
    assert list(HashList.load(path, "sha256").index.payloads) == [3, 4]


def _random_list(path: Path, digits: int, count: int) -> list[str]:
    import random

    rng = random.Random(7)
    hexes = [f"{rng.getrandbits(digits * 4):0{digits}x}" for _ in range(count)]
    path.write_text("# a big list\n" + "".join(f"{h}\n" for h in hexes))
    return hexes


def test_a_big_perceptual_list_keeps_its_hashes_as_words(tmp_path: Path) -> None:
    """200,000 pHashes (3.4 MB of file): held in 8 bytes a hash and a line number, not
    a string each (was 24 MB held, 80 MB at the peak of loading)."""
    path = tmp_path / "big.phash"
    hexes = _random_list(path, 16, 200_000)
    tracemalloc.start()
    try:
        loaded = HashList.load(path, "phash", max_distance=0)
        held, peak = (n / 1e6 for n in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
    assert held < 6 and peak < 40
    assert len(loaded) == 200_000
    found = loaded.index.lookup(hexes[12_345].upper())
    assert found is not None and (found.hex, found.distance, found.payload) == (
        hexes[12_345],
        0,
        12_347,  # its line: after the comment
    )
    near = f"{int(hexes[7], 16) ^ 0b101:016x}"
    assert loaded.distance(near) == 2 and loaded.lookup({"phash": near}) is None


def test_a_big_exact_list_loads_without_a_second_copy(tmp_path: Path) -> None:
    """200,000 SHA-256 lines (13 MB): one string a hash, in the dict (was 93 MB at the
    peak of loading: a tuple a line, then every hash parsed again)."""
    path = tmp_path / "big.sha256"
    hexes = _random_list(path, 64, 200_000)
    with peak_mb() as peak:
        loaded = HashList.load(path, "sha256")
    assert peak() < 60
    assert loaded.lookup({"sha256": hexes[-1]}) == "sha256"
    assert loaded.index.payloads[-1] == 200_001
