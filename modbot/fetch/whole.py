"""Whether bytes are a whole image by the format's own structure, for a download whose
body stopped before the end the server announced (``Fetcher``): a whole one is what a
browser shows entirely, and is judged; anything else may be half an image, and is not.

Each format is walked by its own lengths, never searched for its end marker: the bytes
``FF D9`` inside a JPEG's EXIF thumbnail, or ``3B`` inside a GIF's pixel data, are no end.
Formats not read here (BMP, TIFF, AVIF...) are never whole when cut short.

The walk runs on the download's event loop, so its steps are bounded by the file's
size, format by format: under half a second for 25 MB in the worst case (a crafted file
of millions of empty segments or fill bytes), a bound far above what real files take (a
JPEG has tens of segments, a PNG's chunks are kilobytes, a GIF's sub-blocks 255 bytes).
A file that takes more is not read, and so not whole.
"""

from __future__ import annotations

import re

__all__ = ["whole_image_end"]


class _Steps:
    """The steps a walk may take over ``data``: one per ``every`` bytes, beyond a few
    thousand (see the module's docstring)."""

    def __init__(self, data: bytes, every: int) -> None:
        self.left = 4096 + len(data) // every

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def whole_image_end(data: bytes) -> int | None:
    """Where the image at the start of ``data`` ends (bytes after it are no part of it,
    and browsers ignore them), or None when the image is not whole or its format is not
    one read here (JPEG, PNG, GIF, WebP)."""
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_end(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_end(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif_end(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _riff_end(data)
    return None


_RESTARTS = range(0xD0, 0xD8)
# The marker that ends a scan's entropy-coded data: an FF (after fill FFs) followed by a
# byte other than 00 (a stuffed FF) or D0-D7 (a restart). Only a run of FFs' first is
# tried (the lookbehind), so a megabyte of FFs is one try, not a million.
_SCAN_END = re.compile(rb"(?<!\xff)\xff+[^\x00\xd0-\xd7\xff]")
_FILL = re.compile(rb"\xff+")


def _jpeg_end(data: bytes) -> int | None:
    """After the EOI marker that follows a scan, walking the segments by their lengths
    and each scan's entropy-coded data to the marker that ends it."""
    size, at, scanned, steps = len(data), 2, False, _Steps(data, 256)
    while steps.take():
        at = data.find(b"\xff", at)  # bytes between segments: skipped, as libjpeg does
        fill = _FILL.match(data, max(at, 0))  # an FF and the fill bytes after it
        if at < 0 or fill is None or fill.end() >= size:
            return None
        at = fill.end()
        marker = data[at]
        at += 1
        if marker == 0xD9:  # EOI
            return at if scanned else None
        if marker in _RESTARTS or marker in (0x00, 0x01):  # no length follows these
            continue
        if at + 2 > size:
            return None
        length = int.from_bytes(data[at : at + 2], "big")
        if length < 2:
            return None
        at += length
        if at > size:
            return None
        if marker == 0xDA:  # SOS: the entropy-coded data runs to the next real marker
            scanned = True
            # a header that ends in FF is malformed (and would hide a marker right after)
            end = None if data[at - 1] == 0xFF else _SCAN_END.search(data, at)
            if end is None:
                return None
            at = end.start()
    return None


def _png_end(data: bytes) -> int | None:
    """After the IEND chunk, walking the chunks by their lengths."""
    size, at, steps = len(data), 8, _Steps(data, 64)
    while at + 8 <= size and steps.take():
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        at += 12 + length  # length, type, data, CRC
        if length > 0x7FFFFFFF or at > size:
            return None
        if kind == b"IEND":
            return at
    return None


def _gif_end(data: bytes) -> int | None:
    """After the trailer (0x3B), walking the blocks and their sub-blocks."""
    size = len(data)
    if size < 13:
        return None
    at, steps = 13 + _color_table(data[10]), _Steps(data, 8)
    while at < size and steps.take():
        block = data[at]
        if block == 0x3B:
            return at + 1
        if block == 0x21:  # an extension: introducer, label, sub-blocks
            end = _after_sub_blocks(data, at + 2, steps)
        elif block == 0x2C:  # an image: descriptor, its colour table, LZW code size, data
            if at + 10 > size:
                return None
            end = _after_sub_blocks(data, at + 10 + _color_table(data[at + 9]) + 1, steps)
        else:
            return None
        if end is None:
            return None
        at = end
    return None


def _color_table(flags: int) -> int:
    return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0


def _after_sub_blocks(data: bytes, at: int, steps: _Steps) -> int | None:
    size, left = len(data), steps.left  # a local count: the loop most GIFs spend in
    while at < size and left > 0:
        length = data[at]
        at += 1 + length
        left -= 1
        if length == 0:
            steps.left = left
            return at
    return None


def _riff_end(data: bytes) -> int | None:
    """After the RIFF container's size (its chunks, each padded to an even length)."""
    length = int.from_bytes(data[4:8], "little")
    end = 8 + length
    return end if length >= 4 and end <= len(data) else None
