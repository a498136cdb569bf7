"""Whether bytes are a whole image by the format's own structure, for a download whose
body stopped before the end the server announced (``Fetcher``): a whole one is what a
browser shows entirely, and is judged; anything else may be half an image, and is not.

Each format is walked by its own lengths, never searched for its end marker: the bytes
``FF D9`` inside a JPEG's EXIF thumbnail, or ``3B`` inside a GIF's pixel data, are no end.
An AVIF or HEIC/HEIF is whole when its ``meta`` box is and every byte range its item
locations (``iloc``) name is there; a BMP when its pixel array (by its header's size)
is; a TIFF when every IFD of its chain (and its EXIF, GPS and sub-IFDs), every value
they point at and every strip or tile (by its offset and byte count, in any order) is;
an ICO when every image its directory lists (by offset and size) is; a JPEG XL in its
container when the box holding its codestream (``jxlc``, or the ``jxlp`` marked last)
is. Formats not read here are never whole when cut short, and ``not_read`` says why (a
bare JPEG XL codestream has no length or end marker short of decoding it).

The walk runs on the download's event loop, so its steps are bounded by the file's
size, format by format: under half a second for 25 MB in the worst case (a crafted file
of millions of empty segments or fill bytes), a bound far above what real files take (a
JPEG has tens of segments, a PNG's chunks are kilobytes, a GIF's sub-blocks 255 bytes).
A file that takes more is not read, and so not whole.
"""

from __future__ import annotations

import array
import operator
import re
import sys
from typing import Literal

