"""docs/hash-sharing.md: reading a list file takes "about 6 times the file's size at
most". A python-threatexchange local_file (`format: threatexchange`) of PDQ hashes
took more: the file's bytes held beside its text while it was read, and a tuple per
hash to find the duplicates."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

from modbot.hashes import HashList


def test_a_threatexchange_file_is_read_within_six_times_its_size(tmp_path: Path) -> None:
    rng = random.Random(3)
    path = tmp_path / "industry.te"
    count = 60_000  # 4 MB
    path.write_text("".join(f"pdq {rng.getrandbits(256):064x}\n" for _ in range(count)))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        listed = HashList.load(path, "pdq", format="threatexchange")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(listed) == count
    assert peak < 6 * size, f"{peak / size:.1f} times the file's size"
