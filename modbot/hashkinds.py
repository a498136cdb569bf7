"""Hash kinds: one class per kind of image hash, all behind one interface, and a list
of hashes of one kind to match against (`HashIndex`).

- `sha256` (`Sha256Kind`): SHA-256 of the file's bytes; exact; cost "bytes".
- `md5` (`Md5Kind`), `sha1` (`Sha1Kind`): digests of the file's bytes, the formats of
  industry lists; exact; cost "bytes".
- `phash` (`PhashKind`): the 64-bit DCT pHash of `modbot.hashes`; within a distance
  (default 6, at most 16); cost "decode".
- `pdq` (`PdqKind`): Meta's 256-bit PDQ (`modbot.pdq`); within a distance (default 31,
  at most 64); hashes of quality below 50 ignored; cost "decode".

The interface (`HashKind`): `name`, `title`, `exact`, `default_distance`,
`max_distance`, `cost` (`"bytes"`: one pass of a digest over the bytes, about a
millisecond a megabyte; `"decode"`: the image is decoded, milliseconds to a second and
up to 4 bytes a pixel under the pixel cap, so it belongs under the decode budget),
`compute(data) -> Digest` (`ImageHashError` when a decoding kind cannot read the image),
`parse(token) -> str` (the hash normalised: stripped, lower case; `HashFormatError`
saying what was expected and what the token looks like instead), `parse_line(line)` (a
list-file line: `None` for a blank or comment line), `check_distance(d)` (a configured
distance, validated; `None` is the default), `distance(a, b)`, `matches(a, b,
max_distance=None)`, `entry_usable(quality)`, `index(hexes, payloads)`. `KINDS` maps
each name to its instance; `kind(name)` looks one up with a clear error;
`compute_all(data)` computes every kind (what `modbot hash IMAGE` prints).

Quality (PDQ only): a hash below quality 50 is "ignored" as the reference does. For the
image's own hash, `compute` still returns it (with `quality` and `usable=False`, so a
command can show it), and a `Digest` that is not usable matches nothing: the image is
checked by the other kinds and the classifier as if PDQ were not configured. For a list
entry, a quality is known only where the list carries one (modbot's signed feeds do);
`entry_usable(quality)` is False below 50 and the loader drops and counts the entry.
An entry without a quality (a plain list, a python-threatexchange file) is kept, as
python-threatexchange keeps it.

Exact hashes and pict-rs: MD5, SHA-1 and SHA-256 match the very same bytes only. pict-rs
strips metadata from every JPEG it stores (exiftool) and Lemmy 1.0 re-encodes every upload,
so the hash of an original file, which is what industry MD5/SHA-1 lists hold, will almost
never equal the hash of the file an instance stores. Exact lists match what modbot
downloads un-reprocessed (a federated post's image fetched from its source) or lists made
from stored files; a perceptual kind (PDQ) is what carries across re-encoding.

List files (`load_list`): one hash a line; `#` starts a comment; blank lines are ignored;
text after the hash is a note, so the output of `md5sum *.jpg` or `sha1sum *.jpg` is a
list as it is. Hex digits in either case; stored lower case.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Literal, TypeVar

import numpy as np

from modbot import pdq
from modbot.config.files import read_text_file
from modbot.hashes import (
    MAX_LIST_BYTES,
    MAX_PROBLEMS,
    HashListError,
    ImageHashError,
    perceptual_hash,
)

__all__ = [
    "KINDS",
    "Cost",
    "Digest",
    "HashFormatError",
    "HashIndex",
    "HashKind",
    "HashListError",
    "ImageHashError",
    "IndexMatch",
    "Md5Kind",
    "PdqKind",
    "PhashKind",
    "Sha1Kind",
    "Sha256Kind",
    "compute_all",
    "kind",
    "load_list",
    "parse_list",
]

Cost = Literal["bytes", "decode"]
T = TypeVar("T")

# What a token of each length of hex digits probably is, for hints in errors.
_LOOKS_LIKE = {
    16: ("phash", "a 64-bit pHash"),
    32: ("md5", "an MD5"),
    40: ("sha1", "a SHA-1"),
    64: ("sha256|pdq", "a SHA-256 or a PDQ hash"),
}
_ANY_HEX = re.compile(r"[0-9a-f]+")
_TE_SIGNAL_TYPES = ("pdq", "video_md5", "video_sha256", "url_md5", "url", "raw_text")


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

    @abstractmethod
    def compute(self, data: bytes) -> Digest:
        """The hash of a file's bytes. Decoding kinds raise `ImageHashError`."""

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
                "'<signal_type> <hash>': import it with modbot.threatexchange_files)"
            )
        elif _ANY_HEX.fullmatch(value):
            hint = f" ({len(value)} hex digits)"
        raise HashFormatError(
            f"expected {self.title} ({self.hex_digits} hex digits), got {shown!r}{hint}"
        )

    def parse_line(self, line: str) -> str | None:
        """The hash on one line of a list file (None: blank or comment only).

        What follows the hash is a note (`md5sum` output: `HASH  file.jpg`), unless it
        holds another hash: one hash a line."""
        content = line.split("#", 1)[0].strip()
        if not content:
            return None
        token, *rest = content.split()
        value = self.parse(token)
        if any(_ANY_HEX.fullmatch(t.lower()) and len(t) in _LOOKS_LIKE for t in rest):
            raise HashFormatError(f"one hash a line: {line.strip()[:100]!r}")
        return value

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

    def index(self, hexes: Iterable[str], payloads: Sequence[T] | None = None) -> HashIndex[T]:
        """A `HashIndex` of these hashes (each normalised by `parse`)."""
        return HashIndex(self, hexes, payloads)

    def __repr__(self) -> str:
        return f"<hash kind {self.name}>"


