"""Hash lists, and the kinds of hash they hold: one class per kind, one table.

``HASH_KINDS`` maps a kind's name (a list's ``kind:`` in rules.yaml, a feed entry's
``kind``) to its ``HashKind``: how a hash is written (``parse``, ``parse_line``), how the
hash of an image is computed (``compute``; only for the kinds a configured list or feed
holds, once per image), and how two hashes match (exactly, or within a distance). The
policy, the rules and the pipeline ask the table; none of them names a kind. A new kind
is one class here and one row in ``HASH_KINDS``.

The kinds:

- ``sha256``: SHA-256 of the file's bytes; the very same file again. Exact.
- ``md5``, ``sha1``: digests of the file's bytes, the formats industry lists come in.
  Exact.
- ``phash``: the 64-bit DCT pHash (grayscale, 32x32, 2-D DCT, the 8x8 lowest frequencies
  against their median), computed as the ``imagehash`` library's ``phash`` does, so lists
  made with that library work here. Within a distance (default 6, at most 16). The
  coefficients are rounded (to a 256th of a grey level) before the median: where they
  are equal in exact arithmetic (flat areas: a solid colour's pHash is
  ``8000000000000000``) the bits are the picture's, the same on every install, where
  imagehash's follow its float library's rounding.
- ``pdq``: Meta's 256-bit PDQ (``modbot.pdq``), what industry lists and other tools
  share. Within a distance (default 31, at most 64). A hash of quality below 50 is
  ignored, as the reference does: the image's own hash then matches nothing (the other
  kinds and the classifier still look at it), and a feed entry below 50 is dropped.

A kind that could not be taken of a file (it does not decode, its code raised on it, a
PDQ below quality 50) will not be taken of the same bytes by the same code:
``hashing_version()`` names that code (``HASHING``, modbot's version, and those of
Pillow, numpy and pdqhash), and the known-files cache (``modbot.store.KnownFile``) keeps
such a kind as "not taken" only while it is unchanged. Out of memory says nothing of the
file: ``compute_all`` raises the ``MemoryError``, and the file is tried again.

``cost`` says what computing a kind takes: ``"bytes"`` (one pass over the bytes, about a
millisecond a megabyte) or ``"decode"`` (the image is decoded: it belongs under the
classifier's decode budget, and never for an image the classifier found unreadable).

Exact hashes and pict-rs: MD5, SHA-1 and SHA-256 match the very same bytes only. pict-rs
strips metadata from every JPEG it stores and Lemmy 1.0 re-encodes every upload, so the
hash of an original file (what industry MD5/SHA-1 lists hold) will rarely equal the hash
of what an instance stores; exact lists match what modbot downloads un-reprocessed (a
federated post's image fetched from its source) or lists made from stored files. A
perceptual kind (PDQ) is what carries across re-encoding.

List files (``HashList.load``), one hash a line; ``#`` starts a comment; blank lines are
ignored; text after the hash is a note, so the output of ``sha256sum *.jpg`` or ``md5sum
*.jpg`` is a list as it is (their ``--tag`` lines, ``SHA256 (FILE) = HASH``, and lines
they escaped, ``\\HASH  FILE``, too); hex digits in either case. A PDQ list may also be what
Meta's pdq-photo-hasher prints, ``HASH,QUALITY,FILE``: an entry of quality below 50 is
left out, and said, as the reference discards it::

    # known-bad.sha256: images removed by the admins of lemmy.example
    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  # 2026-11-02 post 123

A list of ``format: threatexchange`` is a python-threatexchange ``local_file``
(``modbot.threatexchange_files``): ``pdq <hex>`` lines, kind ``pdq``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

import numpy as np
from PIL import Image

from modbot import pdq
from modbot.config.files import read_text_file
from modbot.errors import HashListError, HashNotTaken, ImageHashError
from modbot.hash_input import decoding, eight_bit, open_image

__all__ = [
    "HASH_KINDS",
    "LIST_FORMATS",
    "CappedLines",
    "Cost",
    "Digest",
    "HashFormatError",
    "HashIndex",
    "HashKind",
    "HashList",
    "HashListError",
    "HashNotTaken",
    "ImageHashError",
    "IndexMatch",
    "compute_all",
    "hamming",
    "hash_kind",
    "hashes_of",
    "hashing_version",
    "load_list",
    "parse_list",
    "perceptual_hash",
    "sha256_hex",
    "text_lines",
    "utf8_lines",
]

PHASH_BITS = 64
# Raise it with a change here that could take a hash that was not taken before (a format
# read, a cap raised, a decode fixed): files whose hash could not be taken are tried again.
# tests/test_s27c_hashing_version_guard.py fails when the outputs on its fixed images move.
# 2: 16-bit grey by its top 8 bits. 3: float and 32-bit grey scaled to their largest value.
# 4: the pHash's DCT rounded before its median, so float noise no longer sets the bits of
# an image with flat areas (ordinary images' bits unchanged). 5: an MPO (a JPEG holding
# more pictures) hashed by its first picture, no longer refused. 6: a picture of one colour
# all over has no pHash (all were 8000000000000000: one entry for a blank image matched them
# all); its phash is "not taken", as a PDQ below quality 50.
HASHING = 6
MAX_PROBLEMS = 20  # per list file
# About 1.4 million SHA-256 lines with short notes, or 5 million perceptual hashes.
MAX_LIST_BYTES = 100_000_000
#: a list file's ``format:``: modbot's one hash a line, or a python-threatexchange local_file
LIST_FORMATS = ("plain", "threatexchange")

Cost = Literal["bytes", "decode"]
T = TypeVar("T")

# What a token of each length of hex digits probably is, for hints in errors.
_LOOKS_LIKE = {
    16: ("phash", "a 64-bit pHash"),
    32: ("md5", "an MD5"),
    40: ("sha1", "a SHA-1"),
    64: ("sha256 or pdq", "a SHA-256 or a PDQ hash"),
}
_ANY_HEX = re.compile(r"[0-9a-f]+")
_WORD = re.compile(r"\S+")  # as str.split() splits
# A checksum tool's tagged line, `sha256sum --tag`'s (macOS's `md5`, `shasum --tag`):
# "SHA256 (FILE) = HASH", or openssl dgst's "SHA2-256(FILE)= HASH"; GNU's tools put a
# backslash first when they escaped the name (a backslash or a line break in it). The
# name may hold "#" or spaces: the hash is what comes last.
_TAGGED = re.compile(r"\s*\\?(?:MD5|SHA-?1|SHA-?256|SHA2-256) ?\(")
_TE_SIGNAL_TYPES = ("pdq", "video_md5", "video_sha256", "url_md5", "url", "raw_text")

log = logging.getLogger(__name__)


def _tagged_hash(line: str) -> str | None:
    r"""The hash of a checksum tool's tagged line (``_TAGGED``, then ``(NAME) = HASH``),
    else None. Read from its end, not by one regex over the line: ``\(.*\) ?= ?(\S+)``
    backtracks quadratically on a long line of ``)=`` (a 24 KB one took 2 s)."""
    start = _TAGGED.match(line)
    if start is None:
        return None
    name, equals, value = line[start.end() :].rpartition("=")
    name = name.removesuffix(" ")
    value = value.removeprefix(" ").rstrip()
    if not equals or not name.endswith(")") or not value or any(c.isspace() for c in value):
        return None
    return value


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dct_matrix(n: int) -> np.ndarray:
    # Unnormalised DCT-II basis; the scale does not matter, only the sign against the median.
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT32 = _dct_matrix(32)
_MAX_RESIZED_SIDE = 65_536  # see perceptual_hash
_PHASH_STEPS = 256  # a grey level's: see perceptual_hash
_PLAIN_PHASHES = ("8000000000000000", "0000000000000000")  # see PhashKind.too_plain
_AC = np.ones((8, 8), bool)
_AC[0, 0] = False  # the 63 coefficients but the mean's: see perceptual_hash


def perceptual_hash(image: bytes | Image.Image) -> str:
    """64-bit DCT pHash of an image (bytes or a PIL image) as 16 hex digits.

    Raises `ImageHashError` when the bytes are not a readable image, `HashNotTaken` (one)
    when the picture is of one colour all over (it has no pHash: see below).
    """
    img: Image.Image
    if isinstance(image, (bytes, bytearray, memoryview)):
        # the classifier's decoder's limits: the formats it reads, and no decompression
        # bomb (checked from the header, before any pixel is decoded)
        with decoding(image):
            img = open_image(image)
            # JPEG: decode at a reduced scale (still >= 128 px): much faster on a large
            # photo, and the 32x32 result is the same up to a bit or so.
            img.draft("L", (128, 128))
            img.load()
    elif isinstance(image, Image.Image):
        img = image
    else:
        raise TypeError(f"perceptual_hash wants bytes or a PIL image, not {type(image).__name__}")
    grey = eight_bit(img).convert("L")  # a 16-bit or float image by its picture, not clipped
    # Pillow's Lanczos filter table for a resize to 32 px takes ~48 bytes per pixel of
    # a side (a 10-million-pixel side: 480 MB), and past ~45 million it is refused with
    # a MemoryError: a long thin image of a few kB would never get a hash, and be tried
    # again forever. Such a side is shrunk in whole steps first (a box average); no
    # side a JPEG, WebP or GIF can have is that long, so ordinary images hash as the
    # imagehash library hashes them.
    steps = (-(-grey.width // _MAX_RESIZED_SIDE), -(-grey.height // _MAX_RESIZED_SIDE))
    if steps != (1, 1):
        grey = grey.reduce(steps)
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), float)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8]
    # Where the picture has flat areas, coefficients that are zero (or equal) in exact
    # arithmetic come out some 1e-13 apart, and which way is the maths library's and the
    # CPU's doing (numpy 2.4.6 and 2.5.5 gave other bits): rounded to a 256th of a grey
    # level (the float error is under 1e-9 for 8-bit pixels), they are equal again and
    # the bits follow the picture. Ordinary images keep imagehash's bits: their middle
    # coefficients are far more than a 256th apart.
    low = np.round(low * _PHASH_STEPS)
    if not low.any(where=_AC):
        # One colour all over (at 32x32): only the mean's bit would be set, so every
        # plain picture, white, red or grey, of any size, would hash to 8000000000000000
        # (black to 0000000000000000, one bit away), and one list or feed entry for a
        # blank image would match them all. No pHash then, as no PDQ below quality 50.
        raise HashNotTaken(
            "a picture of one colour all over has no pHash (it would match every plain picture)"
        )
    bits = (low > np.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def hashing_version() -> str:
    """The code that takes the hashes of an image, in words: a kind not taken of a file
    under one is tried again under another (see ``HASHING``)."""
    return f"hashing {HASHING}; {_libraries()}"


@functools.cache
def _libraries() -> str:
    from importlib import metadata

    import PIL

    from modbot import __version__

    try:
        pdqhash = metadata.version("pdqhash")
    except metadata.PackageNotFoundError:
        pdqhash = "absent"
    return (
        f"modbot {__version__}; Pillow {PIL.__version__}; numpy {np.__version__}; pdqhash {pdqhash}"
    )


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


# --- the kinds ---------------------------------------------------------------------------


class HashFormatError(ValueError):
    """A token that is not a hash of the kind expected; the message says what it is."""


@dataclass(frozen=True)
class Digest:
    """A hash of one image: its `kind`, `hex`, and for PDQ its `quality`.

    `usable` is False when the reference would discard the hash (PDQ quality < 50): it
    matches nothing."""

    kind: str
    hex: str
    quality: int | None = None
    usable: bool = True


@dataclass(frozen=True)
class IndexMatch(Generic[T]):
    """The nearest entry of a `HashIndex` within the distance: its hash, the distance
    (0 for an exact kind) and the payload stored with it."""

    hex: str
    distance: int
    payload: T


class HashKind(ABC):
    """One kind of hash. Subclasses set the class attributes and `compute`."""

    name: ClassVar[str]
    title: ClassVar[str]
    hex_digits: ClassVar[int]
    exact: ClassVar[bool]
    default_distance: ClassVar[int] = 0
    max_distance: ClassVar[int] = 0
    cost: ClassVar[Cost]
    min_quality: ClassVar[int | None] = None
    #: False for a digest whose collisions can be made (MD5, SHA-1): see `cannot_spare`
    spares: ClassVar[bool] = True

    @abstractmethod
    def compute(self, data: bytes | Image.Image) -> Digest:
        """The hash of an image: a file's bytes (every kind) or a decoded PIL image (the
        decoding kinds). `ImageHashError` when there is none."""

    def parse(self, token: str) -> str:
        """`token` as a hash of this kind: stripped and lower case. `HashFormatError`
        says what was expected and, where it can tell, what the token is instead."""
        value = token.strip().lower()
        if len(value) == self.hex_digits and _ANY_HEX.fullmatch(value):
            return value
        shown = token.strip()[:80]
        hint = ""
        if _ANY_HEX.fullmatch(value) and len(value) in _LOOKS_LIKE:
            names, what = _LOOKS_LIKE[len(value)]
            hint = f" (this looks like {what}: put it in a list of kind {names})"
        elif value in _TE_SIGNAL_TYPES:
            hint = (
                " (this looks like a python-threatexchange local_file line "
                "'<signal_type> <hash>': in rules.yaml, give the list format: threatexchange "
                "and kind: pdq)"
            )
        elif _ANY_HEX.fullmatch(value):
            hint = f" ({len(value)} hex digits)"
        raise HashFormatError(
            f"expected {self.title} ({self.hex_digits} hex digits), got {shown!r}{hint}"
        )

    def parse_line(self, line: str) -> str | None:
        """The hash on one line of a list file (None: blank or comment only).

        What follows the hash is a note, unless it holds another hash: one hash a line.
        After md5sum's separator (`HASH  FILE`, `HASH *FILE`) it is a file name, whatever
        it looks like: files are often named by their hash. A checksum tool's tagged
        line (`SHA256 (FILE) = HASH`) holds its hash last."""
        tagged = _tagged_hash(line)
        if tagged is not None:
            return self.parse(tagged)
        content = line.split("#", 1)[0].strip()
        if not content:
            return None
        # the words one at a time, not a list of them: a 100 MB line of short words
        # would be a list of 30 million strings (gigabytes)
        words = _WORD.finditer(content)
        token = next(words).group()
        if content[len(token) : len(token) + 2] in ("  ", " *"):
            # md5sum's "\HASH  FILE": the backslash says it escaped the file's name
            return self.parse(token.removeprefix("\\"))
        value = self.parse(token)
        for word in words:
            t = word.group()
            if len(t) in _LOOKS_LIKE and _ANY_HEX.fullmatch(t.lower()):
                raise HashFormatError(f"one hash a line: {line.strip()[:100]!r}")
        return value

    def parse_entry(self, line: str) -> tuple[str, int | None] | None:
        """The hash on one line of a list file and its quality where the line gives one
        (None: blank or comment only)."""
        value = self.parse_line(line)
        return None if value is None else (value, None)

    def check_distance(self, max_distance: int | None) -> int:
        """A configured maximum distance, validated (None: this kind's default)."""
        if max_distance is None:
            return self.default_distance
        if isinstance(max_distance, bool) or not isinstance(max_distance, int):
            raise TypeError(f"a distance is a whole number of bits, not {max_distance!r}")
        if self.exact and max_distance != 0:
            raise ValueError(
                f"{self.name} matches exactly or not at all: it takes no distance "
                f"(got {max_distance})"
            )
        if not 0 <= max_distance <= self.max_distance:
            raise ValueError(
                f"{self.name} distance must be 0 to {self.max_distance} bits, not {max_distance}"
            )
        return max_distance

    def distance(self, a: str, b: str) -> int:
        """Differing bits between two hashes of this kind (exact kinds: 0 or 1)."""
        if self.exact:
            return 0 if self.parse(a) == self.parse(b) else 1
        return (int(self.parse(a), 16) ^ int(self.parse(b), 16)).bit_count()

    def matches(self, a: Digest | str, b: Digest | str, max_distance: int | None = None) -> bool:
        """Whether two hashes match: equal for an exact kind, within `max_distance`
        (default: this kind's) for a perceptual one. A `Digest` not usable matches nothing."""
        limit = self.check_distance(max_distance)
        if any(isinstance(x, Digest) and not x.usable for x in (a, b)):
            return False
        ha, hb = (x.hex if isinstance(x, Digest) else x for x in (a, b))
        return self.distance(ha, hb) <= limit

    def entry_usable(self, quality: int | None) -> bool:
        """Whether a list entry with this quality is used (None: no quality known, kept)."""
        return quality is None or self.min_quality is None or quality >= self.min_quality

    def too_plain(self, value: str, max_distance: int | None = None) -> str | None:
        """Why an entry of this hash, matched within `max_distance` (default: the kind's),
        would match plain pictures rather than one image; None when it would not."""
        return None

    def cannot_spare(self) -> str | None:
        """Why an ``innocent`` entry of this kind (a feed's allow-list, a peer's verdict
        standing for the classifier's) is not taken, or None when it is. Two different
        files with one MD5 are cheap to make (chosen-prefix collisions), with one SHA-1
        feasible (SHAttered): a harmless file confirmed innocent would spare its abusive
        twin. A ``bad`` entry of such a kind still matches: a collision there makes the
        bot act on a file colliding with a known-bad one, the safe direction."""
        if self.spares:
            return None
        return (
            f"two different files with one {self.title.split(' ', 1)[1]} can be made, so an innocent "
            "verdict by it would spare a file made to collide with the one confirmed (its "
            "abusive twin); innocent verdicts are taken by SHA-256 (or a perceptual hash)"
        )

    def index(self, hexes: Iterable[str], payloads: Sequence[T] | None = None) -> HashIndex[T]:
        """A `HashIndex` of these hashes (each normalised by `parse`)."""
        return HashIndex(self, hexes, payloads)

    def __repr__(self) -> str:
        return f"<hash kind {self.name}>"


class _ExactKind(HashKind):
    exact = True
    cost: ClassVar[Cost] = "bytes"
    _algorithm: ClassVar[str]

    def compute(self, data: bytes | Image.Image) -> Digest:
        return Digest(self.name, hashlib.new(self._algorithm, self._bytes(data)).hexdigest())

    def _bytes(self, data: bytes | Image.Image) -> bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ImageHashError(f"{self.title} is of the file's bytes, not of a decoded image")
        return bytes(data)


class Sha256Kind(_ExactKind):
    name = "sha256"
    title = "a SHA-256"
    hex_digits = 64
    _algorithm = "sha256"


class Md5Kind(_ExactKind):
    name = "md5"
    spares = False  # collisions can be made: `cannot_spare`
    title = "an MD5"
    hex_digits = 32
    _algorithm = "md5"

    def compute(self, data: bytes | Image.Image) -> Digest:
        # Matching lists made by others, not a security use: FIPS builds allow it so.
        return Digest(self.name, hashlib.md5(self._bytes(data), usedforsecurity=False).hexdigest())


class Sha1Kind(_ExactKind):
    name = "sha1"
    spares = False  # collisions can be made: `cannot_spare`
    title = "a SHA-1"
    hex_digits = 40
    _algorithm = "sha1"

    def compute(self, data: bytes | Image.Image) -> Digest:
        return Digest(self.name, hashlib.sha1(self._bytes(data), usedforsecurity=False).hexdigest())


class PhashKind(HashKind):
    """The 64-bit DCT pHash (`perceptual_hash`, as the `imagehash` library's `phash`)."""

    name = "phash"
    title = "a 64-bit perceptual hash"
    hex_digits = 16
    exact = False
    default_distance = 6
    max_distance = 16
    cost: ClassVar[Cost] = "decode"

    def compute(self, data: bytes | Image.Image) -> Digest:
        return Digest(self.name, perceptual_hash(data))

    def too_plain(self, value: str, max_distance: int | None = None) -> str | None:
        # What every picture of one colour all over hashed to under HASHING 4 and 5 (the
        # mean's bit alone; black: none): entries published then, or a known file's
        # pHash kept in the state, would match every plain and near-plain picture.
        limit = self.check_distance(max_distance)
        for plain in _PLAIN_PHASHES:
            bits = self.distance(value, plain)
            if bits <= limit:
                return (
                    f"{'it is' if not bits else f'{bits} bits from'} {plain}, what any picture "
                    "of one colour all over hashed to: it would match plain pictures, not one"
                )
        return None


class PdqKind(HashKind):
    """Meta's PDQ (`modbot.pdq`): 256 bits, match within 31, quality below 50 ignored."""

    name = "pdq"
    title = "a PDQ hash"
    hex_digits = 64
    exact = False
    default_distance = pdq.MATCH_DISTANCE
    max_distance = pdq.MAX_DISTANCE
    cost: ClassVar[Cost] = "decode"
    min_quality = pdq.MIN_QUALITY

    def parse_entry(self, line: str) -> tuple[str, int | None] | None:
        """Also ``HASH,QUALITY[,FILE]``, what Meta's pdq-photo-hasher prints: the
        quality is kept, so an entry the reference would discard is left out."""
        content = line.split("#", 1)[0].strip()
        head, comma, rest = content.partition(",")
        if not comma or any(c.isspace() for c in head):
            return super().parse_entry(line)
        value = self.parse(head)
        said = rest.split(",", 1)[0].strip()
        if not (said.isascii() and said.isdigit() and int(said) <= 100):
            raise HashFormatError(
                f"after a PDQ hash and a comma comes its quality, 0 to 100, as "
                f"pdq-photo-hasher writes 'hash,quality,file': got {said[:40]!r}"
            )
        return value, int(said)

    def compute(self, data: bytes | Image.Image) -> Digest:
        result = pdq.pdq_hash(data)
        return Digest(self.name, result.hex, result.quality, result.usable)


#: kind name -> its HashKind; the order is the order of messages and of `modbot hash`.
HASH_KINDS: dict[str, HashKind] = {
    k.name: k for k in (Sha256Kind(), Md5Kind(), Sha1Kind(), PhashKind(), PdqKind())
}


def hash_kind(name: str) -> HashKind:
    """The kind called `name`; ValueError listing the kinds otherwise."""
    try:
        return HASH_KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown hash kind {name!r}: one of {', '.join(HASH_KINDS)}") from None


def _kind(k: HashKind | str) -> HashKind:
    return hash_kind(k) if isinstance(k, str) else k


def hashes_of(data: bytes | Image.Image, kinds: Iterable[str]) -> dict[str, str]:
    """The usable hashes of ``kinds`` of an image, kind -> hex: a kind with no hash for
    it (an image it cannot decode, a PDQ below quality 50), or whose code ran out of
    memory on it this time, is left out."""
    out = {}
    for name in kinds:
        try:
            digest = compute_all(data, [name])[name]
        except MemoryError as exc:  # nothing here remembers it
            log.warning("%s gets no %s this time: out of memory (%s)", _named(data), name, exc)
            continue
        if isinstance(digest, Digest) and digest.usable:
            out[name] = digest.hex
    return out


def compute_all(
    data: bytes | Image.Image, names: Iterable[str] | None = None
) -> dict[str, Digest | ImageHashError]:
    """Every kind's hash of `data` (or those in `names`), the cheap ones first; a kind
    that cannot decode the image, or whose code fails on it, gives an `ImageHashError`
    instead of a `Digest`. A `MemoryError` is raised: it says nothing of the image (a
    kind not taken is remembered as such under the hashing code's version, and the file
    would never be tried again), so the caller gives up this try, as for an error around
    the hashing."""
    chosen = [hash_kind(n) for n in (HASH_KINDS if names is None else names)]
    chosen.sort(key=lambda k: k.cost != "bytes")
    out: dict[str, Digest | ImageHashError] = {}
    for k in chosen:
        try:
            out[k.name] = k.compute(data)
        except ImageHashError as exc:
            out[k.name] = exc
        except MemoryError:
            raise  # the caller says it (and does not remember it)
        except Exception as exc:
            # The hash's code failing on these bytes (pdqhash or Pillow on a hostile
            # file, numpy on a degenerate image): this kind has no hash of the image,
            # as for one it cannot decode; the other kinds and the caller go on.
            out[k.name] = _failed(k, data, exc)
    return out


def _failed(kind: HashKind, data: bytes | Image.Image, exc: Exception) -> ImageHashError:
    """The error of a kind whose code raised on an image, logged with the file's SHA-256
    (what its decision records)."""
    said = f"computing its {kind.name} hash failed: {type(exc).__name__}: {str(exc)[:300]}"
    log.warning("%s gets no %s: %s", _named(data), kind.name, said)
    return ImageHashError(said)


def _named(data: bytes | Image.Image) -> str:
    """An image in the log: its file's SHA-256 (what its decision records)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return f"file {sha256_hex(bytes(data))[:12]}"
    return "an image"


class HashIndex(Generic[T]):
    """Hashes of one kind, each with an optional payload (a line number, a feed entry),
    and the nearest one to an image's hash within a distance.

    Exact kinds look up a dict; perceptual kinds compare against every entry at once
    (numpy: a million PDQ hashes are 32 MB and take about 28 ms a lookup on 2 cores;
    benchmarks/pdq.py). No string is kept per perceptual hash (a match's hex is made
    from its words), and a list's line numbers are an `array`: about 20 bytes a pHash,
    40 a PDQ, 180 an exact hash (its dict's key)."""

    def __init__(
        self,
        kind: HashKind,
        hexes: Iterable[str],
        payloads: Sequence[T] | None = None,
        *,
        parsed: bool = False,
    ):
        """`parsed`: the hashes are already what `kind.parse` makes of them."""
        self.kind = kind
        values = hexes if parsed and isinstance(hexes, list) else [kind.parse(h) for h in hexes]
        self._size = len(values)
        if payloads is not None and len(payloads) != self._size:
            raise ValueError(f"{len(payloads)} payloads for {self._size} hashes")
        self.payloads: Sequence[T | None] = (
            payloads if payloads is not None else [None] * self._size
        )
        # Only the index is kept, not a string per hash: a perceptual kind's hashes are
        # the words (8 bytes a pHash, 32 a PDQ), an exact kind's the dict's keys.
        if kind.exact:
            self._exact: dict[str, int] = {}
            for i, h in enumerate(values):
                self._exact.setdefault(h, i)
        else:
            self._words = _words(values, kind.hex_digits)

    def __len__(self) -> int:
        return self._size

    def lookup(
        self, digest: Digest | str | None, max_distance: int | None = None
    ) -> IndexMatch[T] | None:
        """The nearest entry within `max_distance` (default: the kind's), or None: no
        hash, a `Digest` that is not usable, or nothing near enough."""
        limit = self.kind.check_distance(max_distance)
        if digest is None or (isinstance(digest, Digest) and not digest.usable):
            return None
        if isinstance(digest, Digest) and digest.kind != self.kind.name:
            raise ValueError(f"a {digest.kind} hash looked up in a {self.kind.name} list")
        value = self.kind.parse(digest.hex if isinstance(digest, Digest) else digest)
        if self.kind.exact:
            i = self._exact.get(value)
            return None if i is None else IndexMatch(value, 0, cast(T, self.payloads[i]))
        if not self._size:
            return None
        query = _words([value], self.kind.hex_digits)
        distances = np.bitwise_count(self._words ^ query).sum(axis=1, dtype=np.int64)
        i = int(distances.argmin())
        d = int(distances[i])
        if d > limit:
            return None
        found = self._words[i].astype(">u8").tobytes().hex()
        return IndexMatch(found, d, cast(T, self.payloads[i]))

    def shared_with(self, other: HashIndex[Any]) -> tuple[int, T | None]:
        """How many of this index's hashes `other` holds too (equal, not merely near;
        counted once each), and the payload of the first: for the warning that an
        allow-list and a block-list hold the same image."""
        if other.kind.name != self.kind.name:
            return 0, None
        if self.kind.exact:
            theirs = other._exact
            shared = [i for h, i in self._exact.items() if h in theirs]
        else:
            # Each row (one hash's words) as one opaque value, so numpy compares rows.
            row = np.dtype((np.void, self._words.dtype.itemsize * self._words.shape[1]))
            mine = np.ascontiguousarray(self._words).view(row).ravel()
            yours = np.ascontiguousarray(other._words).view(row).ravel()
            found = np.flatnonzero(np.isin(mine, yours))
            # the first occurrence of each shared hash (a list may repeat a line)
            _, first = np.unique(mine[found], return_index=True)
            shared = sorted(int(found[j]) for j in first)
        if not shared:
            return 0, None
        return len(shared), cast(T, self.payloads[min(shared)])


def _words(hexes: Sequence[str], digits: int) -> np.ndarray:
    """Hex hashes as an (N, digits / 16) array of uint64 words."""
    width = digits // 16
    raw = bytes.fromhex("".join(hexes))  # not a bytes object per hash on the way
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, width)


def text_lines(text: str) -> Iterator[str]:
    """The lines of a file's text, one at a time, as ``str.splitlines`` splits them
    (``\\n``, ``\\r\\n``, a lone ``\\r``...), without a list of every line at once: a
    100 MB file of short lines would be a list of 50 million strings (gigabytes)."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            stop = end
        segment = text[start:stop]
        start = stop + 1
        if "\r" in segment or not segment.isprintable():  # other line breaks, rare
            # with its "\n": "a\x0c\n" is two lines ("a" and ""), as splitlines says
            yield from (segment + "\n" if stop < end else segment).splitlines() or [""]
        else:
            yield segment


class CappedLines(Generic[T]):
    """The first MAX_PROBLEMS of many lines like each other (problems, lines skipped),
    and a count of the rest: a file of a million wrong lines keeps 21 entries, not a
    million. `items(more)` gives them, then `more(the first entry left out, how many
    were left out)`, an entry that stands for the rest."""

    def __init__(self) -> None:
        self.kept: list[T] = []
        self.first_left_out: T | None = None
        self.left_out = 0

    def add(self, entry: T) -> None:
        """Keep `entry`, or count it."""
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(entry)
            return
        if self.first_left_out is None:
            self.first_left_out = entry
        self.left_out += 1

    def __bool__(self) -> bool:
        return bool(self.kept)

    def items(self, more: Callable[[T, int], T]) -> list[T]:
        if self.first_left_out is None:
            return list(self.kept)
        return [*self.kept, more(self.first_left_out, self.left_out)]


def utf8_lines(data: bytes, chunk: int = 1 << 20) -> Iterator[str]:
    """The lines of UTF-8 ``data`` as `text_lines` gives those of its text (a byte that
    is not UTF-8 replaced), decoded ``chunk`` bytes or so at a time, each piece cut
    after a line end (``\n``, ``\r``, ``\r\n``: never a part of another character in
    UTF-8). A line over ``chunk`` bytes (no local_file holds one: a hostile or broken
    file) is its first ``chunk`` bytes, the rest passed over: read whole, one such line
    was copied at each step (stripped, split, named), 25 times its size in all."""
    start, end = 0, len(data)
    while start < end:
        if start + chunk >= end:
            stop = end
        else:
            stop = _line_end(data, start + chunk, min(end, start + 2 * chunk))
        if stop >= 0:
            yield from text_lines(str(memoryview(data)[start:stop], "utf-8", "replace"))
            start = stop
            continue
        # no line end within a chunk past the cut: the line there is over a chunk long
        last = max(data.rfind(b"\n", start, start + chunk), data.rfind(b"\r", start, start + chunk))
        begins = start if last < 0 else last + 1
        if begins > start:
            yield from text_lines(str(memoryview(data)[start:begins], "utf-8", "replace"))
        yield from text_lines(str(memoryview(data)[begins : begins + chunk], "utf-8", "replace"))
        after = _line_end(data, begins + chunk, end)
        start = end if after < 0 else after


def _line_end(data: bytes, at: int, limit: int) -> int:
    """Where the first line end (``\n``, ``\r``, ``\r\n``) found in ``data[at:limit]``
    ends; -1 when there is none."""
    n = data.find(b"\n", at, limit)
    r = data.find(b"\r", at, n if n >= 0 else limit)
    if r >= 0:
        return r + 2 if data[r + 1 : r + 2] == b"\n" else r + 1
    return -1 if n < 0 else n + 1


def parse_list(
    text: str, kind: HashKind, shown: str
) -> tuple[list[tuple[int, str]], list[tuple[str, int, str]]]:
    """`([(line number, hash)], [(shown, line number, problem)])` of a list file's text;
    the problems are capped at MAX_PROBLEMS (plus one line counting the rest), and only
    those are kept while reading: memory goes with the hashes, not the lines."""
    numbers, values, problems, _ = _parse_lines(text, kind, shown)
    return list(zip(numbers, values, strict=True)), problems


def _parse_lines(
    text: str | Iterable[str], kind: HashKind, shown: str, max_distance: int | None = None
) -> tuple[array[int], list[str], list[tuple[str, int, str]], list[tuple[int, str, str]]]:
    """`parse_list` as line numbers (8 bytes each) and hashes apart, not a tuple each,
    and the entries left out for their quality, or as a plain picture's within
    `max_distance` (`HashKind.too_plain`), `(line, kind, why)` (capped too). `text`: a
    file's text, or its lines."""
    numbers: array[int] = array("q")
    values: list[str] = []
    problems: CappedLines[tuple[str, int, str]] = CappedLines()
    skipped: CappedLines[tuple[int, str, str]] = CappedLines()
    lines = text_lines(text) if isinstance(text, str) else text
    for number, raw in enumerate(lines, start=1):
        try:
            # a byte order mark inside: files joined (cat), one saved by a Windows editor
            entry = kind.parse_entry(raw.removeprefix("\ufeff"))
        except HashFormatError as exc:
            problems.add((shown, number, str(exc)))
            continue
        if entry is None:
            continue
        value, quality = entry
        if not kind.entry_usable(quality):
            # as the reference discards it: it would match unrelated flat images
            skipped.add(
                (
                    number,
                    kind.name,
                    f"quality {quality} is below {kind.min_quality}: the reference "
                    "discards such a hash (it says little of its image)",
                )
            )
            continue
        plain = kind.too_plain(value, max_distance)
        if plain is not None:
            skipped.add((number, kind.name, plain))
            continue
        numbers.append(number)
        values.append(value)
    # a binary file, say: the first ones tell enough
    more = "... and {} more lines like these"
    return (
        numbers,
        values,
        problems.items(lambda e, k: (*e[:2], more.format(k))),
        skipped.items(lambda e, k: (*e[:2], more.format(k))),
    )


def load_list(
    path: str | Path,
    kind: HashKind | str,
    *,
    shown_as: str | None = None,
    max_bytes: int = MAX_LIST_BYTES,
) -> HashIndex[int]:
    """A list file as a `HashIndex` whose payloads are line numbers.

    Raises `HashListError` naming each bad line, `UnusableFile` for what is not a text
    file of at most `max_bytes`, `OSError` when it cannot be opened."""
    return _load_plain(path, _kind(kind), shown_as or str(path), max_bytes)[0]


def _load_plain(
    path: str | Path,
    k: HashKind,
    shown: str,
    max_bytes: int = MAX_LIST_BYTES,
    max_distance: int | None = None,
) -> tuple[HashIndex[int], list[tuple[int, str, str]]]:
    """`load_list`, and the entries left out (`(line, kind, why)`): for their quality, or
    as a plain picture's within `max_distance`."""
    data = read_text_file(path, max_bytes=max_bytes, what="a hash list")
    # its bytes decoded a megabyte at a time, not whole: one character past U+FFFF
    # anywhere (an emoji in a file's name) held every character of the text in 4 bytes.
    # A byte order mark (a Windows editor's; files joined) is taken off each line.
    numbers, values, problems, skipped = _parse_lines(utf8_lines(data), k, shown, max_distance)
    del data
    if problems:
        raise HashListError(problems)
    return HashIndex(k, values, numbers, parsed=True), skipped


# --- lists --------------------------------------------------------------------------------


@dataclass
class HashList:
    """One list file of one kind (``hash_lists:`` in rules.yaml). ``lookup(hashes)`` says
    whether an image is on it, and how. ``skipped``: lines left out, ``(line, signal
    type or kind, why)``: of a python-threatexchange file, those of other types; of a
    PDQ list, entries below quality 50; of a pHash list, a plain picture's
    (`HashKind.too_plain`). The loader warns about them."""

    name: str
    kind: str  # a key of HASH_KINDS
    path: Path
    max_distance: int = 0
    index: HashIndex[int] = field(default_factory=lambda: HashIndex(HASH_KINDS["sha256"], []))
    format: str = "plain"
    skipped: list[tuple[int, str, str]] = field(default_factory=list, repr=False)

    @property
    def hash_kind(self) -> HashKind:
        return HASH_KINDS[self.kind]

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of hash an image needs for this list."""
        return frozenset((self.kind,))

    @classmethod
    def load(
        cls,
        path: str | Path,
        kind: str,
        max_distance: int | None = None,
        name: str | None = None,
        shown_as: str | None = None,
        format: str = "plain",
    ) -> HashList:
        """Read a list file (``format``: ``plain`` or ``threatexchange``; ``max_distance``
        None: the kind's default). Raises `HashListError` naming each bad line,
        `UnusableFile` for what is not a text file of at most MAX_LIST_BYTES (a FIFO, a
        device, binary content), `OSError` if it cannot be opened, ValueError for a
        kind a python-threatexchange file does not hold.

        `shown_as` is how the file is named in error messages (default: the path).
        """
        path = Path(path)
        k = hash_kind(kind)
        distance = 0 if k.exact else k.check_distance(max_distance)
        shown = shown_as or str(path)
        skipped: list[tuple[int, str, str]] = []
        if format == "threatexchange":
            from modbot.threatexchange_files import SIGNAL_TYPES, load_local_file

            if kind not in SIGNAL_TYPES.values():
                raise ValueError(
                    f"a python-threatexchange file holds {', '.join(SIGNAL_TYPES.values())} "
                    f"hashes of photos, not {kind}"
                )
            local = load_local_file(path, shown_as=shown)
            index = HashIndex(
                k,
                [h for kk, h, _ in local.hashes if kk == kind],
                array("q", [n for kk, _, n in local.hashes if kk == kind]),
                parsed=True,
            )
            skipped = local.skipped
        elif format == "plain":
            index, skipped = _load_plain(path, k, shown, max_distance=distance)
        else:
            raise ValueError(f"format must be one of {', '.join(LIST_FORMATS)}, not {format!r}")
        return cls(name or path.stem, kind, path, distance, index, format, skipped)

    def __len__(self) -> int:
        return len(self.index)

    def describe(self) -> str:
        """``12 pdq <= 31``: what the list holds, for the start-up summary."""
        near = "" if self.hash_kind.exact else f" <= {self.max_distance}"
        return f"{len(self)} {self.kind}{near}"

    def lookup(self, hashes: Mapping[str, str | None]) -> str | None:
        """How the image with these ``hashes`` (kind -> hash) matches (e.g. `"sha256"`,
        `"phash distance 3"`), or None."""
        value = hashes.get(self.kind)
        if not value:
            return None
        found = self.index.lookup(value, self.max_distance)
        if found is None:
            return None
        return self.kind if self.hash_kind.exact else f"{self.kind} distance {found.distance}"

    def distance(self, value: str | None) -> int | None:
        """Smallest distance from a hash of this list's kind to the list, within the
        kind's largest distance (None: no hash, or nothing that near)."""
        if value is None:
            return None
        found = self.index.lookup(value, self.hash_kind.max_distance)
        return None if found is None else found.distance

    def explain(self, sha256: str | None, phash: str | None = None) -> str | None:
        """Why the image matches (e.g. `"sha256"`, `"phash distance 3"`), or None."""
        return self.lookup({"sha256": sha256, "phash": phash})

    def match(self, sha256: str | None, phash: str | None = None) -> bool:
        return self.explain(sha256, phash) is not None
