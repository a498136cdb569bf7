"""Image bytes -> model-ready regions, without letting content hide.

- the first region is exactly what the reference check sees (``reference_view``):
  fedi-safety's ``thumbnail((512, 512))`` of the image as opened (first frame, no EXIF
  rotation, Pillow's own draft for JPEGs), then open_clip's eval transform
  (torchvision ``Resize(224)`` flooring the long side, ``CenterCrop(224)``, then
  ``convert("RGB")``); so the reference's verdict is always one of ours;
- the regions below come on top of it, only where they show something the reference's
  view does not:
- EXIF orientation applied; transparency composited on a neutral grey;
- animated GIF/WebP/APNG: up to ``max_frames`` frames spread over the animation;
- very wide or tall images: the centre crop the reference sees, plus tiles along the
  long side covering all of it;
- large JPEGs decoded at reduced size (Pillow's draft mode);
- our own pixel cap against decompression bombs (independent of the process-wide
  ``Image.MAX_IMAGE_PIXELS``), on every frame before it is decoded, and the decode's
  memory held in a budget shared by the decode threads (``classifier/budget.py``);
- bytes that are not a supported image raise ``Unreadable`` with the reason;
- for a GPU, the reference's view of a plain photo can be left to the model's device
  (``defer``): the image is decoded (drafted as the thumbnail would) and the resizes are
  made there, bit for bit as Pillow makes them (``classifier.resample``).

Each region is a ``size x size x 3`` uint8 array (resize shortest side, bicubic, centre
crop: open_clip's eval preprocessing); normalisation happens on the model's device.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from classifier.budget import DecodeBudget, Decoding, walk_pixels
from classifier.resample import ReferenceSteps, Resize

# Bump when regions change for the same bytes: it is part of every concept version.
# 2: the first region is the reference's view (512 px thumbnail, torchvision's floor).
# 3: images called unreadable before are read (a broken EXIF block, a cut GIF, a TIFF or
#    MPO with a broken later page): their cached "unreadable" verdicts must not stand.
PREPROCESS_VERSION = "3"
REFERENCE_SHRINK = (512, 512)  # fedi-safety: image.thumbnail((512, 512)) before checking
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
# Formats we decode; anything else Pillow could open (EPS, PSD, ...) is attack surface.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
NEUTRAL = (128, 128, 128)
EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the turn that shows the image upright (as ImageOps.exif_transpose)
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Unreadable(Exception):
    """The bytes cannot be classified; ``reason`` says why, for the report."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreprocessConfig:
    size: int = 224  # the model's input size
    max_pixels: int = 64_000_000  # per frame; larger is refused as a likely decompression bomb
    max_frames: int = 4  # frames examined in an animation
    # frames x pixels decoded to reach them, each frame at least 64x64 (budget.walk_pixels)
    frame_pixel_budget: int = 256_000_000
    tile_aspect: float = 1.55  # wider (or taller) than this gets tiles; 3:2 photos do not
    max_tiles: int = 6  # along the long side; beyond that tiles are squeezed to cover it

    def version(self) -> str:
        return f"{PREPROCESS_VERSION}:{self.size}:{self.max_pixels}:{self.max_frames}:{self.tile_aspect}:{self.max_tiles}"


@dataclass
class Deferred:
    """A decoded image whose reference view is still to be made (on the model's device:
    ``classifier.resample.reference_region``)."""

    # H x W x 3 (RGB) or H x W (grey) uint8, as drafted for the thumbnail (the engine may
    # swap the array for a page-locked tensor of it)
    pixels: Any
    steps: ReferenceSteps


@dataclass
class Decoded:
    """The regions of one image, the reference's view first, and (when asked for) the
    reference's 512 px image in RGB: what DeepDanbooru looks at. With ``deferred``, the
    reference's view is still to be made from it and comes before ``regions``."""

    regions: list[np.ndarray]
    source: np.ndarray | None = None  # H x W x 3 uint8, at most 512 x 512
    deferred: Deferred | None = None


