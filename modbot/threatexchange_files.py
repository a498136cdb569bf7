"""python-threatexchange's `local_file` format, in and out, so an admin can use an industry
list with modbot and hand modbot's hashes to python-threatexchange, HMA or a hotline.

What lives here: `read_local_file(text)` / `load_local_file(path)` -> `LocalFile`
(the PDQ hashes, and every line skipped with why), `write_local_file(hashes)` -> the
file's text and what could not go in it, and `write_plain_list(kind, hashes)` for the
kinds python-threatexchange has no type for.

The `local_file` exchange (python-threatexchange 1.2.17,
`threatexchange/exchanges/impl/file_api.py`) reads one signal a line: either
``<signal_type> <signal>`` separated by one space, or, when the collaboration is
configured with a fixed `--signal-type`, the bare signal. No comments, labels or
metadata: every entry is an "investigation seed". Its PDQ signal type is ``pdq``: 64
lower-case hex digits, the same hex form as modbot's `pdq` kind.

Signal types modbot reads: ``pdq`` only. ``video_md5`` and ``video_sha256`` are hashes
of videos and modbot hashes images; ``url``, ``url_md5``, ``raw_text`` and
``trend_query`` are not images at all. Those lines are skipped and listed with the
reason (python-threatexchange drops types it does not know without a word; modbot says
what it left out). A ``pdq`` line whose hash is malformed makes the file refused
(`HashListError`, naming each bad line), as with modbot's own list files; so does a
``pdq`` line separated by a tab, comma or semicolon (a TSV or CSV export), which
python-threatexchange does not read as a ``pdq`` line either.

python-threatexchange has no signal type for the MD5 or SHA-1 of a photo (its ``md5``
type is ``video_md5``, for videos only; the NCMEC importer drops image MD5s). Writing
photo MD5s as ``video_md5`` would label photos as videos, so `write_local_file` leaves
them out and says so; MD5, SHA-1 and SHA-256 lists travel in modbot's plain list format
(`write_plain_list`: one hash a line, which is also what `md5sum` prints and what most
tools and hotlines accept).

A known bug of python-threatexchange's CLI (facebook/ThreatExchange#1318): a
`local_file` holding exactly one PDQ hash never matches in `threatexchange match`; a
file of two or more does. `write_local_file` reports it in `notes` when it writes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from modbot.config.files import read_text_file
from modbot.hashes import (
    HASH_KINDS,
    MAX_LIST_BYTES,
    CappedLines,
    HashFormatError,
    HashListError,
    text_lines,
    utf8_lines,
)

__all__ = [
    "SIGNAL_TYPES",
    "LocalFile",
    "LocalFileExport",
    "load_local_file",
    "read_local_file",
    "write_local_file",
    "write_plain_list",
]

# python-threatexchange signal type -> modbot kind (the ones modbot can match).
SIGNAL_TYPES = {"pdq": "pdq"}
_NOT_IMAGES = {
    "video_md5": "an MD5 of a video; modbot hashes images",
    "video_sha256": "a SHA-256 of a video; modbot hashes images",
    "vpdq": "a video PDQ; modbot hashes images",
    "url": "a URL, not an image hash",
    "url_md5": "an MD5 of a URL, not an image hash",
    "raw_text": "text, not an image hash",
    "trend_query": "a text query, not an image hash",
    "text_tlsh": "a hash of text, not of an image",
    "pdq_ocr": "PDQ with OCR text, not read by modbot",
    "photodna": "PhotoDNA, licensed by Microsoft; modbot does not compute it",
}
# Why a kind of modbot's cannot be written as a python-threatexchange signal.
_NOT_EXPORTED = {
    "md5": "python-threatexchange has no photo MD5 signal type (video_md5 is for videos): "
    "use write_plain_list('md5', ...)",
    "sha1": "python-threatexchange has no SHA-1 signal type: use write_plain_list('sha1', ...)",
    "sha256": "python-threatexchange's SHA-256 type is video_sha256, for videos: "
    "use write_plain_list('sha256', ...)",
    "phash": "python-threatexchange has no 64-bit pHash signal type",
}


def _no_signal(stype: str) -> str:
    """Why a line of one word is skipped; a bare hash says what file it belongs in."""
    return _bare_hash(stype) or "no signal after the signal type"


def _bare_hash(word: str, *, more: bool = False) -> str | None:
    """Why a line starting with ``word`` is skipped when ``word`` is a bare hash, not a
    signal type (``more``: text follows it, as `threatexchange dataset -P` prints its
    metadata after each signal); None when it is not one."""
    bare = next((k for k in HASH_KINDS.values() if len(word) == k.hex_digits), None)
    if bare is None or not all(c in "0123456789abcdefABCDEF" for c in word):
        return None
    kinds = "pdq or sha256" if bare.hex_digits == 64 else bare.name
    said = (
        f"a bare hash without its signal type ({bare.hex_digits} hex digits): a file "
        f"of bare hashes is a list of format: plain (kind: {kinds})"
    )
    if more:
        said += (
            "; the text after it is what `threatexchange dataset -P` prints beside each "
            "signal: `threatexchange dataset -P --print-signals-only` prints a local_file"
        )
    return said


def _text_after(kind: str, signal: str) -> str:
    """What to add to the error of a signal that is a hash and more text (`threatexchange
    dataset -P` prints the collaboration and metadata after each): how to export a
    local_file; empty otherwise."""
    first, _, rest = signal.partition(" ")
    try:
        HASH_KINDS[kind].parse(first)
    except HashFormatError:
        return ""
    if not rest.strip():
        return ""
    return (
        "; the text after the hash is what `threatexchange dataset -P` prints beside each "
        "signal: `threatexchange dataset -P --print-signals-only` prints a local_file"
    )


_SEPARATORS = {"\t": "a tab", ",": "a comma", ";": "a semicolon"}


def _other_separator(field: str) -> str | None:
    """The error for a line of a signal type modbot reads whose signal follows another
    separator than one space (``pdq<TAB><hash>``, ``pdq,<hash>``); None otherwise."""
    for sep, name in _SEPARATORS.items():
        stype, found, _ = field.partition(sep)
        if found and stype.strip().strip("\"'") in SIGNAL_TYPES:
            return (
                f"{stype.strip()[:40]} followed by {name}: a python-threatexchange local_file "
                "separates the signal type and the signal by one space, and holds nothing "
                "else ('pdq <hash>'; `threatexchange dataset -P --print-signals-only` prints "
                "it so): of a CSV or TSV export, keep the first two columns, one space between"
            )
    return None


@dataclass
class LocalFile:
    """What a `local_file` holds for modbot: `hashes` as `(kind, hex, line number)`,
    each once, and `skipped` as `(line number, signal type, why)`: the first
    MAX_PROBLEMS lines skipped, then one entry counting the rest."""

    hashes: list[tuple[str, str, int]] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[str]:
        return [h for k, h, _ in self.hashes if k == kind]


@dataclass
class LocalFileExport:
    """`text`: the `local_file` to write; `left_out`: `(kind, hash, why)` for each hash
    not in it; `notes`: what the receiving tool should know."""

    text: str
    count: int
    left_out: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_local_file(
    text: str | bytes, *, signal_type: str | None = None, shown: str = ""
) -> LocalFile:
    """Parse a `local_file`'s text, or its bytes (UTF-8, decoded a megabyte at a time)
    (`signal_type`: the collaboration's fixed type, for files of bare hashes). Raises
    `HashListError` naming each malformed PDQ line."""
    out = LocalFile()
    shown = shown or "<local_file>"
    problems: CappedLines[tuple[str, int, str]] = CappedLines()
    skipped: CappedLines[tuple[int, str, str]] = CappedLines()
    seen: dict[str, set[str]] = {}  # kind -> hashes: no tuple a line held
    if signal_type is not None and signal_type not in SIGNAL_TYPES:
        why = _NOT_IMAGES.get(signal_type, "not a signal type modbot reads")
        raise ValueError(f"signal type {signal_type!r}: {why}")
    # Only the first MAX_PROBLEMS lines skipped or refused are kept, and a count of the
    # rest: memory goes with the hashes read, not with the lines (a dataset of a million
    # video_md5 lines).
    lines = text_lines(text) if isinstance(text, str) else utf8_lines(text)
    for number, raw in enumerate(lines, start=1):
        # as python-threatexchange does; a byte order mark starting a line (files joined
        # with `cat`, one saved by a Windows editor) as the file's first one: nothing
        line = raw.lstrip("\ufeff").strip()
        if signal_type is None:
            stype, _, signal = line.partition(" ")
        else:
            stype, signal = signal_type, line
        # A TSV or CSV export of PDQ hashes (`threatexchange dataset -P --csv`, its
        # later columns may hold spaces: a collaboration's name, tags): a warning would
        # load the list without them, so the file is refused and the line named.
        other = _other_separator(stype) if signal_type is None else None
        if other is not None:
            problems.add((shown, number, other))
            continue
        if not stype or not signal:  # python-threatexchange skips these too
            if line:
                skipped.add((number, stype[:40], _no_signal(stype)))
            continue
        kind = SIGNAL_TYPES.get(stype)
        if kind is None:
            why = (
                _NOT_IMAGES.get(stype)
                or _bare_hash(stype, more=True)
                or "not a python-threatexchange signal type modbot knows"
            )
            skipped.add((number, stype[:40], why))
            continue
        try:
            value = HASH_KINDS[kind].parse(signal)
        except HashFormatError as exc:
            problems.add((shown, number, f"{stype}: {exc}{_text_after(kind, signal)}"))
            continue
        known = seen.setdefault(kind, set())
        if value not in known:
            known.add(value)
            out.hashes.append((kind, value, number))
    more = "... and {} more lines like these"
    out.skipped = skipped.items(lambda e, k: (*e[:2], more.format(k)))
    if problems:
        raise HashListError(problems.items(lambda e, k: (*e[:2], more.format(k))))
    return out


def load_local_file(
    path: str | Path,
    *,
    signal_type: str | None = None,
    shown_as: str | None = None,
    max_bytes: int = MAX_LIST_BYTES,
) -> LocalFile:
    """`read_local_file` on a file: `UnusableFile` for what is not a text file of at
    most `max_bytes`, `OSError` when it cannot be opened, `HashListError` for bad lines."""
    data = read_text_file(path, max_bytes=max_bytes, what="a python-threatexchange local_file")
    # its bytes, decoded a megabyte at a time (a BOM is fine): not the whole text, which
    # one character past U+FFFF anywhere (an emoji in a url line) holds in 4 bytes each
    return read_local_file(data, signal_type=signal_type, shown=shown_as or str(path))


def write_local_file(
    hashes: Iterable[tuple[str, str]], *, signal_type: str | None = None
) -> LocalFileExport:
    """A `local_file` of the `(kind, hex)` pairs python-threatexchange can read (PDQ),
    each once, in the order given: ``pdq <hex>`` lines, or bare hashes when the
    receiving collaboration has a fixed `signal_type` (``"pdq"``). The others are in
    `left_out` with why."""
    if signal_type is not None and signal_type not in SIGNAL_TYPES:
        raise ValueError(
            f"signal type {signal_type!r}: modbot writes only {', '.join(SIGNAL_TYPES)}"
        )
    to_type = {kind: stype for stype, kind in SIGNAL_TYPES.items()}
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    left_out: list[tuple[str, str, str]] = []
    for kind, value in hashes:
        value = HASH_KINDS[kind].parse(value) if kind in HASH_KINDS else value
        stype = to_type.get(kind)
        if stype is None or (signal_type is not None and stype != signal_type):
            why = _NOT_EXPORTED.get(kind, f"{kind} is not a signal type of this file")
            left_out.append((kind, value, why))
            continue
        if (stype, value) in seen:
            continue
        seen.add((stype, value))
        lines.append(value if signal_type else f"{stype} {value}")
    notes = []
    if len(lines) == 1:
        notes.append(
            "one PDQ hash only: python-threatexchange's `threatexchange match` never matches "
            "a local_file of exactly one hash (facebook/ThreatExchange#1318); HMA and the "
            "library are not affected"
        )
    text = "".join(line + "\n" for line in lines)
    return LocalFileExport(text, len(lines), left_out, notes)


def write_plain_list(kind: str, hashes: Iterable[str]) -> str:
    """A list file of one kind in modbot's format (one hash a line, as `md5sum` prints
    without the file names; `modbot.hashes.load_list` reads it), each hash once."""
    k = HASH_KINDS[kind]
    seen: dict[str, None] = {}
    for value in hashes:
        seen.setdefault(k.parse(value), None)
    return "".join(h + "\n" for h in seen)
