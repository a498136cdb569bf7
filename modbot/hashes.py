"""Hash lists, and the kinds of hash they hold: one class per kind, one table.

``HASH_KINDS`` maps a list's ``kind:`` (rules.yaml) to its ``HashKind``: how a line of
a list file is read, how the hash of an image is computed (only when a list of that
kind is in use), and how two hashes match (exactly, or within ``max_distance``). The
policy, the rules and the pipeline ask the table; none of them names a kind. A new
kind (PDQ, MD5...) is one class here and one row in ``HASH_KINDS``.

Today's kinds:

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
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from modbot.config.files import read_text_file
from modbot.errors import HashListError, ImageHashError

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
    img: Image.Image
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


# --- the kinds --------------------------------------------------------------------------


class HashKind(ABC):
    """One kind of hash a list may hold (``kind:`` in rules.yaml).

    A subclass says how a list line is read (``parse``), how an image's hash is computed
    (``of``), and how a list is kept and matched (``index``, ``size``, ``nearest``). An
    exact kind matches at distance 0 or not at all; a kind with ``distances`` matches
    within the list's ``max_distance``.
    """

    name: ClassVar[str]
    described: ClassVar[str]  # "a SHA-256 (64 hex digits)": what one line holds
    exactly: ClassVar[str] = ""  # why max_distance means nothing for an exact kind
    distances: ClassVar[bool] = False  # matched within a distance (max_distance)
    default_max_distance: ClassVar[int] = 0
    max_max_distance: ClassVar[int] = 0
    decodes: ClassVar[bool] = False  # computing it decodes the image (the decode budget)

    @abstractmethod
    def parse(self, token: str) -> str | None:
        """The hash of a list line's first word (lowercase), normalised; None if it is none."""

    def hint(self, token: str) -> str:
        """Why a token that did not parse may be in the wrong list (" (this looks...)")."""
        return ""

    @abstractmethod
    def of(self, data: bytes | Image.Image) -> str:
        """The hash of an image; ``ImageHashError`` when there is none."""

    def index(self, values: list[str]) -> Any:
        return frozenset(values)

    def size(self, index: Any) -> int:
        return len(index)

    def nearest(self, index: Any, value: str) -> int | None:
        """The smallest distance from ``value`` to the list; None when nothing matches
        (an exact kind: 0 when it is on the list)."""
        return 0 if value.lower() in index else None

    def how(self, distance: int) -> str:
        """How an image matched, for the audit (``Plan.hash_lists``)."""
        return self.name if not self.distances else f"{self.name} distance {distance}"


class Sha256(HashKind):
    """The very same file: SHA-256 of its bytes."""

    name = "sha256"
    described = "a SHA-256 (64 hex digits)"
    exactly = "a SHA-256 matches exactly or not at all"

    def parse(self, token: str) -> str | None:
        return token if _HEX64.fullmatch(token) else None

    def hint(self, token: str) -> str:
        if _HEX16.fullmatch(token):
            return " (this looks like a perceptual hash: put it in a list of kind phash)"
        return ""

    def of(self, data: bytes | Image.Image) -> str:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ImageHashError("a SHA-256 is of the file's bytes")
        return hashlib.sha256(data).hexdigest()


class PHash(HashKind):
    """A resized, recompressed or slightly re-coloured copy: the 64-bit DCT pHash, within
    ``max_distance`` differing bits."""

    name = "phash"
    described = "a 64-bit perceptual hash (16 hex digits)"
    distances = True
    default_max_distance = 6
    max_max_distance = 16
    decodes = True

    def parse(self, token: str) -> str | None:
        return token if _HEX16.fullmatch(token) else None

    def hint(self, token: str) -> str:
        if _HEX64.fullmatch(token):
            return " (this looks like a SHA-256: put it in a list of kind sha256)"
        return ""

    def of(self, data: bytes | Image.Image) -> str:
        return perceptual_hash(data)

    def index(self, values: list[str]) -> Any:
        return np.array([int(v, 16) for v in values], dtype=np.uint64)

    def size(self, index: Any) -> int:
        return int(index.size)

    def nearest(self, index: Any, value: str) -> int | None:
        if not index.size:
            return None
        xor = index ^ np.uint64(int(value, 16))
        return int(np.bitwise_count(xor).min())