class _ExactKind(HashKind):
    exact = True
    cost: ClassVar[Cost] = "bytes"
    _algorithm: ClassVar[str]

    def compute(self, data: bytes) -> Digest:
        return Digest(self.name, hashlib.new(self._algorithm, bytes(data)).hexdigest())


class Sha256Kind(_ExactKind):
    name = "sha256"
    title = "a SHA-256"
    hex_digits = 64
    _algorithm = "sha256"


class Md5Kind(_ExactKind):
    name = "md5"
    title = "an MD5"
    hex_digits = 32
    _algorithm = "md5"

    def compute(self, data: bytes) -> Digest:
        # Matching lists made by others, not a security use: FIPS builds allow it so.
        return Digest(self.name, hashlib.md5(bytes(data), usedforsecurity=False).hexdigest())


class Sha1Kind(_ExactKind):
    name = "sha1"
    title = "a SHA-1"
    hex_digits = 40
    _algorithm = "sha1"

    def compute(self, data: bytes) -> Digest:
        return Digest(self.name, hashlib.sha1(bytes(data), usedforsecurity=False).hexdigest())


class PhashKind(HashKind):
    """The 64-bit DCT pHash of `modbot.hashes` (the `imagehash` library's `phash`)."""

    name = "phash"
    title = "a 64-bit perceptual hash"
    hex_digits = 16
    exact = False
    default_distance = 6
    max_distance = 16
    cost: ClassVar[Cost] = "decode"

    def compute(self, data: bytes) -> Digest:
        return Digest(self.name, perceptual_hash(data))


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

    def compute(self, data: bytes) -> Digest:
        result = pdq.pdq_hash(data)
        return Digest(self.name, result.hex, result.quality, result.usable)


KINDS: dict[str, HashKind] = {
    k.name: k for k in (Sha256Kind(), Md5Kind(), Sha1Kind(), PhashKind(), PdqKind())
}