def decode(
    data: bytes, cfg: PreprocessConfig = PreprocessConfig(), budget: DecodeBudget | None = None
) -> list[np.ndarray]:
    """Every region to score for ``data``; raises ``Unreadable``."""
    return decode_image(data, cfg, budget=budget).regions


def decode_image(
    data: bytes,
    cfg: PreprocessConfig = PreprocessConfig(),
    keep_source: bool = False,
    budget: DecodeBudget | None = None,
    defer: bool = False,
) -> Decoded:
    """The reference's region, then our own regions where they add something; raises
    ``Unreadable``. With ``defer``, a photo that is only the reference's view (one frame,
    RGB or grey, no EXIF rotation, not very wide or tall, shrunk by the thumbnail) comes
    back decoded and ``deferred`` instead (its 512 px image too is made from it then).

    Every frame is checked before any is decoded (``classifier.budget``); with a
    ``budget``, the decode's estimated memory is held in it while decoding (waiting for
    it to be free; ``Unreadable`` when it is more than the whole budget)."""
    with Decoding(data, cfg, budget) as decoding:
        image = _open(data, cfg)
        try:
            decoding.frames(image, _frame_indices(image, cfg))
            # the opens below take this count: a GIF's or TIFF's walks the whole file
            frames = int(getattr(image, "n_frames", 1) or 1)
        finally:
            image.close()
        del image  # its metadata copies (EXIF, text) too, before the decode's cost is held
        decoding.hold()
        if defer:
            deferred = _deferred(data, cfg, frames)
            if deferred is not None:
                return Decoded([], None, deferred)
        try:
            first, source, own = reference_view(data, cfg, keep_source, frames)
        except Unreadable:
            raise
        except (OSError, ValueError, SyntaxError, EOFError):
            # Pillow cannot do the reference's operations on this one (an odd mode, say):
            # our own decoding decides, and says why if it cannot either
            return Decoded(_own_regions(data, cfg, True, decoding, frames))
        if own is None:
            return Decoded([first], source)
        return Decoded([first, *_own_regions(data, cfg, own, decoding, frames)], source)


def reference_view(
    data: bytes, cfg: PreprocessConfig, keep_source: bool = False, frames: int | None = None
) -> tuple[np.ndarray, np.ndarray | None, bool | None]:
    """``(region, source, own)``: the region the reference check sees, the 512 px image
    it starts from (RGB, when ``keep_source``), and whether our own regions add
    something: None (nothing), False (tiles or later frames only), True (also our own
    view of the first frame: EXIF rotation, transparency or 16-bit grey handled).
    ``frames``: the count an earlier open of ``data`` made (see ``_open``)."""
    image = _open(data, cfg, frames)
    try:
        own = _own_adds(image, cfg)
        image.thumbnail(REFERENCE_SHRINK)  # in place, before loading: Pillow drafts JPEGs itself
        source = np.asarray(image.convert("RGB"), dtype=np.uint8) if keep_source else None
        return reference_crop(image, cfg.size), source, own
    finally:
        image.close()


