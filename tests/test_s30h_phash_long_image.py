"""A long thin image (one pixel high, tens of millions wide: a few kilobytes of PNG,
under the 64-megapixel cap) got no pHash: Pillow's Lanczos resize straight to 32x32
needs a filter table of ~48 bytes per source pixel along that side, and past ~45
million it refuses with a MemoryError. That said "out of memory, try again with more
memory free" (`modbot hash`), and the bot, which takes a MemoryError as saying nothing
of the file, tried the file again at every cycle. Now such a side is shrunk in whole
steps first, and the hash is taken."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from modbot.hashes import Digest, compute_all

ROOT = Path(__file__).resolve().parent.parent


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def long_png(width: int) -> bytes:
    """A 1-bit greyscale PNG ``width`` x 1: black, its right half white. Written by
    hand (zlib streamed), so the test never holds the decoded row."""
    row = (width + 7) // 8
    packer = zlib.compressobj(9)
    idat = packer.compress(b"\x00" + b"\x00" * (row // 2))
    idat += packer.compress(b"\xff" * (row - row // 2)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, 1, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


WIDTH = 48_000_000  # under the 64 megapixel cap; past Pillow's ~45 million for 32 px


def test_a_long_thin_image_gets_its_phash() -> None:
    digest = compute_all(long_png(WIDTH), ["phash"])["phash"]  # raised MemoryError
    assert isinstance(digest, Digest) and len(digest.hex) == 16


def test_modbot_hash_prints_it_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "long.png"
    path.write_bytes(long_png(WIDTH))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modbot",
            "--env-file",
            "/dev/null",
            "hash",
            "--kind",
            "phash",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stderr == ""  # was: "no phash: out of memory (MemoryError), try again ..."
    assert done.returncode == 0
    value, name = done.stdout.split()
    assert len(value) == 16 and int(value, 16) >= 0 and name == str(path)