__all__ = ["not_read", "whole_image_end"]


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
    one read here (JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, BMP, TIFF, ICO, JPEG XL in its
    container)."""
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_end(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_end(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif_end(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _riff_end(data)
    if data[4:8] == b"ftyp":
        return _isobmff_end(data)
    if data[:2] == b"BM":
        return _bmp_end(data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_end(data)
    if data[:4] == b"\x00\x00\x01\x00":
        return _ico_end(data)
    if data.startswith(_JXL_CONTAINER):
        return _jxl_container_end(data)
    return None


def not_read(data: bytes, media_type: str) -> str | None:
    """Why a cut-short body ``data`` of ``media_type`` (as sniffed) is never judged
    whole, for a format not read here; None for one that is."""
    if media_type == "image/jxl" and not data.startswith(_JXL_CONTAINER):
        return "a bare JPEG XL codestream has no length or end marker short of decoding it"
    if media_type in _READ:
        return None
    return f"the end of an {media_type} file is not read"


_READ = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/heic",
    "image/heif",
    "image/bmp",
    "image/tiff",
    "image/x-icon",
    "image/jxl",  # in its container (a bare codestream: ``not_read``)
}


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


def _boxes(data: bytes, at: int, end: int, steps: _Steps) -> list[tuple[bytes, int, int]] | None:
    """The ISO BMFF boxes from ``at`` to ``end``, as (type, content start, box end); the
    last may run past ``end`` (cut short). None for a malformed or unbounded one."""
    boxes: list[tuple[bytes, int, int]] = []
    while at + 8 <= end and steps.take():
        size, kind, content = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8], 8
        if size == 1:  # a 64-bit size follows
            if at + 16 > end:
                return boxes
            size, content = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        elif size == 0:  # "to the end of the file": which end is what is unknown
            return None
        if size < content:
            return None
        boxes.append((kind, at + content, at + size))
        at += size
    return boxes


def _isobmff_end(data: bytes) -> int | None:
    """AVIF, HEIC/HEIF: after the ``meta`` box and every extent its ``iloc`` names in
    the file (the coded images, their tiles, Exif), whichever comes last."""
    size, steps = len(data), _Steps(data, 16)
    top = _boxes(data, 0, size, steps)
    meta = [(start, end) for kind, start, end in top or () if kind == b"meta"]
    if len(meta) != 1 or meta[0][1] > size:
        return None
    meta_start, meta_end = meta[0]
    inner = _boxes(data, meta_start + 4, meta_end, steps)  # a FullBox: version, flags
    iloc = [(start, end) for kind, start, end in inner or () if kind == b"iloc"]
    if len(iloc) != 1 or iloc[0][1] > meta_end:
        return None
    ends = _iloc_extent_ends(data, *iloc[0], steps)
    return None if ends is None or max(ends, default=0) > size else max([meta_end, *ends])


def _iloc_extent_ends(data: bytes, at: int, end: int, steps: _Steps) -> list[int] | None:
    """Where each extent in the file (construction method 0) ends, by the ``iloc`` box
    whose content is ``data[at:end]``; None when malformed or an extent runs to the end
    of the file (length 0)."""

    def read(width: int) -> int | None:
        nonlocal at
        if at + width > end:
            return None
        value = int.from_bytes(data[at : at + width], "big")
        at += width
        return value

    version = read(4)
    sizes = read(2)
    if version is None or sizes is None:
        return None
    version >>= 24
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF if version in (1, 2) else 0
    if version > 2 or any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size)):
        return None
    items = read(4 if version == 2 else 2)
    ends: list[int] = []
    for _ in range(items or 0):
        if not steps.take():
            return None
        method = 0
        if read(4 if version == 2 else 2) is None:  # item_ID
            return None
        if version in (1, 2):
            method_field = read(2)
            if method_field is None:
                return None
            method = method_field & 0xF
        reference, base, extents = read(2), read(base_size), read(2)
        if reference is None or base is None or extents is None:
            return None
        for _ in range(extents):
            if not steps.take() or read(index_size) is None:
                return None
            offset, length = read(offset_size), read(length_size)
            if offset is None or length is None:
                return None
            if method == 0 and reference == 0:  # in this file (not idat, not elsewhere)
                if length == 0:
                    return None
                ends.append(base + offset + length)
    return None if items is None else ends


def _bmp_end(data: bytes) -> int | None:
    """After the pixel array: at the header's offset, its size by the info header
    (rows of whole 4-byte words; a compressed one's by its stated size)."""
    if len(data) < 30:
        return None
    offset = int.from_bytes(data[10:14], "little")
    info = int.from_bytes(data[14:18], "little")
    if info == 12:  # the OS/2 core header: 16-bit sizes
        width, height = int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
        bits, compression, stated = int.from_bytes(data[24:26], "little"), 0, 0
    elif info >= 40 and len(data) >= 38:
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = abs(int.from_bytes(data[22:26], "little", signed=True))
        bits = int.from_bytes(data[28:30], "little")
        compression = int.from_bytes(data[30:34], "little")
        stated = int.from_bytes(data[34:38], "little")
    else:
        return None
    if offset < 14 + info or width <= 0 or height <= 0 or bits not in (1, 2, 4, 8, 16, 24, 32):
        return None
    if compression in (0, 3, 6):  # uncompressed (with bit fields or not): rows of pixels
        pixels = (width * bits + 31) // 32 * 4 * height
    elif compression in (1, 2) and stated > 0:  # RLE: its stated size
        pixels = stated
    else:  # JPEG or PNG inside, or no size stated
        return None
    end = offset + pixels
    return end if end <= len(data) else None


# TIFF field types' sizes in bytes (TIFF 6.0, and IFD: 13); a type not listed here is
# skipped, as readers must.
_TIFF_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
}
# the image data's (offsets, byte counts): strips, tiles, an old-style JPEG in TIFF
_TIFF_DATA = ((273, 279), (324, 325), (513, 514))
# the tags that point at other IFDs, and whether those hold images: SubIFDs; EXIF, GPS
# and interoperability
_TIFF_SUB_IFDS = {330: True, 34665: False, 34853: False, 40965: False}
_TIFF_POINTERS = {tag for pair in _TIFF_DATA for tag in pair} | _TIFF_SUB_IFDS.keys()