def _deferred(data: bytes, cfg: PreprocessConfig, frames: int | None) -> Deferred | None:
    """The image decoded as ``thumbnail((512, 512))`` would decode it, and the resizes
    ``reference_view`` would make from it; None where those are not plain resizes of an
    RGB or grey image that shrink it (the host's path handles those, and any error)."""
    image = _open(data, cfg, frames)
    try:
        if image.mode not in ("RGB", "L") or _own_adds(image, cfg) is not None:
            return None
        # Image.thumbnail as Pillow 10-13 write it, up to its resize
        width, height = image.size
        x, y = REFERENCE_SHRINK
        if x >= width and y >= height:
            return None  # nothing to shrink: cheap on the host
        aspect = width / height
        if x / y >= aspect:
            x = _round_aspect(y * aspect, lambda n: abs(aspect - n / y))
        else:
            y = _round_aspect(x / aspect, lambda n: 0 if n == 0 else abs(aspect - x / n))
        drafted = image.draft(
            None, (int(REFERENCE_SHRINK[0] * 2.0), int(REFERENCE_SHRINK[1] * 2.0))
        )
        box = drafted[1] if drafted is not None else (0, 0, *image.size)
        if image.size == (x, y):
            return None
        # resize(reducing_gap=2.0) reduces by an integer factor first when it can: not here
        if int((box[2] - box[0]) / x / 2.0) > 1 or int((box[3] - box[1]) / y / 2.0) > 1:
            return None
        image.load()
        pixels = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError):
        return None  # the host's path says what is wrong with it
    finally:
        image.close()
    size = cfg.size
    new_w, new_h = _torchvision_size(x, y, size)
    second = Resize((new_w, new_h), (0, 0, x, y)) if (new_w, new_h) != (x, y) else None
    crop = (round((new_w - size) / 2.0), round((new_h - size) / 2.0), size)
    x0, y0, x1, y1 = box
    thumbnail = Resize((x, y), (float(x0), float(y0), float(x1), float(y1)))
    return Deferred(pixels, ReferenceSteps(thumbnail, second, crop))


def _round_aspect(number: float, key: Callable[[int], float]) -> int:
    return max(min(math.floor(number), math.ceil(number), key=key), 1)


def _torchvision_size(width: int, height: int, size: int) -> tuple[int, int]:
    """torchvision's ``Resize(size)``: the short side to ``size``, the long one floored."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    return (size, new_long) if width <= height else (new_long, size)


def reference_crop(image: Image.Image, size: int) -> np.ndarray:
    """open_clip's eval transform on a PIL image, as torchvision does it: shortest side to
    ``size`` (the long side floored), bicubic; the centre crop (offsets rounded as
    Python's round); then RGB."""
    w, h = image.size
    new_w, new_h = _torchvision_size(w, h, size)
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    top = round((new_h - size) / 2.0)
    left = round((new_w - size) / 2.0)
    return np.asarray(
        image.crop((left, top, left + size, top + size)).convert("RGB"), dtype=np.uint8
    )


def _own_adds(image: Image.Image, cfg: PreprocessConfig) -> bool | None:
    """What our own regions add to the reference's view (see ``reference_view``)."""
    differs = (
        _orientation(image) in range(2, 9)
        or image.mode in ("RGBA", "LA", "PA", "RGBa", "La", *HIGH_BIT_MODES)
        or (image.mode == "P" and "transparency" in image.info)
    )
    if differs:
        return True
    width, height = image.size
    try:
        animated = int(getattr(image, "n_frames", 1) or 1) > 1
    except (OSError, ValueError, SyntaxError, EOFError):
        animated = True  # let our own decoding say what is wrong with it
    if animated or max(width, height) / min(width, height) > cfg.tile_aspect:
        return False
    return None


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1: as stored). A block that does not parse says nothing
    about the pixels (Pillow and the reference read them): as stored, then. A PNG's
    eXIf chunk may follow its pixels, so a PNG is decoded first, and a decoding error
    (a truncated file) is raised, not taken for a broken EXIF block."""
    if image.format == "PNG":
        image.load()
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # SyntaxError, struct.error, ValueError, ... from a hostile block
        return 1
    return orientation if isinstance(orientation, int) else 1


def _own_regions(
    data: bytes,
    cfg: PreprocessConfig,
    first_centre: bool,
    decoding: Decoding,
    frames: int | None,
) -> list[np.ndarray]:
    """Our own regions: frames spread over an animation, each with its centre crop and,
    when very wide or tall, tiles; the first frame's centre only if ``first_centre``."""
    image = _open(data, cfg, frames)
    frame: Image.Image | None
    try:
        regions: list[np.ndarray] = []
        for n, index in enumerate(_frame_indices(image, cfg)):
            try:
                decoding.seek(image, index)
                frame = _frame_rgb(image, cfg)
            except Unreadable:
                raise  # a frame other than its headers said: refused
            except Exception as exc:
                if n:  # a broken later frame (whatever Pillow raises on it): keep what we saw
                    break
                if not isinstance(exc, (OSError, ValueError, SyntaxError, EOFError)):
                    raise
                raise Unreadable(f"truncated or corrupt {image.format} image: {exc}") from exc
            frame_views = views(frame, cfg)
            regions.extend(frame_views if n or first_centre else frame_views[1:])
        frame = None  # freed before the budget is given back
        return regions
    finally:
        image.close()


