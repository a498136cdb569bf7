"""Image bytes -> model-ready regions, without letting content hide.

- EXIF orientation applied; transparency composited on a neutral grey;
- animated GIF/WebP/APNG: up to ``max_frames`` frames spread over the animation;
- very wide or tall images: the centre crop the reference sees, plus tiles along the
  long side covering all of it;
- large JPEGs decoded at reduced size (Pillow's draft mode);
- our own pixel cap against decompression bombs (independent of the process-wide
  ``Image.MAX_IMAGE_PIXELS``), on every frame before it is decoded, and the decode's
  memory held in a budget shared by the decode threads (``classifier/budget.py``);
- bytes that are not a supported image raise ``Unreadable`` with the reason.

Each region is a ``size x size x 3`` uint8 array (resize shortest side, bicubic, centre
crop: open_clip's eval preprocessing); normalisation happens on the model's device.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from classifier.budget import DecodeBudget, Decoding

# Bump when regions change for the same bytes: it is part of every concept version.
PREPROCESS_VERSION = "1"
# Formats we decode; anything else Pillow could open (EPS, PSD, ...) is attack surface.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
NEUTRAL = (128, 128, 128)
EXIF_ORIENTATION = 0x0112


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
    frame_pixel_budget: int = 256_000_000  # frames x pixels decoded to reach them
    tile_aspect: float = 1.55  # wider (or taller) than this gets tiles; 3:2 photos do not
    max_tiles: int = 6  # along the long side; beyond that tiles are squeezed to cover it

    def version(self) -> str:
        return f"{PREPROCESS_VERSION}:{self.size}:{self.max_pixels}:{self.max_frames}:{self.tile_aspect}:{self.max_tiles}"


def decode(data: bytes, cfg: PreprocessConfig = PreprocessConfig(),
           budget: DecodeBudget | None = None) -> list[np.ndarray]:
    """Every region to score for ``data``; raises ``Unreadable``.

    Every frame is checked before it is decoded (``classifier.budget``); with a
    ``budget``, the decode's estimated memory is held in it while decoding (waiting
    for it to be free; ``Unreadable`` when it is more than the whole budget)."""
    with Decoding(data, cfg, budget) as decoding:
        image = _open(data, cfg)
        try:
            indices = _frame_indices(image, cfg)
            decoding.frames(image, indices)
            regions: list[np.ndarray] = []
            for index in indices:
                try:
                    decoding.seek(image, index)
                    frame = _frame_rgb(image, cfg)
                except (OSError, ValueError, SyntaxError, EOFError) as exc:
                    if regions:  # a broken later frame: keep what we saw, the first frames decoded
                        break
                    raise Unreadable(f"truncated or corrupt {image.format} image: {exc}") from exc
                regions.extend(views(frame, cfg))
            frame = None  # freed before the budget is given back
            return regions
        finally:
            image.close()


def _open(data: bytes, cfg: PreprocessConfig) -> Image.Image:
    if not data:
        raise Unreadable("empty file (0 bytes)")
    kind = _sniff_text(data)
    if kind:
        raise Unreadable(f"not an image: {kind}")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise Unreadable(f"not an image of a supported format ({', '.join(FORMATS)}); starts {data[:8]!r}") from None
    except Image.DecompressionBombError as exc:
        raise Unreadable(f"decompression bomb refused: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Unreadable(f"truncated or corrupt image: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise Unreadable(f"image has no pixels ({width}x{height})")
    if width * height > cfg.max_pixels:
        image.close()
        raise Unreadable(
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels, over the "
            f"{cfg.max_pixels / 1e6:.0f} megapixel cap (decompression bomb?)"
        )
    return image


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
    # seeking decodes every frame before the target: bound the pixels that costs
    width, height = image.size
    reachable = max(1, min(n, cfg.frame_pixel_budget // (width * height)))
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
    if image.getexif().get(EXIF_ORIENTATION, 1) in range(2, 9):
        frame = ImageOps.exif_transpose(image)
    has_alpha = frame.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        frame.mode == "P" and "transparency" in frame.info
    )
    if has_alpha:
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, NEUTRAL + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if frame.mode == "RGB":
        frame.load()
        return frame
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping everything to white
        array = np.asarray(frame, dtype=np.float64)
        top = float(array.max()) or 1.0
        return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)).convert("RGB")
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
    resized = frame.resize(new, Image.BICUBIC, reducing_gap=3.0) if new != frame.size else frame
    array = np.asarray(resized, dtype=np.uint8)
    wide = width >= height

    def crop(start: int, length: int) -> np.ndarray:
        piece = array[:, start : start + length] if wide else array[start : start + length, :]
        if length == size:
            return np.ascontiguousarray(piece)
        return np.asarray(Image.fromarray(piece).resize((size, size), Image.BICUBIC), dtype=np.uint8)

    centre = crop((scaled_long - size) // 2, size)
    if long / short <= cfg.tile_aspect:
        return [centre]
    n = min(math.ceil(scaled_long / size), cfg.max_tiles)
    length = max(size, math.ceil(scaled_long / n))
    starts = [round(i * (scaled_long - length) / (n - 1)) for i in range(n)]
    return [centre] + [crop(s, length) for s in starts]
