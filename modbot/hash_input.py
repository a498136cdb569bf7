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

__all__ = ["FORMATS", "MAX_PIXELS", "bomb_refused", "decoding", "eight_bit", "open_image"]

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")  # as classifier/preprocess.py
MAX_PIXELS = 64_000_000


def open_image(data: bytes | bytearray | memoryview) -> Image.Image:
    """The image's header read, no pixel decoded yet: refused when its format is not one
    modbot reads, or when it is over the pixel cap. Call it inside ``decoding``."""
    img = Image.open(io.BytesIO(bytes(data)))
    if img.format not in FORMATS:
        raise ImageHashError(f"{img.format} is not an image format modbot reads")
    if img.width * img.height > MAX_PIXELS:
        raise ImageHashError(
            f"{img.width}x{img.height} is over the {MAX_PIXELS // 1_000_000} megapixel cap"
        )
    return img


def eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit greyscale image (a 16-bit PNG or TIFF: Pillow's I;16 modes, or I) as
    the 8-bit picture it shows, its top 8 bits; any other image as it is. Pillow's own
    conversion to 8 bits clips every value over 255 to white: the picture is lost (a
    PDQ of quality 0, a pHash of nothing), and a listed picture saved as a 16-bit PNG
    would match no list. An 8-bit picture widened to 16 bits (x 257) comes back exact."""
    if not (img.mode.startswith("I;16") or img.mode == "I"):
        return img
    values = np.asarray(img)
    if img.mode == "I" and int(values.max(initial=0)) <= 255:
        return img  # 8-bit values held wide: Pillow's conversion keeps them
    top = np.clip(values >> 8, 0, 255).astype(np.uint8)
    return Image.fromarray(top, "L")


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