def _open(data: bytes, cfg: PreprocessConfig, frames: int | None = None) -> Image.Image:
    """``data`` opened, headers checked and its frames counted; ``frames``: the count an
    earlier open of the same bytes made, taken instead of counting again (a GIF's or
    TIFF's count reads every frame's header: some 10^5 in a few MB)."""
    if not data:
        raise Unreadable("empty file (0 bytes)")
    kind = _sniff_text(data)
    if kind:
        raise Unreadable(f"not an image: {kind}")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        # Pillow says the same when a format took the file but its headers did not parse
        # (a download cut short): then say that, so a damaged file is not taken for a
        # kind of file modbot does not read
        fmt = _format_of(data)
        if fmt is not None:
            raise Unreadable(
                f"truncated or corrupt {fmt} image: its headers do not parse ({len(data):,} bytes)"
            ) from None
        raise Unreadable(
            f"not an image of a supported format ({', '.join(FORMATS)}); starts {data[:8]!r}"
        ) from None
    except Image.DecompressionBombError as exc:
        # Pillow's own check (at twice Image.MAX_IMAGE_PIXELS) comes before ours: say
        # what ours says, from the size the headers declare (Pillow's words only where
        # its limit was set below our cap)
        declared = _declared_size(data)
        if declared is None or declared[0] * declared[1] <= cfg.max_pixels:
            raise Unreadable(f"decompression bomb refused: {exc}") from None
        raise _over_cap(*declared, cfg) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Unreadable(f"truncated or corrupt image: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise Unreadable(f"image has no pixels ({width}x{height})")
    if width * height > cfg.max_pixels:
        image.close()
        raise _over_cap(width, height, cfg)
    if frames is not None and getattr(image, "_n_frames", 0) is None:
        image._n_frames = frames  # type: ignore[attr-defined]  # as _count_frames sets it
        return image
    return _count_frames(image, data)


def _over_cap(width: int, height: int, cfg: PreprocessConfig) -> Unreadable:
    return Unreadable(
        f"{width}x{height} is {width * height / 1e6:.0f} megapixels, over the "
        f"{cfg.max_pixels / 1e6:.0f} megapixel cap (decompression bomb?)"
    )


def _format_of(data: bytes) -> str | None:
    """The first of our formats whose signature check takes ``data``'s first bytes."""
    Image.init()
    for fmt in FORMATS:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        if factory is None or accept is None:
            continue
        accepted = accept(data[:16])
        if accepted and not isinstance(accepted, str):  # (a str: why Pillow would not)
            return fmt
    return None


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """The width and height an image's headers declare, read as ``Image.open`` reads
    them but without its bomb check; None if no format of ours reads them. Not for a
    WebP, whose canvas Pillow allocates as it opens it (``budget.plan_before_open``
    refuses one over the cap before that)."""
    Image.init()
    for fmt in FORMATS:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        if factory is None or fmt == "WEBP":
            continue
        accepted = accept(data[:16]) if accept is not None else True
        if not accepted or isinstance(accepted, str):  # (a str: why Pillow would not)
            continue
        try:
            image = factory(io.BytesIO(data), "")
        except Exception:  # whatever a header that does not parse raises
            continue
        try:
            return image.size
        finally:
            image.close()
    return None


def _count_frames(image: Image.Image, data: bytes) -> Image.Image:
    """``image``, its frames counted (headers only). A GIF or TIFF cut short inside a
    later frame's header makes Pillow's count fail with whatever that header's parsing
    raised (an IndexError in a GIF's palette, say), and leaves the image between frames:
    it is opened again and counts the frames before that one, which Pillow and the
    reference read (Unreadable only if Pillow will not take that count)."""
    try:
        getattr(image, "n_frames", 1)
        return image
    except Exception as exc:
        reached = image.tell() + 1  # the last frame whose header parsed, and those before
        image.close()
        failure = exc
    image = Image.open(io.BytesIO(data), formats=FORMATS)
    if getattr(image, "_n_frames", 0) is None:  # GIF and TIFF: counted on first use
        image._n_frames = reached  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            if getattr(image, "n_frames", 1) == reached:
                return image
    image.close()
    raise Unreadable(f"truncated or corrupt {image.format} animation: {failure!r}")


def _sniff_text(data: bytes) -> str:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "SVG (vector images are not decoded)"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if head.startswith((b"{", b"[")):
        return "JSON"
    return ""


def _frame_indices(image: Image.Image, cfg: PreprocessConfig) -> list[int]:
    """Frames spread evenly over the animation (first and last included)."""
    try:
        n = int(getattr(image, "n_frames", 1) or 1)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Unreadable(f"truncated or corrupt {image.format} animation: {exc}") from None
    if n <= 1:
        return [0]
    # seeking decodes every frame before the target: bound the pixels that costs, and
    # the frames (a frame of one pixel counts as MIN_WALK_PIXELS)
    width, height = image.size
    reachable = max(1, min(n, cfg.frame_pixel_budget // walk_pixels(width * height)))
    count = min(cfg.max_frames, reachable)
    if count == 1:
        return [0]
    return sorted({round(i * (reachable - 1) / (count - 1)) for i in range(count)})


def _frame_rgb(image: Image.Image, cfg: PreprocessConfig) -> Image.Image:
    if image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK", "YCbCr"):
        width, height = image.size
        scale = cfg.size / min(width, height)
        if scale < 0.5:  # draft only reduces by 2, 4, 8 and never below the requested size
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    frame = image
    turn = _TRANSPOSE.get(_orientation(image))
    if turn is not None:
        # the pixels only: ImageOps.exif_transpose also writes the EXIF block back, which
        # fails on blocks Pillow reads (a tag of the wrong type) and the reference ignores
        frame = image.transpose(turn)
    has_alpha = frame.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        frame.mode == "P" and "transparency" in frame.info
    )
    if has_alpha:
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*NEUTRAL, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if frame.mode == "RGB":
        frame.load()
        return frame
    if frame.mode in HIGH_BIT_MODES:
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything to white
        array = np.asarray(frame, dtype=np.float64)
        top = float(array.max()) or 1.0
        return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)).convert(
            "RGB"
        )
    return frame.convert("RGB")


