"""An image's metadata is paid for in the decode budget like its pixels.

A small picture can carry megabytes of metadata that Pillow copies as it opens the file:
a PNG's compressed text chunks (60 KB of zTXt inflate to 64 MB), a JPEG's EXIF split
over hundreds of APP1 segments (joined, then copied again to be read), a TIFF's or
WebP's EXIF/XMP/ICC, a GIF's comments. The decode budget must count those copies, from
the first open on, or each decode thread takes a hundred MB the budget never saw.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import pytest
from PIL import Image, TiffImagePlugin

import classifier.preprocess
from classifier.budget import DecodeBudget, estimate
from classifier.preprocess import PreprocessConfig, Unreadable, decode_image

CFG = PreprocessConfig()
MB = 1_000_000


def small(fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(out, fmt, **kw)
    return out.getvalue()


def chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_text(chunks: int = 63, kind: bytes = b"zTXt", after_pixels: bool = False) -> bytes:
    """A 64x64 PNG with ``chunks`` text chunks of 1 MB each once inflated (~1 KB each in
    the file): Pillow's own limits (1 MB a chunk, 64 MB in all) let them through."""
    data = small("PNG")
    packed = zlib.compress(b"a" * 1_000_000, 9)
    if kind == b"zTXt":
        text = b"".join(chunk(b"zTXt", b"k%d\0\0" % i + packed) for i in range(chunks))
    elif kind == b"iTXt":
        text = b"".join(chunk(b"iTXt", b"k%d\0\1\0\0\0" % i + packed) for i in range(chunks))
    else:
        text = chunk(b"tEXt", b"k\0" + b"a" * (chunks * 100_000))
    at = data.rfind(b"IEND") - 4 if after_pixels else 33  # before IEND, or after IHDR
    return data[:at] + text + data[at:]


def jpeg_with_app_segments(count: int = 128, marker: int = 0xE1, prefix: bytes = b"Exif\0\0"):
    """A 64x64 JPEG with ``count`` full 64 KB APPn segments before its pixels."""
    data = small("JPEG")
    body = prefix + b"x" * (65533 - len(prefix))
    segments = struct.pack(">HH", 0xFF00 | marker, len(body) + 2) + body
    return data[:2] + segments * count + data[2:]


def gif_with_comment(size: int = 8_000_000) -> bytes:
    data = small("GIF")
    at = data.index(b",")  # the image descriptor (the palette holds no comma here)
    blocks = (b"\xff" + b"c" * 255) * (size // 255) + b"\0"
    return data[:at] + b"!\xfe" + blocks + data[at:]


def tiff_with_tag(tag: int, size: int = 8_000_000) -> bytes:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[tag] = "x" * size if tag == 270 else b"x" * size
    return small("TIFF", tiffinfo=info)


HEAVY = {
    "png-ztxt-before-pixels": lambda: png_with_text(),
    "png-ztxt-after-pixels": lambda: png_with_text(after_pixels=True),
    "png-itxt": lambda: png_with_text(kind=b"iTXt"),
    "png-text-8mb": lambda: png_with_text(80, kind=b"tEXt"),
    "jpeg-exif-8mb": lambda: jpeg_with_app_segments(),
    "jpeg-xmp-8mb": lambda: jpeg_with_app_segments(prefix=b"http://ns.adobe.com/xap/1.0/\0"),
    "jpeg-icc-8mb": lambda: jpeg_with_app_segments(marker=0xE2, prefix=b"ICC_PROFILE\0\1\1"),
    "gif-comment-8mb": lambda: gif_with_comment(),
    "webp-exif-8mb": lambda: small("WEBP", exif=b"Exif\0\0" + b"x" * 8_000_000),
    "webp-xmp-8mb": lambda: small("WEBP", xmp=b"x" * 8_000_000),
    "tiff-description-8mb": lambda: tiff_with_tag(270),
    "tiff-icc-8mb": lambda: tiff_with_tag(34675),
}


def decode_peak(data: bytes) -> int:
    tracemalloc.start()
    try:
        decode_image(data, CFG, budget=DecodeBudget(2_000 * MB))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", list(HEAVY))
def test_what_decoding_takes_is_within_what_the_budget_holds_for_it(name):
    data = HEAVY[name]()
    assert len(data) < 9 * MB
    # the budget's figure is an upper bound of what the decode allocates (Python's
    # allocations: the metadata copies are bytes and str objects)
    assert decode_peak(data) <= estimate(data, CFG)


def test_a_png_whose_text_inflates_past_the_budget_is_unreadable_before_it_is_read(
    monkeypatch,
):
    data = png_with_text()
    assert len(data) < 100_000
    opened = []
    real_open = Image.open
    monkeypatch.setattr(
        classifier.preprocess.Image,
        "open",
        lambda *a, **kw: opened.append(1) or real_open(*a, **kw),
    )
    with pytest.raises(Unreadable, match=r"more than the whole decode budget of 50 MB"):
        decode_image(data, CFG, budget=DecodeBudget(50 * MB))
    assert opened == []  # refused on the file's chunk headers: Pillow never inflated it


def test_ordinary_metadata_costs_little():
    # a photo's EXIF of a few KB adds a few tens of KB to its decode, not megabytes
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif[0x9286] = "c" * 4000
    plain, with_exif = small("JPEG"), small("JPEG", exif=exif.tobytes())
    assert estimate(with_exif, CFG) - estimate(plain, CFG) < 100_000