def kind(name: str) -> HashKind:
    """The kind called `name`; ValueError listing the kinds otherwise."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown hash kind {name!r}: one of {', '.join(KINDS)}") from None


def compute_all(
    data: bytes, names: Iterable[str] | None = None
) -> dict[str, Digest | ImageHashError]:
    """Every kind's hash of `data` (or those in `names`), the cheap ones first; a kind
    that cannot decode the image gives its `ImageHashError` instead of a `Digest`."""
    chosen = [kind(n) for n in (KINDS if names is None else names)]
    chosen.sort(key=lambda k: k.cost != "bytes")
    out: dict[str, Digest | ImageHashError] = {}
    for k in chosen:
        try:
            out[k.name] = k.compute(data)
        except ImageHashError as exc:
            out[k.name] = exc
    return out


class HashIndex(Generic[T]):
    """Hashes of one kind, each with an optional payload (a line number, a feed entry),
    and the nearest one to an image's hash within a distance.

    Exact kinds look up a dict; perceptual kinds compare against every entry at once
    (numpy: a million PDQ hashes are 32 MB and take about 28 ms a lookup on 2 cores;
    benchmarks/pdq.py)."""

    def __init__(self, kind: HashKind, hexes: Iterable[str], payloads: Sequence[T] | None = None):
        self.kind = kind
        self.hexes: list[str] = [kind.parse(h) for h in hexes]
        if payloads is not None and len(payloads) != len(self.hexes):
            raise ValueError(f"{len(payloads)} payloads for {len(self.hexes)} hashes")
        self.payloads: Sequence[T | None] = (
            payloads if payloads is not None else [None] * len(self.hexes)
        )
        if kind.exact:
            self._exact: dict[str, int] = {}
            for i, h in enumerate(self.hexes):
                self._exact.setdefault(h, i)
        else:
            self._words = _words(self.hexes, kind.hex_digits)

    def __len__(self) -> int:
        return len(self.hexes)

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
            return None if i is None else IndexMatch(value, 0, self.payloads[i])
        if not len(self.hexes):
            return None
        query = _words([value], self.kind.hex_digits)
        distances = np.bitwise_count(self._words ^ query).sum(axis=1, dtype=np.int64)
        i = int(distances.argmin())
        d = int(distances[i])
        return IndexMatch(self.hexes[i], d, self.payloads[i]) if d <= limit else None


def _words(hexes: Sequence[str], digits: int) -> np.ndarray:
    """Hex hashes as an (N, digits / 16) array of uint64 words."""
    width = digits // 16
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, width)


def parse_list(
    text: str, hash_kind: HashKind, shown: str
) -> tuple[list[tuple[int, str]], list[tuple[str, int, str]]]:
    """`([(line number, hash)], [(shown, line number, problem)])` of a list file's text;
    the problems are capped at MAX_PROBLEMS (plus one line counting the rest)."""
    values, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            value = hash_kind.parse_line(raw)
        except HashFormatError as exc:
            problems.append((shown, number, str(exc)))
            continue
        if value is not None:
            values.append((number, value))
    if len(problems) > MAX_PROBLEMS:  # a binary file, say: the first ones tell enough
        more = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [
            (shown, problems[MAX_PROBLEMS][1], f"... and {more} more lines like these")
        ]
    return values, problems


def load_list(
    path: str | Path,
    hash_kind: HashKind | str,
    *,
    shown_as: str | None = None,
    max_bytes: int = MAX_LIST_BYTES,
) -> HashIndex[int]:
    """A list file as a `HashIndex` whose payloads are line numbers.

    Raises `HashListError` naming each bad line, `UnusableFile` for what is not a text
    file of at most `max_bytes`, `OSError` when it cannot be opened."""
    k = kind(hash_kind) if isinstance(hash_kind, str) else hash_kind
    shown = shown_as or str(path)
    data = read_text_file(path, max_bytes=max_bytes, what=f"a hash list ({k.name})")
    values, problems = parse_list(data.decode("utf-8", errors="replace"), k, shown)
    if problems:
        raise HashListError(problems)
    return HashIndex(k, [v for _, v in values], [n for n, _ in values])
