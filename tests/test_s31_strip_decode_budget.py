"""A long thin image (a PNG one pixel wide and millions of rows tall, a few hundred kB)
is costed with Pillow's pointer per row in every copy the decode makes: its decode,
and the perceptual hashes' second decode, are held in the decode budget at what they
take, not at a fraction of it.

Measured (`benchmarks/hostile_memory.py --calibrate`): decoding a 1 x 16,000,000 grey PNG
peaks ~340 MB (two Pillow images of 16 MB of pixels and 128 MB of row pointers each, and
the resize), a palette one with transparency ~920 MB, a 4000 x 4000 grey PNG of the
same pixels ~66 MB. Before, both were estimated at ~190 MB from their pixel count: a
300 MB budget let the strip through and the decode took more than the whole budget."""

from __future__ import annotations

import struct
import zlib

import pytest

from classifier.budget import DecodeBudget, estimate
from classifier.preprocess import PreprocessConfig, Unreadable, decode
from modbot.classify import decoded_hashes

CFG = PreprocessConfig()
ROWS = 16_000_000


def grey_png(width: int, height: int) -> bytes:
    """A grey PNG written by hand: the test never holds a Pillow image of it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = (b"\x00" + b"\x07" * width) * height  # filter byte 0, then the row's pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def strip() -> bytes:
    return grey_png(1, ROWS)


def test_a_strip_over_the_budget_is_refused_where_a_square_of_its_pixels_decodes(strip):
    square = grey_png(4000, 4000)  # the same 16 million pixels
    budget = DecodeBudget(300_000_000)
    assert len(decode(square, CFG, budget)) >= 1
    with pytest.raises(Unreadable, match=r"more than the whole decode budget of 300 MB"):
        decode(strip, CFG, budget)
    assert budget.in_use == 0


def test_a_strip_costs_every_copy_s_row_pointers(strip):
    # the decode holds the image and its RGB conversion at least: 8 bytes a row each
    assert estimate(strip, CFG) >= 2 * 8 * ROWS + ROWS * 4
    # a square of the same pixels has 4,000 rows: its estimate is the pixels'
    assert estimate(strip, CFG) > 3 * estimate(grey_png(4000, 4000), CFG)


def test_the_hashes_second_decode_of_a_strip_is_not_taken_over_the_budget(strip):
    class Remote:  # a remote classifier: the hashes decode here, in the bot's budget
        pass

    not_taken: dict[str, str] = {}
    got = decoded_hashes(
        Remote(), strip, ("pdq", "phash"), DecodeBudget(300_000_000), None, not_taken
    )
    assert got == {}
    assert set(not_taken) == {"pdq", "phash"}
    assert "more than the whole decode budget" in not_taken["pdq"]
