"""docs/hash-sharing.md: reading a list file takes "about 6 times the file's size at
most, whatever its lines hold". A plain list (`md5sum *.jpg` output, say) was decoded
whole: one character outside the Basic Multilingual Plane anywhere in it (an emoji in a
file name or a note) made Python keep every character of the text in 4 bytes, and
reading it took about 6.7 times its size. Its bytes are decoded a megabyte at a time
now, as a python-threatexchange file's are (d37bc46)."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import pytest

from modbot.hashes import HashList, HashListError


def test_a_plain_list_with_an_emoji_is_not_read_as_four_bytes_a_character(tmp_path: Path) -> None:
    rng = random.Random(5)
    path = tmp_path / "hotline.pdq"
    count = 50_000  # 4 MB
    # as `modbot hash --kind pdq *.jpg` prints them: the hash, then the file
    lines = [f"{rng.getrandbits(256):064x}  upload-{n:06d}.jpg\n" for n in range(count)]
    lines.insert(10, f"{rng.getrandbits(256):064x}  party \U0001f600.jpg\n")
    lines.insert(20, "# caf\u00e9 \u2014 \U0001f600\r\n")
    path.write_text("\ufeff" + "".join(lines), encoding="utf-8")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        listed = HashList.load(path, "pdq")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(listed) == count + 1
    # decoded whole, the text alone took 4 times the file's size (6.0 in all here, at
    # the bound the docs give, more with shorter lines); by pieces, the hashes and the
    # file's bytes take about 2.5
    assert peak < 4 * size, f"{peak / size:.1f} times the file's size"


def test_the_same_lines_are_read(tmp_path: Path) -> None:
    """Line numbers as before (a problem is named by its line), whatever the line ends."""
    path = tmp_path / "list.sha256"
    good = "ab" * 32
    path.write_bytes(
        b"\xef\xbb\xbf# notes \xf0\x9f\x98\x80\r\n"
        + good.encode()
        + b"\rnot a hash\n\n"
        + good.upper().encode()
        + b"  caf\xc3\xa9.jpg\n"
    )
    with pytest.raises(HashListError) as refused:
        HashList.load(path, "sha256")
    assert f"{path}:3: expected a SHA-256" in str(refused.value)
    path.write_bytes(path.read_bytes().replace(b"not a hash", b"# fine"))
    assert len(HashList.load(path, "sha256")) == 2