#: kind name (a list's `kind:`) -> its HashKind. Listing order is the order of messages.
HASH_KINDS: dict[str, HashKind] = {kind.name: kind for kind in (Sha256(), PHash())}


def hash_kind(name: str) -> HashKind:
    try:
        return HASH_KINDS[name]
    except KeyError:
        raise ValueError(f"kind must be one of {', '.join(HASH_KINDS)}, not {name!r}") from None


def hashes_of(data: bytes | Image.Image, kinds: list[str]) -> dict[str, str]:
    """The hashes of ``kinds`` of an image; a kind with no hash for it is left out."""
    out: dict[str, str] = {}
    for name in kinds:
        try:
            out[name] = HASH_KINDS[name].of(data)
        except ImageHashError:
            continue
    return out


# --- lists --------------------------------------------------------------------------------


@dataclass
class HashList:
    """One list file. `lookup(hashes)` says whether an image is on it, and how."""

    name: str
    kind: str  # a key of HASH_KINDS
    path: Path
    max_distance: int = 0
    values: Any = field(default=frozenset(), repr=False)  # the kind's index of the list

    @property
    def hash_kind(self) -> HashKind:
        return HASH_KINDS[self.kind]

    @classmethod
    def load(
        cls,
        path: str | Path,
        kind: str,
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
        hk = hash_kind(kind)
        shown = shown_as or str(path)
        data = read_text_file(path, max_bytes=MAX_LIST_BYTES, what="a hash list")
        text = data.decode("utf-8", errors="replace")
        values, problems = _parse_lines(text, hk, shown)
        if problems:
            raise HashListError(problems)
        distance = max_distance if hk.distances else 0
        return cls(name or path.stem, kind, path, distance, hk.index(values))

    def __len__(self) -> int:
        return self.hash_kind.size(self.values)

    def lookup(self, hashes: Mapping[str, str | None]) -> str | None:
        """How the image with these ``hashes`` (kind -> hash) matches (e.g. `"sha256"`,
        `"phash distance 3"`), or None."""
        value = hashes.get(self.kind)
        if not value:
            return None
        kind = self.hash_kind
        d = kind.nearest(self.values, value)
        return kind.how(d) if d is not None and d <= self.max_distance else None

    def distance(self, phash: str | None) -> int | None:
        """Smallest distance from a hash of this list's kind (None: no hash, or no match
        possible)."""
        return None if phash is None else self.hash_kind.nearest(self.values, phash)

    def explain(self, sha256: str | None, phash: str | None = None) -> str | None:
        """Why the image matches (e.g. `"sha256"`, `"phash distance 3"`), or None."""
        return self.lookup({"sha256": sha256, "phash": phash})

    def match(self, sha256: str | None, phash: str | None = None) -> bool:
        return self.explain(sha256, phash) is not None


def _parse_lines(
    text: str, kind: HashKind, shown: str
) -> tuple[list[str], list[tuple[str, int, str]]]:
    values: list[str] = []
    problems: list[tuple[str, int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        # `sha256sum` output ("HASH  file.jpg") is fine: what follows the hash is a note.
        token, *rest = line.lower().split()
        value = kind.parse(token)
        if any(other.parse(t) for other in HASH_KINDS.values() for t in rest):
            problems.append((shown, number, f"one hash a line: {raw.strip()[:100]!r}"))
        elif value is None:
            problems.append(
                (
                    shown,
                    number,
                    f"expected {kind.described}, got {token[:80]!r}{kind.hint(token)}",
                )
            )
        else:
            values.append(value)
    if len(problems) > MAX_PROBLEMS:  # a binary file, say: the first ones tell enough
        more = len(problems) - MAX_PROBLEMS
        problems = [
            *problems[:MAX_PROBLEMS],
            (shown, problems[MAX_PROBLEMS][1], f"... and {more} more lines like these"),
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