def views(frame: Image.Image, cfg: PreprocessConfig) -> list[np.ndarray]:
    """The centre crop, plus tiles covering the long side when the frame is very wide/tall."""
    size = cfg.size
    width, height = frame.size
    short, long = min(width, height), max(width, height)
    # capped: a 1 x 100,000 strip must not become a 224 x 22,400,000 array; the tiles of
    # such a strip are squeezed anyway (see max_tiles)
    scaled_long = min(max(size, round(long * size / short)), 2 * cfg.max_tiles * size)
    new = (scaled_long, size) if width >= height else (size, scaled_long)
    resized = (
        frame.resize(new, Image.Resampling.BICUBIC, reducing_gap=3.0)
        if new != frame.size
        else frame
    )
    array = np.asarray(resized, dtype=np.uint8)
    wide = width >= height

    def crop(start: int, length: int) -> np.ndarray:
        piece = array[:, start : start + length] if wide else array[start : start + length, :]
        if length == size:
            return np.ascontiguousarray(piece)
        return np.asarray(
            Image.fromarray(piece).resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8
        )

    centre = crop((scaled_long - size) // 2, size)
    if long / short <= cfg.tile_aspect:
        return [centre]
    n = min(math.ceil(scaled_long / size), cfg.max_tiles)
    length = max(size, math.ceil(scaled_long / n))
    starts = [round(i * (scaled_long - length) / (n - 1)) for i in range(n)]
    return [centre] + [crop(s, length) for s in starts]
