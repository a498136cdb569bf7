"""Bounded memory for decoding images: every frame checked before it is decoded, the
bytes a decode costs estimated, and one budget that all decode threads share.

A few kilobytes can declare gigabytes: a GIF whose second frame is 12000x12000, a TIFF
whose later pages are, a 30-byte lossless WebP of 8000x8000 RGBA. Pillow allocates what
the headers say when it decodes (a WebP's canvas as soon as it is opened), and the
conversions after it (alpha onto grey, 16-bit and float to 8 bits, the resize) cost
several times the decoded frame. So, before a pixel is decoded:

- ``plan`` reads every frame's header the decode will go through (an animation is
  decoded from its first frame on; a TIFF page or an MPO picture on its own) and
  refuses a frame over the pixel cap, or an animation whose canvas grows past what
  ``frame_pixel_budget`` allows to decode (each frame counted as at least
  ``MIN_WALK_PIXELS``: a frame of one pixel costs Pillow about what one of thousands
  does, so the frames walked are bounded too);
- the plan's ``cost`` is an upper bound, in bytes, of what decoding those frames and
  making the model's regions takes: per pixel, the decoded frame in its mode (1 byte
  for L/P, 2 for 16-bit, 4 for RGB, RGBA, 32-bit and float, as Pillow stores them), the
  decoder's own buffers (WebP and AVIF decoders, a progressive JPEG's coefficients, a
  TIFF strip, an animation's previous frame) and each conversion ``preprocess`` makes,
  the reference's view included (its ``Resize(224)`` enlarges a thin strip's thumbnail
  to 224 px across: 1 x 600 becomes 224 x 114688);
- the metadata Pillow copies as it opens the file (EXIF, XMP, ICC profiles, PNG text,
  GIF comments: megabytes in a small picture, a PNG's compressed text inflating to 64
  MB) is counted from the file's own chunk and segment headers (``metadata_cost``), and
  held before Pillow first opens it;
- ``DecodeBudget.reserve(cost)`` waits until that many bytes are free in the budget the
  decode threads share, first come first served; a decode that could never fit is
  refused (``Unreadable``) at once instead of waiting forever, and one with a deadline
  (``reserve(deadline=)``, or ``waiting_until`` around code that reserves) gives up its
  place in the line at it (``MemoryNotFree``);
- while decoding, ``seek`` steps through the frames one at a time and checks that
  Pillow sees what the plan said (a header read differently would be refused).

The figures per pixel are measured upper bounds (``benchmarks/hostile_memory.py
--calibrate`` prints the measured peak of each format next to its estimate); they
assume a JPEG is decoded at full size (no draft), the worst case.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_DECODE_MEMORY",
    "MIN_DECODE_MEMORY",
    "MIN_WALK_PIXELS",
    "DecodeBudget",
    "DecodePlan",
    "LaterFrameRefused",
    "MemoryNotFree",
    "Reservation",
    "estimate",
    "estimate_plan",
    "later_frame_refused",
    "metadata_hold",
    "plan",
    "plan_before_open",
    "seek",
    "waiting_until",
]

DEFAULT_DECODE_MEMORY = 1_000_000_000  # bytes: classifier.decode_memory in rules.yaml
MIN_DECODE_MEMORY = 50_000_000  # less cannot decode a photo (rules.yaml, modbot worker)

# Bytes per pixel of a decoded frame as Pillow stores it (3-band modes use 4).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")
_DEEP = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# Formats that decode an animation frame by frame from the first: reaching frame k
# decodes every frame before it, each on the whole canvas.
_SEQUENTIAL = ("GIF", "PNG", "WEBP", "AVIF")
# The decoders' own buffers, bytes per canvas pixel: libwebp's animation decoder keeps
# two RGBA canvases and hands each frame over as a copy; libavif keeps up to 16-bit
# 4:4:4 planes and an RGB(A) copy; Pillow's GIF reader keeps the previous frame in RGB,
# the new one in P, its RGB(A) conversion, crop and an enlarged copy.
_DECODER_EXTRA = {"WEBP": 12, "AVIF": 14}
_GIF_LATER_FRAME = 17  # bytes per pixel of a GIF frame after the first, all included
_BANDS = {"1": 1, "L": 1, "RGB": 3, "YCbCr": 3, "CMYK": 4}
_RESIZE = 4  # the RGB frame's resize: at most one RGB copy at the source size
_FIXED = 4_000_000  # Python objects, the file's own buffers, numpy temporaries
_REFERENCE_SHRINK = 512  # preprocess.REFERENCE_SHRINK: the reference's thumbnail
# What a frame walked through on the way to a later one counts in ``frame_pixel_budget``
# at least: Pillow's work per frame does not shrink with it (a GIF of a million one-pixel
# frames took 25 s to walk), so the default 256 megapixels walk at most 62,500 frames.
MIN_WALK_PIXELS = 64 * 64
# After a decode this large the freed memory is handed back to the system before the
# budget is: glibc keeps freed heap in per-thread arenas (Pillow's 16 MB blocks are under
# its mmap threshold), so with many decode threads the process would otherwise keep each
# thread's largest decode, however well the budget kept them from overlapping.
TRIM_ABOVE = 32_000_000


def walk_pixels(pixels: int) -> int:
    """What decoding a frame of ``pixels`` on the way to a later one counts in
    ``frame_pixel_budget``."""
    return max(pixels, MIN_WALK_PIXELS)


def pixel_bytes(mode: str) -> int:
    return _PIXEL_BYTES.get(mode, 4)


# Pillow keeps a pointer to each line of an image (8 bytes a row): nothing on a photo,
# but a 1 x 64,000,000 strip carries 512 MB of them in every copy of it it makes.
_ROW_POINTER = 8


def _conversion(mode: str, alpha: bool) -> tuple[int, int]:
    """What turning a decoded frame into RGB (``_frame_rgb``) costs: bytes per pixel,
    and how many Pillow images of the frame it holds (each carries ``_ROW_POINTER``s;
    numpy arrays have no rows). One table, so the two cannot drift apart."""
    if alpha:
        return 16, 4  # RGBA copy, the grey background, the composite, its RGB conversion
    if mode in _DEEP:
        # float64 copy, the scaled product, the clipped result (arrays); 8 bits, RGB
        return 26, 2
    if mode == "RGB":
        return 0, 0
    return 4, 1  # one conversion to RGB


def _unreadable(reason: str) -> Exception:
    from classifier.preprocess import Unreadable  # preprocess imports this module

    return Unreadable(reason)


class LaterFrameRefused(Exception):
    """The cause of an ``Unreadable`` that refused the file for a frame past its first (a
    later frame over the pixel cap: a bomb; an animation's canvas growing past the walk
    budget; a later frame other than its header said; the frames together over the whole
    decode budget): its first frame, the one the reference reads, may be readable alone
    (the engine then reads it: ``Engine(first_frame_of_refused=)``)."""


def _later(exc: Exception) -> Exception:
    exc.__cause__ = LaterFrameRefused()
    return exc


def later_frame_refused(exc: BaseException) -> bool:
    """Whether ``exc`` refused a file for a frame past its first (``LaterFrameRefused``)."""
    return isinstance(exc.__cause__, LaterFrameRefused)


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    index: int
    width: int
    height: int
    mode: str

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class DecodePlan:
    """What decoding an image goes through: ``frames`` (every frame decoded, in order,
    those only passed through on the way included), ``cost`` (bytes, an upper bound)."""

    format: str
    frames: tuple[Frame, ...]
    cost: int
    sequential: bool

    def frame(self, index: int) -> Frame | None:
        if 0 <= index < len(self.frames) and self.frames[index].index == index:
            return self.frames[index]  # an animation's: every frame up to the last, in order
        for frame in self.frames:
            if frame.index == index:
                return frame
        return None


def _mb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _check_pixels(fmt: str, index: int, count: int, width: int, height: int, cfg: Any) -> None:
    if width <= 0 or height <= 0:
        raise _unreadable(f"{fmt} frame {index + 1} of {count} has no pixels ({width}x{height})")
    if width * height > cfg.max_pixels:
        raise _unreadable(
            f"{fmt} frame {index + 1} of {count} is {width}x{height}, "
            f"{width * height / 1e6:.0f} megapixels, over the {cfg.max_pixels / 1e6:.0f} "
            "megapixel cap (decompression bomb?)"
        )


def _frame_cost(
    fmt: str,
    frame: Frame,
    *,
    first: bool,
    alpha: bool,
    progressive: bool,
    strip: int,
    transposed: bool,
) -> int:
    """Upper bound of the bytes decoding one frame and converting it takes."""
    mode_bytes = pixel_bytes(frame.mode)
    if fmt == "GIF" and not first:
        decoded = _GIF_LATER_FRAME
    else:
        decoded = mode_bytes + _DECODER_EXTRA.get(fmt, 0)
        if fmt in ("JPEG", "MPO") and progressive:
            # 2 bytes per DCT coefficient of every band, the whole image at once
            decoded += 2 * _BANDS.get(frame.mode, 4)
        if fmt == "TIFF":
            decoded += max(strip, 4)  # a strip or tile read whole (libtiff's RGBA path: 4)
        if fmt == "PNG" and not first:
            decoded += 2 * mode_bytes  # APNG: the previous frame and the disposed area
    conversion, conversion_images = _conversion(frame.mode, alpha)
    per_pixel = decoded + conversion + _RESIZE
    copies = 1 + conversion_images + 1  # the decoded frame, its conversion's, the resize's
    rows = frame.height
    if transposed:
        per_pixel += mode_bytes  # EXIF orientation: a turned copy
        copies += 1
        rows = max(frame.width, frame.height)  # the turned copies' rows are its columns
    return frame.pixels * per_pixel + copies * rows * _ROW_POINTER


def _regions_bytes(cfg: Any, frames: int) -> int:
    return frames * (cfg.max_tiles + 1) * cfg.size * cfg.size * 3


def _reference_resize_bytes(width: int, height: int, mode: str, cfg: Any) -> int:
    """Upper bound of the image ``preprocess.reference_crop`` resizes the reference's
    thumbnail to before its centre crop: torchvision's ``Resize(size)`` takes the short
    side up to ``size``, so a thin strip (1 x 600 -> 1 x 512) becomes 224 x 114688, some
    100 MB from a file of a few hundred bytes. In the thumbnail's mode (an alpha one is
    resized premultiplied, then converted back: twice)."""
    long, short = max(width, height), min(width, height)
    if long > _REFERENCE_SHRINK:  # the thumbnail; its short side floored: an upper bound
        short = max(1, short * _REFERENCE_SHRINK // long)
        long = _REFERENCE_SHRINK
    size = cfg.size
    pixels = size * max(size, size * long // short + 1)
    return pixels * pixel_bytes(mode) * (2 if mode in _ALPHA else 1)


def _finish(
    fmt: str,
    frames: list[Frame],
    costs: list[int],
    chosen: int,
    cfg: Any,
    sequential: bool,
    data: bytes,
) -> DecodePlan:
    largest = max(f.pixels for f in frames)
    # the previous frame's RGB copy is alive while the next is decoded
    previous = 4 * largest if len(frames) > 1 else 0
    first = frames[0]
    reference = _reference_resize_bytes(first.width, first.height, first.mode, cfg)
    cost = max(costs) + previous + reference + _regions_bytes(cfg, chosen) + _FIXED
    return DecodePlan(fmt, tuple(frames), cost + metadata_cost(data), sequential)


def plan(image: Any, indices: list[int], cfg: Any, data: bytes = b"") -> DecodePlan:
    """Check every frame decoding ``indices`` of the opened ``image`` goes through, and
    estimate the cost; raises ``Unreadable``. Reads headers only (``data``: the file,
    for GIF's own frame walk and the metadata it holds). Leaves ``image`` on its first
    frame."""
    fmt = image.format or "?"
    count = _frame_count(image)
    sequential = fmt in _SEQUENTIAL and count > 1
    last = max(indices)
    frames: list[Frame] = []
    progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    strip = _tiff_strip_bytes(image) if fmt == "TIFF" else 0
    # EXIF orientation: from the header, except PNG's, which Pillow finds only by
    # decoding (an eXIf chunk may follow the pixels): assume it there.
    transposed = fmt == "PNG" or _oriented(image)
    if fmt == "GIF" and count > 1:
        frames = _gif_frames(data, image, last, cfg)
    elif sequential:  # APNG, WebP, AVIF: every frame is drawn on the one canvas
        width, height = image.size
        frames = [Frame(i, width, height, image.mode) for i in range(last + 1)]
    elif count > 1:  # TIFF pages, MPO pictures: each its own size and mode, read alone
        progressive = progressive or fmt == "MPO"  # each picture has its own header
        try:
            for index in indices:
                image.seek(index)
                frames.append(Frame(index, image.size[0], image.size[1], image.mode))
                strip = max(strip, _tiff_strip_bytes(image) if fmt == "TIFF" else 0)
                transposed = transposed or _oriented(image)
        except Exception as exc:  # whatever Pillow raises on a header (TypeError, KeyError...)
            if not frames:
                raise _unreadable(f"truncated or corrupt {fmt} image: {exc!r}") from None
            # a page that does not parse is not decoded either: decode stops before it
        image.seek(indices[0])
    else:
        frames = [Frame(0, image.size[0], image.size[1], image.mode)]
    for frame in frames:
        try:
            _check_pixels(fmt, frame.index, count, frame.width, frame.height, cfg)
        except Exception as exc:
            if frame.index > 0:  # its first frame may be read alone (Engine)
                _later(exc)
            raise
    if sequential:
        walked = sum(walk_pixels(f.pixels) for f in frames)
        if walked > cfg.frame_pixel_budget:
            why = "its canvas grows"
            if any(f.pixels < MIN_WALK_PIXELS for f in frames):
                why = f"{len(frames)} frames, each counted as at least {MIN_WALK_PIXELS} pixels"
            raise _later(
                _unreadable(
                    f"reaching frame {last + 1} of this {fmt} animation decodes "
                    f"{walked / 1e6:.0f} megapixels ({why}), over the "
                    f"{cfg.frame_pixel_budget / 1e6:.0f} megapixel budget for an animation"
                )
            )
    info_alpha = "transparency" in image.info
    costs = []
    for frame in frames:
        alpha = frame.mode in _ALPHA or info_alpha or (fmt == "GIF" and frame.index > 0)
        costs.append(
            _frame_cost(
                fmt,
                frame,
                first=frame.index == 0,
                alpha=alpha,
                progressive=progressive,
                strip=strip,
                transposed=transposed,
            )
        )
    return _finish(fmt, frames, costs, len(indices), cfg, sequential, data)


def plan_before_open(data: bytes, cfg: Any) -> DecodePlan | None:
    """The plan of a WebP, from its header alone: Pillow allocates a WebP's canvas (twice)
    as it opens it, so it is checked and paid for before that. None for other formats."""
    canvas = _webp_canvas(data)
    if canvas is None:
        return None
    width, height, alpha, exif, animated = canvas
    _check_pixels("WEBP", 0, 1, width, height, cfg)
    frame = Frame(0, width, height, "RGBA" if alpha else "RGB")
    cost = _frame_cost(
        "WEBP", frame, first=True, alpha=alpha, progressive=False, strip=0, transposed=exif
    )
    if animated:  # the previous frame's RGB copy, and up to max_frames sets of regions
        cost += 4 * frame.pixels + _regions_bytes(cfg, cfg.max_frames)
    else:
        cost += _regions_bytes(cfg, 1)
    cost += _reference_resize_bytes(width, height, frame.mode, cfg) + metadata_cost(data)
    return DecodePlan("WEBP", (frame,), cost + _FIXED, sequential=True)


def estimate(data: bytes, cfg: Any, budget: DecodeBudget | None = None) -> int:
    """The bytes decoding ``data`` costs at most (headers only); raises ``Unreadable``.
    For a second decode of the same bytes outside the classifier (a perceptual hash).
    Planning opens the file, and Pillow copies its metadata as it opens it: with a
    ``budget``, those copies are held in it while the open lives (as ``Decoding`` holds
    them; a file whose metadata could never fit is refused before it is opened). Hold
    the cost returned only after this returns: nothing is held then."""
    return estimate_plan(data, cfg, budget).cost


def estimate_plan(data: bytes, cfg: Any, budget: DecodeBudget | None = None) -> DecodePlan:
    """``estimate``'s plan: its cost, and the frames it goes through."""
    from classifier.preprocess import _frame_indices, _open

    early = plan_before_open(data, cfg)
    if early is not None:
        return early
    metadata = metadata_hold(data)
    held = (
        budget.reserve(metadata, "reading its metadata")
        if budget is not None and metadata
        else None
    )
    try:
        image = _open(data, cfg)
        try:
            planned = plan(image, _frame_indices(image, cfg), cfg, data)
        finally:
            image.close()
            del image  # its metadata copies, before what they held is given back
    finally:
        if held is not None:
            held.release()
    return planned


def seek(image: Any, index: int, decode_plan: DecodePlan) -> None:
    """Go to frame ``index``, one frame at a time through an animation, checking at each
    that Pillow sees the canvas the plan was made for before that frame is decoded."""
    if decode_plan.sequential and index >= image.tell():
        while image.tell() < index:
            image.seek(image.tell() + 1)
            _verify(image, decode_plan)
        return
    image.seek(index)
    _verify(image, decode_plan)


def _verify(image: Any, decode_plan: DecodePlan) -> None:
    index = image.tell()
    frame = decode_plan.frame(index)
    if decode_plan.format == "WEBP" and frame is None:
        frame = decode_plan.frames[0]  # one canvas for every frame
    width, height = image.size
    if (
        frame is None
        or width > frame.width
        or height > frame.height
        or pixel_bytes(image.mode) > pixel_bytes(frame.mode)
    ):
        planned = f"{frame.width}x{frame.height} {frame.mode}" if frame else "no such frame"
        refused = _unreadable(
            f"{decode_plan.format} frame {index + 1} is {width}x{height} {image.mode} where "
            f"its headers said {planned}: refused"
        )
        raise _later(refused) if index > 0 else refused


# --- headers ------------------------------------------------------------------------------


def _frame_count(image: Any) -> int:
    try:
        return int(getattr(image, "n_frames", 1) or 1)
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise _unreadable(f"truncated or corrupt {image.format} animation: {exc}") from None


def _oriented(image: Any) -> bool:
    try:
        return image.getexif().get(0x0112, 1) in range(2, 9)
    except Exception:  # a broken EXIF block: assume the turned copy
        return True


def _tiff_strip_bytes(image: Any) -> int:
    """Bytes per pixel of the TIFF page as stored (samples x bits): libtiff reads a strip
    or tile of it whole, and one strip may be the whole page."""
    try:
        bits = image.tag_v2.get(258) or (8,)
        bits = bits if isinstance(bits, tuple) else (bits,)
        samples = int(image.tag_v2.get(277) or len(bits))
        return max(1, (max(int(b) for b in bits) * samples + 7) // 8)
    except (TypeError, ValueError, AttributeError):
        return 8


def _gif_frames(data: bytes, image: Any, last: int, cfg: Any) -> list[Frame]:
    """The canvas of GIF frames 0..``last``, by walking the file's blocks as Pillow's
    reader does: a frame that reaches past the canvas grows it (and it stays grown)."""
    width, height = image.size  # the first frame's growth is already in it
    extents = _gif_extents(data, last + 1)
    if len(extents) < last + 1:
        missing = _unreadable(
            f"truncated or corrupt GIF image: frame {len(extents) + 1} is missing"
        )
        raise _later(missing) if extents else missing
    frames = []
    for index, (x1, y1) in enumerate(extents):
        width, height = max(width, x1), max(height, y1)
        frames.append(Frame(index, width, height, "P" if index == 0 else "RGBA"))
    return frames


def _gif_extents(data: bytes, wanted: int) -> list[tuple[int, int]]:
    """(right, bottom) of the first ``wanted`` image descriptors. Mirrors
    ``GifImagePlugin._seek``: extensions are skipped with their sub-blocks, any other
    byte between blocks is ignored, ``;`` ends the file."""
    if len(data) < 13:
        return []
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    n = len(data)
    extents: list[tuple[int, int]] = []

    def skip_blocks(at: int) -> int:
        while at < n:
            length = data[at]
            at += 1
            if length == 0:
                break
            at += length
        return at

    while pos < n and len(extents) < wanted:
        byte = data[pos]
        pos += 1
        if byte == 0x3B:  # ';'
            break
        if byte == 0x21:  # '!': extension label, then sub-blocks
            pos = skip_blocks(pos + 1)
        elif byte == 0x2C:  # ',': image descriptor
            if pos + 9 > n:
                break
            x0, y0, w, h, frame_flags = struct.unpack_from("<HHHHB", data, pos)
            pos += 9
            extents.append((x0 + w, y0 + h))
            if frame_flags & 0x80:
                pos += 3 << ((frame_flags & 7) + 1)
            pos = skip_blocks(pos + 1)  # LZW minimum code size, then the image data
    return extents


def _webp_canvas(data: bytes) -> tuple[int, int, bool, bool, bool] | None:
    """(width, height, alpha, EXIF, animated) from a WebP's first chunk (only the
    extended format, VP8X, can hold EXIF or an animation); None if not a WebP."""
    if len(data) < 25 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    kind = data[12:16]
    if kind == b"VP8X" and len(data) >= 30:
        flags = data[20]
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        animated = bool(flags & 0x02)
        alpha = bool(flags & 0x10) or (not animated and _webp_image_alpha(data))
        return width, height, alpha, bool(flags & 0x08), animated
    if kind == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (
            1 + (bits & 0x3FFF),
            1 + ((bits >> 14) & 0x3FFF),
            bool((bits >> 28) & 1),
            False,
            False,
        )
    if kind == b"VP8 " and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height, False, False, False
    return None  # not a WebP Pillow opens


def _webp_image_alpha(data: bytes) -> bool:
    """Whether a still VP8X WebP's chunks hold alpha its flags may not show: libwebp
    decodes an ALPH chunk, or a lossless image's own alpha, whatever the flag says."""
    pos = 30
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if tag == b"ALPH":
            return True
        if tag == b"VP8L":
            return len(data) > pos + 12 and bool((data[pos + 12] >> 4) & 1)
        if tag == b"VP8 ":
            return False
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return False


# --- metadata -------------------------------------------------------------------------------

# Bytes a decode may hold per byte of metadata in the file: Pillow keeps each segment or
# chunk as read, joins some (a JPEG's EXIF and ICC segments, a GIF's comment blocks; the
# joined part and the part before alive at once) and copies them again to parse them
# (EXIF without its header). Measured (tests/test_h24_fetch_decode_metadata.py): 4 for a
# JPEG's EXIF over many APP1 segments, 3 for a TIFF's tags and PNG text, 2 for WebP's.
_METADATA_COPIES = 5
# A compressed PNG chunk (zTXt, iTXt, iCCP) Pillow inflates, each to at most its
# MAX_TEXT_CHUNK and the text to MAX_TEXT_MEMORY in all (measured: once, as str; twice
# for the bytes inflated before they are decoded)
_INFLATED_COPIES = 2
_PNG_PIXELS = (b"IDAT", b"fdAT")
_PNG_COMPRESSED = (b"zTXt", b"iTXt", b"iCCP")
_WEBP_PIXELS = (b"VP8 ", b"VP8L", b"ALPH", b"ANMF", b"ANIM", b"VP8X")
_MAX_WALK = 100_000  # chunks or segments read; the rest of the file counts as metadata


def metadata_cost(data: bytes) -> int:
    """Upper bound of the bytes Pillow's copies of the file's metadata take while it is
    decoded: from its chunk or segment headers (JPEG APPn and comments, PNG chunks other
    than pixels, WebP chunks other than pixels, GIF extensions), the whole file for the
    other formats (a TIFF's tags may be anywhere in it; none for a BMP). No decoding:
    safe before Pillow opens the file."""
    if data[:3] == b"\xff\xd8\xff":
        return _METADATA_COPIES * _jpeg_metadata(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        plain, compressed = _png_metadata(data)
        return _METADATA_COPIES * plain + _INFLATED_COPIES * _png_inflated(compressed)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _METADATA_COPIES * _riff_metadata(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _METADATA_COPIES * _gif_metadata(data)
    if data[:2] == b"BM":
        return 0  # Pillow reads no metadata from a BMP
    return _METADATA_COPIES * len(data)


def metadata_hold(data: bytes) -> int:
    """What an open of ``data`` that reads its headers holds in the budget: its
    metadata's copies, when more than the few MB a decode thread takes outside the
    budget (an ordinary photo's EXIF is tens of KB: nothing)."""
    metadata = metadata_cost(data)
    return metadata + _FIXED if metadata > _FIXED else 0


def _jpeg_metadata(data: bytes) -> int:
    """Bytes of APPn and COM segments before the first scan (Pillow reads no further when
    it opens a JPEG)."""
    pos, total, n = 2, 0, len(data)
    for _ in range(_MAX_WALK):
        while pos < n and data[pos] == 0xFF:  # a marker, after any fill bytes
            pos += 1
        if pos >= n:
            return total
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            continue
        if marker == 0xDA or pos + 2 > n:  # start of scan: the pixels
            return total
        length = int.from_bytes(data[pos : pos + 2], "big")
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            total += length
        pos += length
    return total + max(0, n - pos)


def _png_metadata(data: bytes) -> tuple[int, int]:
    """(bytes of the chunks that are not pixels, how many are compressed text or ICC)."""
    pos, plain, compressed, n = 8, 0, 0, len(data)
    for _ in range(_MAX_WALK):
        if pos + 8 > n:
            return plain, compressed
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IEND":
            return plain, compressed
        if kind not in _PNG_PIXELS:
            plain += min(length, n - pos)
            compressed += kind in _PNG_COMPRESSED
        pos += 12 + length
    return plain + max(0, n - pos), compressed + max(0, n - pos) // 12


def _png_inflated(compressed: int) -> int:
    from PIL import PngImagePlugin

    per_chunk, in_all = PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
    return min(compressed * per_chunk, in_all + per_chunk)


def _riff_metadata(data: bytes) -> int:
    pos, total, n = 12, 0, len(data)
    for _ in range(_MAX_WALK):
        if pos + 8 > n:
            return total
        kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind not in _WEBP_PIXELS:
            total += min(size, n - pos)
        pos += 8 + size + (size & 1)
    return total + max(0, n - pos)


def _gif_metadata(data: bytes) -> int:
    """Bytes of extension blocks (comments, application and plain-text extensions), walked
    as ``_gif_extents`` walks the file."""
    n = len(data)
    if n < 13:
        return 0
    pos, total = 13, 0
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    steps = 0  # blocks and sub-blocks read: a file of 1-byte sub-blocks must not take long
    while pos < n and data[pos] != 0x3B and steps < 10 * _MAX_WALK:
        byte = data[pos]
        pos += 1
        if byte not in (0x21, 0x2C):
            continue  # ignored, as Pillow ignores it
        start = pos
        if byte == 0x21:  # an extension: its label, then sub-blocks
            pos += 1
        else:  # an image: its descriptor and palette, its code size, then sub-blocks
            if pos + 9 > n:
                break
            flags = data[pos + 8]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        while pos < n and data[pos] and steps < 10 * _MAX_WALK:
            pos += 1 + data[pos]
            steps += 1
        pos += 1
        steps += 1
        if byte == 0x21:
            total += min(pos, n) - start
    return total + max(0, n - pos) if steps >= 10 * _MAX_WALK else total


# --- the budget -----------------------------------------------------------------------------


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        return None


_TRIM = _malloc_trim()


def give_memory_back() -> None:
    """Return the heap freed so far to the system (glibc's ``malloc_trim``: every arena)."""
    if _TRIM is not None:
        _TRIM(0)


class MemoryNotFree(TimeoutError):
    """``DecodeBudget.reserve`` gave up: the bytes were not free by its deadline (the
    image is not at fault: nothing is said of it but that)."""


_waiting = threading.local()  # .deadline: see waiting_until


@contextmanager
def waiting_until(deadline: float | None) -> Iterator[None]:
    """Every ``reserve`` this thread makes inside waits at most until ``deadline``
    (``time.monotonic()``; None: no limit), for code that reserves on a caller's behalf
    and takes no deadline (``estimate``, a perceptual hash's decode): a caller that has
    answered without the result must not keep its place in the line, nor what it holds
    while waiting (the gate's turns to hash)."""
    before = getattr(_waiting, "deadline", None)
    _waiting.deadline = deadline
    try:
        yield
    finally:
        _waiting.deadline = before


class Reservation:
    """Bytes held in a ``DecodeBudget``; ``release()`` (or leave the ``with``) gives them
    back (after handing freed memory back to the system, for a large one)."""

    def __init__(self, budget: DecodeBudget, nbytes: int, trim: bool = False):
        self._budget = budget
        self.nbytes = nbytes
        self._trim = trim and nbytes >= TRIM_ABOVE

    def release(self) -> None:
        nbytes, self.nbytes = self.nbytes, 0
        if nbytes:
            if self._trim:
                give_memory_back()
            self._budget._give_back(nbytes)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class DecodeBudget:
    """A byte semaphore shared by every thread that decodes images. ``reserve`` waits,
    first come first served, until the bytes are free; a request larger than the whole
    budget is refused at once with ``Unreadable`` (it could never be served), naming
    ``setting``, the one that raises the budget (a worker's is its command line's). With
    a ``deadline`` (``time.monotonic()``; by default that of ``waiting_until``) a wait
    ends at it with ``MemoryNotFree``, out of the line."""

    def __init__(
        self, total: int = DEFAULT_DECODE_MEMORY, setting: str = "classifier.decode_memory"
    ):
        if total < 1:
            raise ValueError("a decode budget needs at least one byte")
        self.total = int(total)
        self.setting = setting
        self.in_use = 0
        self.peak = 0  # the most ever held at once (see reset_peak)
        self.largest = 0  # the largest single reservation granted
        self.waits = 0  # reservations that had to wait for memory
        self.refused = 0  # requests larger than the whole budget
        self.gave_up = 0  # waits ended by their deadline
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()

    def reserve(
        self, nbytes: int, what: str = "decoding this image", deadline: float | None = None
    ) -> Reservation:
        nbytes = max(0, int(nbytes))
        if deadline is None:
            deadline = getattr(_waiting, "deadline", None)
        if nbytes > self.total:
            with self._cond:
                self.refused += 1
            raise _unreadable(
                f"{what} would take about {_mb(nbytes)} of memory, more than the whole "
                f"decode budget of {_mb(self.total)} ({self.setting})"
            )
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            if self._queue[0] is not ticket or self.in_use + nbytes > self.total:
                self.waits += 1
            try:
                while self._queue[0] is not ticket or self.in_use + nbytes > self.total:
                    if deadline is None:
                        self._cond.wait()
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.gave_up += 1
                        raise MemoryNotFree(
                            f"{what}: {_mb(nbytes)} of the decode budget ({self.setting}) "
                            "not free in time"
                        )
                    self._cond.wait(left)
            except BaseException:
                # interrupted while waiting (Ctrl-C, an exception raised in this thread):
                # out of the line, or every reservation after it would wait for it forever
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._take(nbytes)
            self._cond.notify_all()  # the next in line may fit too
            return Reservation(self, nbytes, trim=True)

    def charge(self, nbytes: int) -> Reservation:
        """Count memory that exists already (regions waiting for the model): never waits;
        the decodes after it wait until it is released."""
        with self._cond:
            self._take(max(0, int(nbytes)))
        return Reservation(self, max(0, int(nbytes)))

    def reset_peak(self) -> None:
        with self._cond:
            self.peak = self.in_use
            self.largest = 0

    def _take(self, nbytes: int) -> None:
        self.in_use += nbytes
        self.peak = max(self.peak, self.in_use)
        self.largest = max(self.largest, nbytes)

    def _give_back(self, nbytes: int) -> None:
        with self._cond:
            self.in_use -= nbytes
            self._cond.notify_all()


class Decoding:
    """How ``preprocess.decode`` holds its memory: a WebP's plan is made and paid for
    before Pillow opens it; any other image's metadata is paid for before the open that
    reads its headers (``metadata_cost``), and its plan once that open is closed
    (``frames``, then ``hold``: never waiting for memory while holding some)."""

    def __init__(self, data: bytes, cfg: Any, budget: DecodeBudget | None):
        self.data, self.cfg, self.budget = data, cfg, budget
        self.plan: DecodePlan | None = None
        self._held: Reservation | None = None
        self._early: DecodePlan | None = None

    def __enter__(self) -> Decoding:
        self._early = plan_before_open(self.data, self.cfg)
        if self.budget is None:
            return self
        if self._early is not None:
            self._held = self.budget.reserve(self._early.cost)
        elif metadata := metadata_hold(self.data):
            self._held = self.budget.reserve(metadata)
        return self

    def frames(self, image: Any, indices: list[int]) -> DecodePlan:
        """Check the frames of the opened image before any decoding; ``hold`` its cost
        once the image is closed."""
        self.plan = plan(image, indices, self.cfg, self.data)
        if self._early is not None:
            early = self._early.frames[0]
            # paid for as the header said: a canvas larger, or with alpha to composite
            # where none was planned, would cost more than is held
            if image.size != (early.width, early.height) or (
                image.mode in _ALPHA and early.mode not in _ALPHA
            ):
                raise _unreadable(
                    f"WEBP canvas is {image.size[0]}x{image.size[1]} {image.mode} where its "
                    f"header said {early.width}x{early.height} {early.mode}: refused"
                )
            self.plan = DecodePlan("WEBP", self.plan.frames, self._early.cost, True)
        return self.plan

    def hold(self) -> None:
        """Hold the plan's cost (the image ``frames`` read closed and dropped: what its
        open held is given back first, so no decode waits while holding memory)."""
        assert self.plan is not None
        if self._early is not None or self.budget is None:
            return  # a WebP's is held since before it was opened
        if self._held is not None:
            self._held.release()
            self._held = None
        try:
            self._held = self.budget.reserve(self.plan.cost)
        except MemoryNotFree:
            raise
        except Exception as exc:  # more than the whole budget: Unreadable
            if len(self.plan.frames) > 1:  # the first frame alone may fit (Engine)
                _later(exc)
            raise

    def seek(self, image: Any, index: int) -> None:
        assert self.plan is not None
        seek(image, index, self.plan)

    def __exit__(self, *exc: Any) -> None:
        if self._held is not None:
            self._held.release()
