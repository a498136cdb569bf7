"""docs/hash-sharing.md: reading a list file takes "about 6 times the file's size at
most, whatever its lines hold". A python-threatexchange local_file (`format:
threatexchange`) was decoded whole: one character outside the Basic Multilingual Plane
anywhere in it (an emoji in a `url` or `raw_text` line, which the file may hold beside
its `pdq` lines) made Python keep every character of the text in 4 bytes, and reading
the file took 7.6 times its size (760 MB for a 100 MB file). Its lines are now decoded
one at a time."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

from modbot.hashes import HashList


def test_a_local_file_with_an_emoji_is_read_within_six_times_its_size(tmp_path: Path) -> None:
    rng = random.Random(3)
    path = tmp_path / "industry.te"
    count = 60_000  # 4 MB
    lines = [f"pdq {rng.getrandbits(256):064x}\n" for _ in range(count)]
    lines.insert(10, "url https://bad.example/\U0001f600\n")
    lines.insert(20, "raw_text caf\u00e9 \u2014 \U0001f600\r\n")
    path.write_text("".join(lines), encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        listed = HashList.load(path, "pdq", format="threatexchange")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(listed) == count
    assert [(line, kind) for line, kind, _ in listed.skipped] == [(11, "url"), (21, "raw_text")]
    assert peak < 6 * size, f"{peak / size:.1f} times the file's size"
