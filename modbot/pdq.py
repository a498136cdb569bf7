"""PDQ, Meta's 256-bit perceptual photo hash, as the industry's hash lists use it.

What lives here: `pdq_hash(image)` -> `PdqHash(hex, quality)`, `distance(a, b)`,
`normalise(text)`, and the reference's numbers: `MATCH_DISTANCE` (31) and
`MIN_QUALITY` (50). The hash-kind interface over it is `modbot.hashes.PdqKind`.

The hash is computed by the `pdqhash` package (Meta's C++ reference code, vendored, behind
a Cython binding). The hex form is the one ThreatExchange, python-threatexchange and HMA
write: 64 lower-case hex digits, the first digit holding the hash's top four bits
(checked against ThreatExchange's published example hashes).

Input convention: the image is shrunk to fit in 512x512 (aspect kept, Pillow's
`thumbnail`) before hashing, as Meta's pure-Python reference does (the C++ tool also
shrinks to 512). python-threatexchange hashes the full-size image instead; the two
differ by 0-22 bits of 256 on the test photos, within the 31-bit match distance, and a
re-encoded copy hashed one way still matches its original hashed the other way (24 bits
at most, measured). Shrinking first keeps the cost bounded: a JPEG is decoded at a
reduced scale (Pillow's draft mode) and the hash itself takes ~4 ms.

Quality: `pdqhash` rates each hash 0-100; a flat or nearly flat image gets a low
quality and a hash that says nothing about it. The reference discards hashes of quality
below 50, and so does modbot: `PdqHash.usable` is False for them, and a hash that is not
usable matches nothing (see `modbot.hashes` for list entries).

Palette images and CMYK JPEGs are hashed by their colours (RGB). python-threatexchange
1.2.17 (and HMA) passes their raw channels instead: a palette image's indices, a CMYK
JPEG's C, M, Y (the inverse picture), so for those files its hashes are not modbot's
(docs/hash-sharing.md; tests/test_hashes_pdq_tools.py).

An animated image is hashed by its first frame. EXIF orientation is not applied, as
neither reference applies it (pict-rs strips metadata from what it stores anyway).

Decoding takes the same care as the pHash (`modbot.hashes`): only the formats modbot
reads, the pixel cap checked from the header before a pixel is decoded, Pillow's
decompression-bomb check, and every decode error an `ImageHashError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from modbot.errors import ImageHashError
from modbot.hash_input import MPO, decoding, eight_bit, open_image

__all__ = [
    "BITS",
    "DOWNSCALE",
    "MATCH_DISTANCE",
    "MAX_DISTANCE",
    "MIN_QUALITY",
    "PdqHash",
    "distance",
    "normalise",
    "pdq_hash",
]

BITS = 256
MATCH_DISTANCE = 31  # ThreatExchange's PDQ_CONFIDENT_MATCH_THRESHOLD
# The largest distance a list may be configured with: unrelated photos are 112-138 bits
# apart (measured on the test photos), so anything near 100 matches unrelated images.
MAX_DISTANCE = 64
MIN_QUALITY = 50  # python-threatexchange's PdqSignal.QUALITY_THRESHOLD
DOWNSCALE = 512  # as Meta's pure-Python reference: img.thumbnail((512, 512))
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash: `hex` (64 lower-case hex digits) and `quality` (0-100)."""

    hex: str
    quality: int

    @property
    def usable(self) -> bool:
        """False below the reference's quality threshold: such a hash matches nothing."""
        return self.quality >= MIN_QUALITY


def _open(image: bytes | bytearray | memoryview | Image.Image) -> Image.Image:
    """The image, shrunk to fit in DOWNSCALE x DOWNSCALE, as RGB."""
    if isinstance(image, Image.Image):
        image = eight_bit(image)
        img = image.convert("RGB") if image.mode != "RGB" else image.copy()
        img.thumbnail((DOWNSCALE, DOWNSCALE))
        return img
    if not isinstance(image, (bytes, bytearray, memoryview)):
        raise TypeError(f"pdq_hash wants bytes or a PIL image, not {type(image).__name__}")
    with decoding(image):
        img = open_image(image)
        if img.format in ("JPEG", MPO):
            # Before any pixel is decoded, so `thumbnail` can use JPEG's draft mode
            # (decode at 1/2, 1/4, 1/8 scale, never below twice the target).
            img.thumbnail((DOWNSCALE, DOWNSCALE))
            return img.convert("RGB")
        # Palette, alpha and 16-bit images become RGB first: resizing a palette image
        # would resize its indices, and PDQ reads channels 0-2 as R, G, B. A 16-bit,
        # 32-bit or float grey one by its picture (`eight_bit`), not clipped to white.
        img = eight_bit(img).convert("RGB")
        img.thumbnail((DOWNSCALE, DOWNSCALE))
        return img


def pdq_hash(image: bytes | Image.Image) -> PdqHash:
    """The PDQ hash of an image (bytes or a PIL image) and its quality.

    Raises `ImageHashError` when the bytes are not a readable image (or too large).
    A hash is returned whatever its quality: check `.usable` before matching.
    """
    try:
        import pdqhash
    except ImportError as exc:  # a source build that failed, or numpy missing
        raise ImportError(
            f"PDQ needs the pdqhash package ({exc}); it builds from source: "
            "install g++ and numpy, then `pip install pdqhash`"
        ) from exc
    rgb = np.ascontiguousarray(np.asarray(_open(image), dtype=np.uint8))
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ImageHashError("the image has no pixels")
    vector, quality = pdqhash.compute(rgb)
    # vector[0] is the hash's top bit (bit 255), printed first by the C++ reference.
    return PdqHash(np.packbits(vector.astype(np.uint8)).tobytes().hex(), int(quality))


def normalise(text: str) -> str:
    """`text` as a PDQ hex hash (lower case, no spaces); ValueError saying what is wrong."""
    value = text.strip().lower()
    if not _HEX.fullmatch(value):
        raise ValueError(f"expected a PDQ hash (64 hex digits), got {text.strip()[:80]!r}")
    return value


def distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hex hashes (0-256)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
