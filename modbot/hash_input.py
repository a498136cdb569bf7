"""The image a perceptual hash reads: opened within the limits of the classifier's
decoder, and every way its decoding fails said as an ``ImageHashError``.

The pHash (``modbot.hashes``) and PDQ (``modbot.pdq``) both open images here, so they
refuse the same files, in the same words.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image, UnidentifiedImageError

from modbot.errors import ImageHashError

__all__ = ["FORMATS", "MAX_PIXELS", "MPO", "bomb_refused", "decoding", "eight_bit", "open_image"]

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")  # as classifier/preprocess.py
# What Pillow calls a JPEG holding more than one picture (a 3-D camera's pair, the larger
# preview many cameras add): opened as a JPEG, its first picture is the JPEG's; the
# classifier reads it so too (its pictures as frames).
MPO = "MPO"
MAX_PIXELS = 64_000_000


def open_image(data: bytes | bytearray | memoryview) -> Image.Image:
    """The image's header read, no pixel decoded yet: refused when its format is not one
    modbot reads, or when it is over the pixel cap. Call it inside ``decoding``.

    Only modbot's formats are tried, as the classifier's decoder tries them: another
    format's parser (PSD, ICO, TGA, SPIDER...) never runs on the file's headers, which
    is where Pillow's bugs in formats modbot does not read would be reached. One of
    those is still named, from its signature alone."""
    raw = bytes(data)
    try:
        img = Image.open(io.BytesIO(raw), formats=FORMATS)
    except UnidentifiedImageError:
        other = _other_format(raw)
        if other is not None:
            raise ImageHashError(f"{other} is not an image format modbot reads") from None
        raise
    if img.format not in FORMATS and img.format != MPO:
        raise ImageHashError(f"{img.format} is not an image format modbot reads")
    if img.width * img.height > MAX_PIXELS:
        raise ImageHashError(
            f"{img.width}x{img.height} is over the {MAX_PIXELS // 1_000_000} megapixel cap"
        )
    return img


def _other_format(data: bytes) -> str | None:
    """The format outside modbot's whose signature check takes ``data``'s first bytes
    (the checks compare a few bytes: no parser runs); None when none does, or when one
    of modbot's does (a file of its format whose headers do not parse)."""
    Image.init()
    prefix = data[:16]
    for fmt, (_, accept) in Image.OPEN.items():
        if accept is None:
            continue
        try:
            accepted = accept(prefix)
        except Exception:  # a check that reads past a prefix this short (struct.error)
            continue
        if accepted and not isinstance(accepted, str):  # (a str: why Pillow would not)
            return None if fmt in FORMATS or fmt == MPO else fmt
    return None


def eight_bit(img: Image.Image) -> Image.Image:
    """A greyscale image of more than 8 bits as the 8-bit picture it shows; any other
    image as it is. Pillow's own conversion to 8 bits clips every value over 255 to
    white (and a float's under 1 to black): the picture is lost (a PDQ of quality 0, a
    pHash of nothing), and a listed picture saved as a 16-bit PNG or a float TIFF would
    match no list.

    - 16 bits (Pillow's I;16 modes, or I with values up to 65535: a 16-bit PNG or TIFF):
      the top 8 bits, so an 8-bit picture widened to 16 bits (x 257) comes back exact;
    - wider integers (I over 65535: a 32-bit TIFF) and floats (F: 0 to 1, 0 to 255, or
      any range): scaled so the largest value is 255, negative ones black, as the
      classifier's decoder shows them (``classifier.preprocess._frame_rgb``), so the
      hash is of the picture the classifier saw."""
    if not (img.mode.startswith("I;16") or img.mode in ("I", "F")):
        return img
    values = np.asarray(img)
    if img.mode == "F":
        values = np.where(np.isfinite(values), values, 0)  # NaN, inf: no picture there
    top = float(values.max(initial=0))
    if img.mode == "I" and top <= 255:
        return img  # 8-bit values held wide: Pillow's conversion keeps them
    if img.mode == "F" or top > 65535:
        scaled = np.asarray(values, dtype=np.float64) * (255.0 / (top or 1.0))
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")
    top8 = np.clip(values >> 8, 0, 255).astype(np.uint8)
    return Image.fromarray(top8, "L")


@contextmanager
def decoding(data: bytes | bytearray | memoryview) -> Iterator[None]:
    """Pillow's errors while ``data`` is opened and decoded, as ``ImageHashError``s (one
    raised within, a refusal with its own reason, passes as it is)."""
    try:
        yield
    except ImageHashError:
        raise  # a ValueError too: not to be wrapped in "not a readable image"
    except UnidentifiedImageError:
        raise ImageHashError("not an image format Pillow can read") from None
    except Image.DecompressionBombError as exc:  # Pillow's own check, at twice its limit
        raise bomb_refused(bytes(data), exc) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageHashError(f"not a readable image: {exc}") from exc


def bomb_refused(data: bytes, exc: Exception) -> ImageHashError:
    """Pillow's own bomb check (at twice its limit) comes before the cap: the cap's
    words, from the size the headers declare (Pillow's only where its limit was set
    below the cap), as the classifier's decoder says it."""
    from classifier.preprocess import _declared_size

    declared = _declared_size(data)
    if declared is None or declared[0] * declared[1] <= MAX_PIXELS:
        return ImageHashError(f"a decompression bomb: {exc}")
    width, height = declared
    return ImageHashError(f"{width}x{height} is over the {MAX_PIXELS // 1_000_000} megapixel cap")
