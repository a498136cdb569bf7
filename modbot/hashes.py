"""Hash lists: exact SHA-256 lists and perceptual-hash lists with a maximum distance.

A SHA-256 list catches the very same file again. A perceptual list also catches a copy
that was resized, recompressed or slightly re-coloured: `perceptual_hash` is the
64-bit DCT pHash (grayscale, 32x32, 2-D DCT, the 8x8 lowest frequencies against their
median), computed the way the `imagehash` library's `phash` does, so lists made with
that library (or shared by instances using it) work here too.

File format, one hash a line; `#` starts a comment; blank lines are ignored; text after
the hash is a note, so the output of `sha256sum *.jpg` is a list as it is::

    # known-bad.sha256: images removed by the admins of lemmy.example
    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  # 2026-11-02 post 123
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from modbot.errors import HashListError, ImageHashError
from modbot.files import read_text_file

Kind = Literal["sha256", "phash"]
KINDS: tuple[str, ...] = ("sha256", "phash")
PHASH_BITS = 64
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")  # as classifier/preprocess.py
MAX_PIXELS = 64_000_000
MAX_PROBLEMS = 20  # per list file
# About 1.4 million SHA-256 lines with short notes, or 5 million perceptual hashes.
MAX_LIST_BYTES = 100_000_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dct_matrix(n: int) -> np.ndarray:
    # Unnormalised DCT-II basis; the scale does not matter, only the sign against the median.
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: bytes | Image.Image) -> str:
    """64-bit DCT pHash of an image (bytes or a PIL image) as 16 hex digits.

    Raises `ImageHashError` when the bytes are not a readable image.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            img = Image.open(io.BytesIO(bytes(image)))
            # Same limits as the classifier's decoder: the formats it reads, and no
            # decompression bomb (checked from the header, before any pixel is decoded).
            if img.format not in FORMATS:
                raise ImageHashError(f"{img.format} is not an image format modbot reads")
            if img.width * img.height > MAX_PIXELS:
                raise ImageHashError(
                    f"{img.width}x{img.height} is over the {MAX_PIXELS // 1_000_000} megapixel cap"
                )
            # JPEG: decode at a reduced scale (still >= 128 px): much faster on a large
            # photo, and the 32x32 result is the same up to a bit or so.
            img.draft("L", (128, 128))
            img.load()
        except UnidentifiedImageError:
            raise ImageHashError("not an image format Pillow can read") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageHashError(f"not a readable image: {exc}") from exc
    elif isinstance(image, Image.Image):
        img = image
    else:
        raise TypeError(f"perceptual_hash wants bytes or a PIL image, not {type(image).__name__}")
    pixels = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), float)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass
class HashList:
    """One list file. `match(sha256, phash)` says whether an image is on it."""

    name: str
    kind: Kind
    path: Path
    max_distance: int = 0
    sha256: frozenset[str] = frozenset()
    phashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    @classmethod
    def load(
        cls,
        path: str | Path,
        kind: Kind,
        max_distance: int = 0,
        name: str | None = None,
        shown_as: str | None = None,
    ) -> HashList:
        """Read a list file; raises `HashListError` naming each bad line, `UnusableFile`
        for what is not a text file of at most MAX_LIST_BYTES (a FIFO, a device, binary
        content), `OSError` if it cannot be opened.

        `shown_as` is how the file is named in error messages (default: the path).
        """
        path = Path(path)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        shown = shown_as or str(path)
        data = read_text_file(path, max_bytes=MAX_LIST_BYTES, what="a hash list")
        text = data.decode("utf-8", errors="replace")
        values, problems = _parse_lines(text, kind, shown)
        if problems:
            raise HashListError(problems)
        if kind == "sha256":
            return cls(name or path.stem, kind, path, 0, sha256=frozenset(values))
        arr = np.array([int(v, 16) for v in values], dtype=np.uint64)
        return cls(name or path.stem, kind, path, max_distance, phashes=arr)

    def __len__(self) -> int:
        return len(self.sha256) if self.kind == "sha256" else int(self.phashes.size)

    def distance(self, phash: str | None) -> int | None:
        """Smallest Hamming distance from `phash` to the list (None: empty list or no hash)."""
        if self.kind != "phash" or phash is None or not self.phashes.size:
            return None
        xor = self.phashes ^ np.uint64(int(phash, 16))
        return int(np.bitwise_count(xor).min())

    def explain(self, sha256: str | None, phash: str | None = None) -> str | None:
        """Why the image matches (e.g. `"sha256"`, `"phash distance 3"`), or None."""
        if self.kind == "sha256":
            return "sha256" if sha256 and sha256.lower() in self.sha256 else None
        d = self.distance(phash)
        return f"phash distance {d}" if d is not None and d <= self.max_distance else None

    def match(self, sha256: str | None, phash: str | None = None) -> bool:
        return self.explain(sha256, phash) is not None


def _parse_lines(text: str, kind: Kind, shown: str) -> tuple[list[str], list[tuple[str, int, str]]]:
    pattern, what = (
        (_HEX64, "a SHA-256 (64 hex digits)")
        if kind == "sha256"
        else (_HEX16, "a 64-bit perceptual hash (16 hex digits)")
    )
    values, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        # `sha256sum` output ("HASH  file.jpg") is fine: what follows the hash is a note.
        token, *rest = line.lower().split()
        if any(_HEX16.fullmatch(t) or _HEX64.fullmatch(t) for t in rest):
            problems.append((shown, number, f"one hash a line: {raw.strip()[:100]!r}"))
        elif not pattern.fullmatch(token):
            hint = ""
            if kind == "phash" and _HEX64.fullmatch(token):
                hint = " (this looks like a SHA-256: put it in a list of kind sha256)"
            elif kind == "sha256" and _HEX16.fullmatch(token):
                hint = " (this looks like a perceptual hash: put it in a list of kind phash)"
            problems.append((shown, number, f"expected {what}, got {token[:80]!r}{hint}"))
        else:
            values.append(token)
    if len(problems) > MAX_PROBLEMS:  # a binary file, say: the first ones tell enough
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [
            (shown, problems[MAX_PROBLEMS][1], f"... and {more} more lines like these")
        ]
    return values, problems


def main(argv: list[str] | None = None) -> int:
    """`python -m modbot.hashes IMAGE...`: the sha256 and phash to put in a list file."""
    import sys

    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m modbot.hashes IMAGE...  (prints: sha256  phash  file)")
        return 2
    status = 0
    for name in paths:
        data = Path(name).read_bytes()
        try:
            phash = perceptual_hash(data)
        except ImageHashError as exc:
            phash, status = "-" * 16, 1
            print(f"{name}: {exc}", file=sys.stderr)
        print(f"{sha256_hex(data)}  {phash}  {name}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