def _tiff_end(data: bytes) -> int | None:
    """After whichever comes last: the IFDs (the chain from the header, and the EXIF,
    GPS, interoperability and sub-IFDs they point at), the values stored outside them,
    and each image IFD's strips or tiles (offset plus byte count, in any order; an image
    IFD with neither, or offsets without counts, has no end to read). A classic TIFF
    only (BigTIFF is not sniffed as an image)."""
    size = len(data)
    if size < 8:
        return None
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
    # IFD entries (IFDs may overlap: a crafted chain of them could repeat 65535
    # entries over the same bytes), and the offsets and counts read, at C speed
    steps, numbers = _Steps(data, 64), _Steps(data, 4)
    end = 8
    pending = [(int.from_bytes(data[4:8], order), True)]  # (IFD offset, holds an image)
    seen: set[int] = set()
    while pending:
        at, image = pending.pop()
        if at in seen:
            continue  # a loop in the chain: each IFD once
        seen.add(at)
        if at < 8 or at + 2 > size or not steps.take():
            return None
        count = int.from_bytes(data[at : at + 2], order)
        ifd_end = at + 2 + 12 * count + 4
        if ifd_end > size:
            return None
        end = max(end, ifd_end)
        fields: dict[int, list[int]] = {}
        for entry in range(at + 2, at + 2 + 12 * count, 12):
            if not steps.take():
                return None
            tag = int.from_bytes(data[entry : entry + 2], order)
            kind = int.from_bytes(data[entry + 2 : entry + 4], order)
            number = int.from_bytes(data[entry + 4 : entry + 8], order)
            width = _TIFF_TYPE_SIZES.get(kind)
            if width is None:
                continue
            where = entry + 8  # the value itself, when it fits in 4 bytes
            if width * number > 4:
                where = int.from_bytes(data[entry + 8 : entry + 12], order)
                end = max(end, where + width * number)
                if end > size:
                    return None
            if tag in _TIFF_POINTERS:
                if kind not in (3, 4, 13):  # offsets and counts are SHORT, LONG or IFD
                    return None
                numbers.left -= number
                if numbers.left < 0:
                    return None
                fields[tag] = _tiff_numbers(data, where, number, width, order)
        for tag, holds_image in _TIFF_SUB_IFDS.items():
            pending.extend((offset, holds_image) for offset in fields.get(tag, ()))
        pairs = [(o, c) for o, c in _TIFF_DATA if o in fields or c in fields]
        if image and not pairs:
            return None
        for offsets_tag, counts_tag in pairs:
            offsets, counts = fields.get(offsets_tag, []), fields.get(counts_tag, [])
            if not offsets or len(offsets) != len(counts):
                return None
            end = max(end, max(map(operator.add, offsets, counts)))
        next_ifd = int.from_bytes(data[ifd_end - 4 : ifd_end], order)
        if next_ifd:
            pending.append((next_ifd, image))
    return end if end <= size else None


def _tiff_numbers(
    data: bytes, at: int, number: int, width: int, order: Literal["little", "big"]
) -> list[int]:
    """``number`` unsigned integers of ``width`` bytes (2 or 4) at ``at``, read at C
    speed (a TIFF may have a million strips)."""
    numbers = array.array("H" if width == 2 else "I", data[at : at + number * width])
    if (sys.byteorder == "little") != (order == "little"):
        numbers.byteswap()
    return numbers.tolist()


def _ico_end(data: bytes) -> int | None:
    """After whichever image its directory lists ends last (each by offset and size,
    after the directory)."""
    size = len(data)
    count = int.from_bytes(data[4:6], "little")
    directory_end = 6 + 16 * count
    if count == 0 or directory_end > size:
        return None
    end = directory_end
    for entry in range(6, directory_end, 16):
        length = int.from_bytes(data[entry + 8 : entry + 12], "little")
        offset = int.from_bytes(data[entry + 12 : entry + 16], "little")
        if length == 0 or offset < directory_end:
            return None
        end = max(end, offset + length)
    return end if end <= size else None


_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


def _jxl_container_end(data: bytes) -> int | None:
    """After the box that ends the codestream: a ``jxlc`` (the whole codestream), or the
    ``jxlp`` whose index has its high bit set (the last part), every earlier ``jxlp``
    there too. A box "to the end of the file" (size 0) has no end to read; a bare
    codestream has none either (``not_read``)."""
    steps = _Steps(data, 16)
    boxes = _boxes(data, 0, len(data), steps)
    for kind, start, box_end in boxes or ():
        if box_end > len(data):
            return None
        if kind == b"jxlc":
            return box_end
        if kind == b"jxlp" and box_end >= start + 4 and data[start] & 0x80:
            return box_end
    return None
