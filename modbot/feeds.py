"""Signed hash feeds: the hashes one instance has confirmed, published for the instances
that trust it, and the checks a subscriber runs before using them.

What lives here: the feed (`Feed`, `FeedEntry`, `make_feed`) and its canonical bytes
(`Feed.to_bytes`), signing (`sign_feed`, `write_feed`), verification (`verify_feed`,
`verify_feed_files`) with one exception class per way a feed is refused (`FeedError`
and its subclasses), and Ed25519 keys (`generate_key`, `load_private_key`,
`public_key_text`, `parse_public_key`). Fetching a feed (the safe fetcher, a schedule,
keeping the last good copy) is the daemon's job, not this module's.

A feed is two files served by any static web server: the feed, e.g. ``hashes.json``,
and its signature beside it, ``hashes.json.sig``. The signature is Ed25519 (PyCA's
`cryptography`) over the exact bytes of the feed file, prefixed with the fixed context
``modbot-hash-feed-v1\\n`` so that a feed signature can never pass for a signature over
anything else. A detached signature over the exact bytes needs no canonical JSON on the
subscriber's side and leaves the feed readable; the publisher still writes one canonical
layout (below), so the same content always gives the same bytes and signature.

The feed file (UTF-8, ASCII only, one entry a line, entries sorted by kind then hash)::

    {"format":"modbot-hash-feed/1","instance":"lemmy.example","generated_at":"2026-12-0…
    {"kind":"pdq","hash":"2d6f…","quality":100,"verdict":"bad","label":"csam","first_se…
    {"kind":"sha256","hash":"9f86…","verdict":"innocent","label":"false-positive","firs…
    ]}

(lines cut here at 88 characters; the first one ends
``"generated_at":"2026-12-01T06:00:00Z","entries":[``, an entry line
``"first_seen":"2026-11-02"},``).

- ``format``: ``modbot-hash-feed/1``; another version is refused (`FeedVersionError`).
- ``instance``: the publisher's host as Lemmy names it (``lemmy.example``, with ``:port``
  if any); a subscriber checks it against the feed it meant.
- ``generated_at``: UTC, to the second. A subscriber refuses a feed older than its
  ``max_age`` (default 7 days: a publisher that stopped updating, or a replayed old
  copy), one from the future beyond 10 minutes of clock skew, and one older than the
  copy it already accepted (`FeedStale`, `FeedRollback`).
- ``entries``: ``kind`` (``sha256``, ``md5``, ``sha1``, ``phash``, ``pdq``; an entry of
  a kind this modbot does not know, a newer publisher's, is skipped and counted, held to
  the format all the same, and a feed of such entries only is refused), ``hash``
  (lower-case hex), ``verdict`` (``bad`` or ``innocent``), ``label`` (lower-case
  letters, digits, ``-`` and ``_``, 1-40 characters: a category, never a URL, a name or
  a note), ``first_seen`` (a date, no time), and for ``pdq`` only ``quality`` (50-100 when
  published; a subscriber ignores entries below 50, as the PDQ reference does). One entry
  per kind and hash.

Hashes and labels only: never a URL, an image, a user or a post. See docs/hash-sharing.md
for what a published hash reveals.

The signature file, four lines::

    modbot-hash-feed-signature/1
    key: ed25519:<base64 of the 32-byte public key>
    sha256: <hex SHA-256 of the feed file>
    signature: ed25519:<base64 of the 64-byte signature>

``key`` and ``sha256`` are not trusted: only the key the subscriber configured verifies.
They make the errors precise: a feed signed by another key (`FeedWrongKey`: the
publisher changed keys, or this is someone else's feed), a feed that does not match its
signature file (`FeedChanged`: it was replaced between the two downloads, fetch both
again; or altered), a bad signature (`FeedSignatureError`).

Keys: the private key is a PKCS#8 PEM file of mode 0600, written by `generate_key`
(refused when group or others can read it); the public key is
``ed25519:<base64 of the 32 raw bytes>`` (52 characters), short enough to paste into
rules.yaml and compare by eye.

Bounds: the feed file at most `MAX_FEED_BYTES` (32 MB, about 200,000 entries) and
`MAX_ENTRIES` entries, the signature file at most 1 KiB, both checked before anything is
parsed; the JSON is parsed only after the signature is verified, and only when it holds
no more objects and values than `MAX_ENTRIES` entries do (a parse's memory is bounded by
a full feed's, not by the file's size).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from modbot.config.files import UnusableFile, read_text_file
from modbot.errors import ConfigError, ModbotError
from modbot.hashes import HASH_KINDS, HashFormatError, HashIndex
from modbot.replace_file import replace_file

log = logging.getLogger(__name__)

__all__ = [
    "CONTEXT",
    "DEFAULT_MAX_AGE",
    "FORMAT",
    "MAX_ENTRIES",
    "MAX_FEED_BYTES",
    "MAX_SIGNATURE_BYTES",
    "SIGNATURE_FORMAT",
    "VERDICTS",
    "Feed",
    "FeedChanged",
    "FeedEntry",
    "FeedError",
    "FeedMalformed",
    "FeedRollback",
    "FeedSignatureError",
    "FeedStale",
    "FeedTooLarge",
    "FeedUnknownKinds",
    "FeedVersionError",
    "FeedWrongInstance",
    "FeedWrongKey",
    "KeyFileError",
    "PublishBusy",
    "VerifiedFeed",
    "check_times",
    "generate_key",
    "load_private_key",
    "make_feed",
    "parse_public_key",
    "public_key_text",
    "published_at",
    "publishing",
    "sign_feed",
    "signature_url",
    "verify_feed",
    "verify_feed_files",
    "write_feed",
]

FORMAT = "modbot-hash-feed/1"
SIGNATURE_FORMAT = "modbot-hash-feed-signature/1"
CONTEXT = b"modbot-hash-feed-v1\n"
MAX_FEED_BYTES = 32_000_000
MAX_ENTRIES = 200_000
MAX_SIGNATURE_BYTES = 1024
MAX_KEY_BYTES = 4096
SKIPPED_KINDS_SAID = 5  # of the kinds this modbot does not know, those named when skipped
PUBLISH_WAIT_S = 120.0  # how long a publisher waits for another one writing the same feed
DEFAULT_MAX_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=10)
VERDICTS = ("bad", "innocent")
PUBLIC_KEY_PREFIX = "ed25519:"
_LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_LABEL_RULE = "1-40 lower-case letters, digits, '-' or '_' (a category, never a URL or a name)"
# What a hash kind's name may be in a feed: a kind this modbot does not know (a newer
# publisher's) is skipped, and said by this name, so it is held to a short plain word
_KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_HEX = re.compile(r"[0-9a-f]+")
# The instance's host as Lemmy names it: a domain (or an address), with a port if any.
_HOST = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?"
)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_FORMAT_NAME = re.compile(r"modbot-hash-feed/(\d+)")
_ENTRY_KEYS = ("kind", "hash", "quality", "verdict", "label", "first_seen")
_FEED_KEYS = ("format", "instance", "generated_at", "entries")


# Errors: one class per way a feed is refused; `reason` is a short code for records.


class FeedError(ModbotError):
    """A feed that cannot be used. The message says what is wrong and what to do."""

    reason: ClassVar[str] = "error"


class FeedTooLarge(FeedError):
    reason = "too_large"


class FeedMalformed(FeedError):
    reason = "malformed"


class FeedVersionError(FeedError):
    reason = "wrong_version"


class FeedUnknownKinds(FeedVersionError):
    """Every entry is of a hash kind this modbot does not know: it would hold nothing
    here (upgrade modbot). A feed with some entries of known kinds is used, the others
    skipped and counted (`VerifiedFeed.skipped`)."""

    reason = "unknown_kinds"


class FeedSignatureError(FeedError):
    reason = "bad_signature"


class FeedChanged(FeedSignatureError):
    """The feed's SHA-256 is not the one its signature file names: replaced between the
    two downloads (fetch both again, once), or altered."""

    reason = "changed"


class FeedWrongKey(FeedError):
    reason = "wrong_key"


class FeedWrongInstance(FeedError):
    reason = "wrong_instance"


class FeedStale(FeedError):
    reason = "stale"


class FeedRollback(FeedError):
    reason = "rollback"


class PublishBusy(ModbotError):
    """Another publisher kept the feed's lock for longer than a publisher waits."""


class KeyFileError(ConfigError):
    """A key file or public key that cannot be used; the message says what to do."""


# The feed.


@dataclass(frozen=True)
class FeedEntry:
    """One confirmed hash. Validated on construction (`ValueError` saying which field)."""

    kind: str
    hash: str
    verdict: str
    label: str
    first_seen: date
    quality: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in HASH_KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(HASH_KINDS)}")
        try:
            object.__setattr__(self, "hash", HASH_KINDS[self.kind].parse(self.hash))
        except HashFormatError as exc:
            raise ValueError(f"hash: {exc}") from None
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not 'bad' or 'innocent'")
        if not isinstance(self.label, str) or not _LABEL.fullmatch(self.label):
            raise ValueError(f"label {str(self.label)[:60]!r}: {_LABEL_RULE}")
        if not isinstance(self.first_seen, date) or isinstance(self.first_seen, datetime):
            raise TypeError(f"first_seen must be a date, not {self.first_seen!r}")
        if self.kind == "pdq":
            q = self.quality
            if isinstance(q, bool) or not isinstance(q, int) or not 0 <= q <= 100:
                raise ValueError(f"a pdq entry needs its quality, 0 to 100, not {q!r}")
        elif self.quality is not None:
            raise ValueError(f"quality is for pdq entries only, not {self.kind}")

    @property
    def usable(self) -> bool:
        """False for a PDQ entry below the reference's quality threshold."""
        return HASH_KINDS[self.kind].entry_usable(self.quality)

    @property
    def too_plain(self) -> str | None:
        """Why the entry would match plain pictures rather than one image (a pHash near a
        picture of one colour's, within the most any subscriber matches it), or None."""
        kind = HASH_KINDS[self.kind]
        return kind.too_plain(self.hash, kind.max_distance or None)

    @property
    def weak_innocent(self) -> str | None:
        """Why this ``innocent`` entry spares nothing and stands for no verdict (an MD5's
        or a SHA-1's: a file made to collide with it would be spared;
        `HashKind.cannot_spare`), or None."""
        return HASH_KINDS[self.kind].cannot_spare() if self.verdict == "innocent" else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "hash": self.hash}
        if self.quality is not None:
            out["quality"] = self.quality
        out |= {"verdict": self.verdict, "label": self.label}
        out["first_seen"] = self.first_seen.isoformat()
        return out


@dataclass(frozen=True)
class Feed:
    """A feed's content: the publishing instance, when it was generated, its entries."""

    instance: str
    generated_at: datetime
    entries: tuple[FeedEntry, ...]

    def to_bytes(self) -> bytes:
        """The canonical feed file: fixed key order, entries sorted by kind then hash,
        one a line, ASCII only. The same content always gives the same bytes."""
        head = {
            "format": FORMAT,
            "instance": self.instance,
            "generated_at": _time_text(self.generated_at),
        }
        lines = [_json(head)[:-1] + ',"entries":[']
        entries = sorted(self.entries, key=lambda e: (e.kind, e.hash))
        lines.append(",\n".join(_json(e.to_dict()) for e in entries))
        lines.append("]}\n")
        return ("\n".join(line for line in lines if line)).encode("ascii")

    def index(self, kind: str, verdict: str | None = None) -> HashIndex[FeedEntry]:
        """The usable entries of one kind (and verdict) as a `HashIndex` whose payloads
        are the entries: `feed.index("pdq", "bad").lookup(digest)`."""
        chosen = [
            e
            for e in self.entries
            if e.kind == kind and e.usable and (verdict is None or e.verdict == verdict)
        ]
        return HASH_KINDS[kind].index([e.hash for e in chosen], chosen)


@dataclass(frozen=True)
class VerifiedFeed:
    """A feed that passed every check. `feed.entries` holds the usable entries only;
    `ignored` counts those dropped (PDQ quality below 50), `plain` the pHash entries
    left out as a picture of one colour's (`FeedEntry.too_plain`), `skipped` those of a
    hash kind this modbot does not know, and `skipped_kinds` the most common of those
    kinds with their counts (at most `SKIPPED_KINDS_SAID`, most first)."""

    feed: Feed
    key: str
    sha256: str
    ignored: int = 0
    skipped: int = 0
    skipped_kinds: tuple[tuple[str, int], ...] = ()
    plain: int = 0

    @property
    def dropped_note(self) -> str:
        """The usable-looking entries dropped, in words (PDQ below quality 50, plain
        pictures' pHashes), ``; ``-separated; empty when none was. Said with a feed's
        count of entries, which leaves them out."""
        said = []
        if self.ignored:
            said.append(
                f"{self.ignored} PDQ entries below quality {HASH_KINDS['pdq'].min_quality} "
                "ignored (they match nothing)"
            )
        if self.plain:
            said.append(
                f"{self.plain} pHash {'entry' if self.plain == 1 else 'entries'} of a picture "
                "of one colour left out (they would match plain pictures, not one)"
            )
        return "; ".join(said)

    @property
    def weak_innocent(self) -> int:
        """How many of its entries are ``innocent`` by an MD5 or a SHA-1: kept in the
        feed, but an allow-list or classified subscription takes none of them
        (`FeedEntry.weak_innocent`)."""
        return sum(1 for e in self.feed.entries if e.weak_innocent)

    @property
    def skipped_note(self) -> str:
        """The entries skipped, in words: ``3 entries of kinds this modbot does not know
        (video_md5: 2, tmk: 1)``; empty when none was."""
        n = self.skipped
        if not n:
            return ""
        kinds = _kinds_text(self.skipped_kinds, n)
        return (
            f"{n:,} {'entry' if n == 1 else 'entries'} of kinds this modbot does not know ({kinds})"
        )


def make_feed(
    instance: str, entries: Iterable[FeedEntry], *, generated_at: datetime | None = None
) -> Feed:
    """A feed to publish. `ValueError` for a bad instance name, a PDQ entry below quality
    50 (the reference discards it: publish the file's exact hashes instead), or the same
    kind and hash twice."""
    _check_instance(instance)
    chosen = tuple(sorted(entries, key=lambda e: (e.kind, e.hash)))  # the file's order
    seen: set[tuple[str, str]] = set()
    for e in chosen:
        if not e.usable:
            raise ValueError(
                f"{e.kind} {e.hash}: quality {e.quality} is under "
                f"{HASH_KINDS[e.kind].min_quality}; "
                "such a hash matches nothing and is not published"
            )
        if e.too_plain:
            raise ValueError(f"{e.kind} {e.hash}: {e.too_plain}; it is not published")
        if (e.kind, e.hash) in seen:
            raise ValueError(f"{e.kind} {e.hash} is in the feed twice")
        seen.add((e.kind, e.hash))
    when = (generated_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return Feed(instance, when, chosen)


# Signing and publishing.


def sign_feed(feed: Feed, key: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """(feed file bytes, signature file bytes)."""
    body = feed.to_bytes()
    if len(body) > MAX_FEED_BYTES or len(feed.entries) > MAX_ENTRIES:
        raise FeedTooLarge(
            f"{len(feed.entries):,} entries, {len(body):,} bytes: over what subscribers "
            f"accept ({MAX_ENTRIES:,} entries, {MAX_FEED_BYTES:,} bytes)"
        )
    signature = key.sign(CONTEXT + body)
    sig = (
        f"{SIGNATURE_FORMAT}\n"
        f"key: {public_key_text(key.public_key())}\n"
        f"sha256: {hashlib.sha256(body).hexdigest()}\n"
        f"signature: ed25519:{base64.b64encode(signature).decode('ascii')}\n"
    )
    return body, sig.encode("ascii")


@contextlib.contextmanager
def publishing(path: str | Path, *, wait: float = PUBLISH_WAIT_S) -> Iterator[None]:
    """Hold the feed at ``path`` for one publisher: a second one (another `modbot feed
    publish`, from cron and by hand) waits for the first to have written both files,
    then writes its own pair. Without it the two could each rename a feed and a
    signature in turn, and leave one's feed with the other's signature: refused by every
    subscriber until the next publish. The lock is ``flock`` on ``.NAME.lock`` beside
    the feed (an empty file, left there; the lock goes with the process, also one
    killed). `PublishBusy` after ``wait`` seconds (a publisher hung on its disk)."""
    path = Path(path)
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:  # name the feed asked for (its folder), not the lock file
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PublishBusy(
                        f"another `modbot feed publish` has been writing {path} for over "
                        f"{wait:.0f} seconds: nothing written; try again once it has ended"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_feed(path: str | Path, feed: Feed, key: Ed25519PrivateKey) -> tuple[Path, Path]:
    """Write the feed file and PATH.sig (mode 0644: they are public), each replaced
    atomically, the feed first. A reader in between (a subscriber fetching the feed,
    then its signature) gets the new feed and the old signature, which names another
    SHA-256 (`FeedChanged`): it fetches both again. Call it inside `publishing(path)`
    when another publisher may write the same feed at once."""
    path = Path(path)
    sig_path = path.with_name(path.name + ".sig")
    body, sig = sign_feed(feed, key)
    for target, data in ((path, body), (sig_path, sig)):
        _write_atomically(target, data, 0o644)
    return path, sig_path


def published_entries(path: str | Path) -> int:
    """How many entries the feed file at `path` holds: 0 when there is none, or it is not
    a feed a subscriber could have accepted (nothing to lose by replacing it)."""
    try:
        data = _parse_json(_read(Path(path), MAX_FEED_BYTES, "a hash feed"))
    except (OSError, FeedError):
        return 0
    entries = data.get("entries") if isinstance(data, dict) else None
    return len(entries) if isinstance(entries, list) else 0


def published_at(path: str | Path) -> datetime | None:
    """When the feed file at `path` was generated, read from its first line (the
    canonical layout `Feed.to_bytes` writes: format, instance, generated_at, then the
    entries); None when there is none, or it is not one this code wrote."""
    try:
        if not Path(path).is_file():  # a FIFO would block the open
            return None
        with open(path, "rb") as f:
            head = f.read(1024).split(b"\n", 1)[0]  # about 100 bytes and the instance's name
        data = json.loads(head.decode("ascii") + "]}")  # the entries' list closed
        return _parse_time(data["generated_at"]) if isinstance(data, dict) else None
    except (OSError, ValueError, RecursionError, KeyError, FeedError):
        return None


# Verification.


def verify_feed(
    body: bytes,
    signature: bytes,
    public_key: Ed25519PublicKey | str,
    *,
    instance: str | None = None,
    accepted_at: datetime | None = None,
    max_age: timedelta | None = DEFAULT_MAX_AGE,
    now: datetime | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    max_entries: int = MAX_ENTRIES,
) -> VerifiedFeed:
    """Check a downloaded feed and its signature file against the trusted key.

    `instance`: the domain the subscriber expects (None: not checked). `accepted_at`:
    the `generated_at` of the copy already accepted; an older feed is a rollback.
    `max_age`: how old a feed may be (None: no limit). Raises a `FeedError` subclass;
    checks run in this order: sizes, signature file, key, signature, JSON, format
    version, instance, times, entries."""
    trusted = parse_public_key(public_key) if isinstance(public_key, str) else public_key
    trusted_text = public_key_text(trusted)
    if len(body) > max_bytes:
        raise FeedTooLarge(f"the feed is over {max_bytes:,} bytes: refused unread")
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise FeedTooLarge(
            f"the signature file is over {MAX_SIGNATURE_BYTES:,} bytes: not a signature file"
        )
    signed_by, named_sha256, sig = _parse_signature_file(signature)
    if signed_by != trusted_text:
        raise FeedWrongKey(
            f"signed by {signed_by}, but the key trusted for this feed is {trusted_text}: "
            "the publisher changed keys (ask them, then update rules.yaml) or this is "
            "not their feed"
        )
    digest = hashlib.sha256(body).hexdigest()
    try:
        trusted.verify(sig, CONTEXT + body)
    except InvalidSignature:
        if digest != named_sha256:
            raise FeedChanged(
                "the feed does not match its signature file (SHA-256 "
                f"{digest[:16]}…, the signature file names {named_sha256[:16]}…): it was "
                "replaced between the two downloads (fetch both again) or altered"
                + _not_a_feed_hint(body)
            ) from None
        raise FeedSignatureError(
            "bad signature: the feed or its signature file was altered after signing"
            + _not_a_feed_hint(body)
        ) from None
    _check_values(body, max_entries)
    data = _parse_json(body)
    feed, ignored, plain, skipped = _feed_from_json(data, max_entries)
    if instance is not None and feed.instance != instance.lower():
        # signed by the trusted key: a wrong URL, or the right feed on a static host or CDN
        raise FeedWrongInstance(
            f"the feed is published by {feed.instance}, not {instance}: check the URL; if "
            f"it is {feed.instance}'s feed served from another host, name the instance "
            f"(instance: {feed.instance} for this feed in rules.yaml; --instance "
            f"{feed.instance} for `modbot feed verify`)"
        )
    check_times(feed.generated_at, accepted_at, max_age, now or datetime.now(UTC))
    named = tuple(skipped.most_common(SKIPPED_KINDS_SAID))
    return VerifiedFeed(feed, trusted_text, digest, ignored, sum(skipped.values()), named, plain)


def signature_url(url: str) -> str:
    """Where a feed's signature is, beside it: its path + ".sig", the query kept (a feed
    behind `?access_token=...` has its signature behind the same token), no fragment."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + ".sig", fragment=""))


def verify_feed_files(
    path: str | Path,
    public_key: Ed25519PublicKey | str,
    *,
    signature_path: str | Path | None = None,
    **checks: Any,
) -> VerifiedFeed:
    """`verify_feed` on a feed file and its signature file (default: PATH.sig).
    `OSError` when one cannot be opened; what is not a regular text file, or too large,
    is a `FeedTooLarge` or `FeedMalformed` naming the file."""
    path = Path(path)
    sig_path = Path(signature_path) if signature_path else path.with_name(path.name + ".sig")
    limit = checks.get("max_bytes", MAX_FEED_BYTES)
    body = _read(path, limit, "a hash feed")
    signature = _read(sig_path, MAX_SIGNATURE_BYTES, "a feed signature file")
    return verify_feed(body, signature, public_key, **checks)


# Keys.


def generate_key(path: str | Path, *, overwrite: bool = False) -> str:
    """Make a key pair: the private key at PATH (PKCS#8 PEM, mode 0600), the public key
    at PATH.pub (mode 0644). Returns the public key text for rules.yaml. An existing key
    is kept (`KeyFileError`) unless `overwrite`: every subscriber would have to change
    the key they trust."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(
            f"{path} already exists: a new key means every subscriber must update the "
            "public key in their rules.yaml; remove the file first if that is what you want"
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(path, pem, 0o600)
    public = public_key_text(key.public_key())
    _write_atomically(path.with_name(path.name + ".pub"), (public + "\n").encode(), 0o644)
    return public


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The private key written by `generate_key`. `KeyFileError` when the file is
    readable by group or others, not an unencrypted Ed25519 PKCS#8 PEM key, or unusable;
    `OSError` when it cannot be opened."""
    path = Path(path)
    try:
        data = read_text_file(path, max_bytes=MAX_KEY_BYTES, what="a private key file")
    except UnusableFile as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path} can be read by others (mode {mode:04o}): the key that signs your feed "
            f"must be private. Run `chmod 600 {path}`; if others may have read it, make a "
            "new key and tell your subscribers"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{path} is encrypted with a passphrase; modbot reads unencrypted keys "
            "protected by their file mode (made by `modbot keys`)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path} is not a PEM private key (made by `modbot keys`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``ed25519:<base64 of the 32 raw bytes>``: the form rules.yaml takes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key written as ``ed25519:<base64>``; `KeyFileError` saying what is wrong."""
    value = text.strip() if isinstance(text, str) else ""
    if not value.startswith(PUBLIC_KEY_PREFIX):
        raise KeyFileError(
            f"a public key is written 'ed25519:' and 44 base64 characters, not {value[:60]!r}"
        )
    try:
        raw = base64.b64decode(value[len(PUBLIC_KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{value[:60]!r} is not valid base64") from None
    if len(raw) != 32:
        raise KeyFileError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_argument(value: str) -> str:
    """``--key`` of ``modbot feed verify``: the key's text (``ed25519:...``) or the file
    ``modbot keys`` wrote it to (FILE.pub). Returns the key's text (not yet checked);
    `KeyFileError` for the private key file or a missing file, saying what to give."""
    if value.strip().startswith(PUBLIC_KEY_PREFIX):
        return value
    path = Path(value)
    try:
        data = read_text_file(path, max_bytes=MAX_KEY_BYTES, what="a public key file")
    except FileNotFoundError:
        raise KeyFileError(
            f"--key {value[:60]!r}: give the public key as 'ed25519:...' or the file "
            "`modbot keys` wrote it to (FILE.pub); there is no such file"
        ) from None
    except UnusableFile as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("-----BEGIN"):
        raise KeyFileError(
            f"{path} is a private key: give the public key, {path}.pub (written by "
            "`modbot keys` beside it)"
        )
    if not text.startswith(PUBLIC_KEY_PREFIX):
        raise KeyFileError(
            f"{path} holds no public key: it is written 'ed25519:' and 44 base64 characters "
            "(the file FILE.pub `modbot keys` wrote)"
        )
    return text


# Helpers.


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _time_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_instance(instance: str) -> None:
    if not isinstance(instance, str) or len(instance) > 253 or not _HOST.fullmatch(instance):
        raise ValueError(
            f"instance {str(instance)[:80]!r} is not a lower-case host name "
            "(lemmy.example, with :port if it has one)"
        )


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write `data` over `path` (mode `mode`, on disk before the rename): readers see the
    old file or the new one, never a part."""
    replace_file(path, lambda f: f.write(data), mode=mode, sync=True)


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        return read_text_file(path, max_bytes=limit, what=what)
    except UnusableFile as exc:
        error = FeedTooLarge if str(exc).startswith("too large") else FeedMalformed
        raise error(f"{path}: {exc}") from None


def _not_a_feed_hint(body: bytes) -> str:
    if body.startswith(b'{"format"'):
        return ""
    start = body[:40].decode("utf-8", errors="replace")
    return f" (and the feed file is not a modbot feed: it starts {start!r})"


def _parse_signature_file(data: bytes) -> tuple[str, str, bytes]:
    """(key text, sha256 hex, 64-byte signature) of a signature file."""

    def bad(why: str) -> FeedMalformed:
        return FeedMalformed(f"the signature file is malformed: {why}")

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise bad("it is not ASCII text") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != SIGNATURE_FORMAT:
        first = lines[0][:60] if lines else ""
        if _FORMAT_NAME.fullmatch(first.replace("-signature", "").strip()):
            raise FeedVersionError(
                f"the signature file is {first.strip()!r}; this modbot reads "
                f"{SIGNATURE_FORMAT}: upgrade modbot"
            )
        raise bad(f"its first line should be {SIGNATURE_FORMAT!r}, not {first!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or name not in ("key", "sha256", "signature") or name in fields:
            raise bad(f"unexpected line {line[:60]!r}")
        fields[name] = value.strip()
    missing = [n for n in ("key", "sha256", "signature") if n not in fields]
    if missing:
        raise bad(f"no {', '.join(missing)} line")
    try:
        key = public_key_text(parse_public_key(fields["key"]))
    except KeyFileError as exc:
        raise bad(f"key: {exc}") from None
    if not re.fullmatch(r"[0-9a-f]{64}", fields["sha256"]):
        raise bad("sha256 is not 64 lower-case hex digits")
    sig_text = fields["signature"]
    if not sig_text.startswith(PUBLIC_KEY_PREFIX):
        raise bad("the signature is not 'ed25519:<base64>'")
    try:
        sig = base64.b64decode(sig_text[len(PUBLIC_KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise bad("the signature is not valid base64") from None
    if len(sig) != 64:
        raise bad(f"an Ed25519 signature is 64 bytes, this one is {len(sig)}")
    return key, fields["sha256"], sig


def _check_values(body: bytes, max_entries: int) -> None:
    """Refuse, before parsing, a feed whose JSON holds more objects or values than a feed
    of ``max_entries`` entries can: parsed, a value of 3 bytes (``{},``) takes ~70 bytes,
    so a signed feed of them within the size limit (a hostile peer, a broken publisher)
    took ten times the memory of a full feed before its entries were counted. A feed's
    strings hold no ``{``, ``[`` or ``,`` (hosts, hex, labels, dates), so those bytes
    count its structure: one object per entry and one for the feed, one array, and at
    most 6 fields an entry (5 commas, 1 between entries) and 3 commas in the head."""
    containers = body.count(b"{") + body.count(b"[")
    commas = body.count(b",")
    limit = f"more than a feed of {max_entries:,} entries holds: refused unread"
    if containers > max_entries + 2:
        raise FeedTooLarge(f"the feed holds {containers:,} JSON objects and arrays, {limit}")
    if commas > 6 * max_entries + 3:
        raise FeedTooLarge(f"the feed holds {commas + 1:,} values, {limit}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _parse_json(body: bytes) -> Any:
    signed = "signed with the publisher's key: the publisher made it, tell them"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeedMalformed(f"the feed is not UTF-8 (byte {exc.start}; {signed})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise FeedMalformed(f"the feed's JSON is nested too deeply ({signed})") from None
    except ValueError as exc:
        raise FeedMalformed(f"the feed is not valid JSON: {exc} ({signed})") from None


def _feed_from_json(data: Any, max_entries: int) -> tuple[Feed, int, int, Counter[str]]:
    """The feed, how many of its entries were ignored (PDQ below quality 50), how many
    left out as a plain picture's pHash, and the entries skipped, counted by their kind
    (kinds this modbot does not know)."""
    if not isinstance(data, dict):
        raise FeedMalformed("the feed is not a JSON object")
    version = data.get("format")
    if version != FORMAT:
        m = _FORMAT_NAME.fullmatch(version) if isinstance(version, str) else None
        if m:
            newer = "newer than" if int(m.group(1)) > 1 else "not"
            raise FeedVersionError(
                f"the feed's format is {version}, {newer} what this modbot reads ({FORMAT})"
                + (": upgrade modbot" if newer.startswith("newer") else "")
            )
        raise FeedMalformed(f"'format' is {str(version)[:60]!r}, not {FORMAT!r}")
    unknown = sorted(set(data) - set(_FEED_KEYS))
    missing = [k for k in _FEED_KEYS if k not in data]
    if unknown or missing:
        raise FeedMalformed(
            "the feed's fields: "
            + "; ".join(
                ([f"unknown {', '.join(map(repr, unknown))}"] if unknown else [])
                + ([f"missing {', '.join(map(repr, missing))}"] if missing else [])
            )
        )
    instance = data["instance"]
    try:
        _check_instance(instance)
    except ValueError as exc:
        raise FeedMalformed(f"the feed's {exc}") from None
    generated_at = _parse_time(data["generated_at"])
    entries = data["entries"]
    if not isinstance(entries, list):
        raise FeedMalformed("'entries' is not a list")
    if len(entries) > max_entries:
        raise FeedTooLarge(f"the feed has {len(entries):,} entries, over the {max_entries:,} limit")
    kept, ignored, seen = [], 0, set()
    plain, first_plain = 0, ""  # entries left out as a plain picture's; the first said
    skipped: Counter[str] = Counter()
    for number, raw in enumerate(entries, start=1):
        entry = _entry_from_json(raw, number)
        if isinstance(entry, str):  # a kind a newer modbot publishes: the rest still counts
            skipped[entry] += 1
            continue
        if (entry.kind, entry.hash) in seen:
            raise FeedMalformed(f"entry {number}: {entry.kind} {entry.hash} is in the feed twice")
        seen.add((entry.kind, entry.hash))
        if not entry.usable:
            ignored += 1
        elif why := entry.too_plain:
            # one such entry (a blank image's) removed and purged every plain picture
            plain += 1
            first_plain = first_plain or f"entry {number}, {entry.hash}: {why}"
        else:
            kept.append(entry)
    if plain:
        log.warning(
            "feed of %s: %d pHash %s left out, as a picture of one colour's: %s",
            instance,
            plain,
            "entry" if plain == 1 else "entries",
            first_plain,
        )
    if entries and sum(skipped.values()) == len(entries):
        n = len(entries)
        raise FeedUnknownKinds(
            f"none of its {n:,} {'entry' if n == 1 else 'entries'} is of a kind this modbot "
            f"knows ({_kinds_text(skipped.most_common(SKIPPED_KINDS_SAID), n)}): upgrade "
            "modbot, or ask its publisher"
        )
    return Feed(instance, generated_at, tuple(kept)), ignored, plain, skipped


def _kinds_text(counts: Iterable[tuple[str, int]], total: int) -> str:
    """``video_md5: 2, tmk: 1`` (and ``N others`` past those named)."""
    named = list(counts)
    text = ", ".join(f"{kind}: {n:,}" for kind, n in named)
    rest = total - sum(n for _, n in named)
    return f"{text}, {rest:,} of other kinds" if rest > 0 else text


def _entry_from_json(raw: Any, number: int) -> FeedEntry | str:
    """The entry, or the name of its kind when it is one this modbot does not know (the
    entry held to the format all the same: no field for a URL or a name)."""
    if not isinstance(raw, dict):
        raise FeedMalformed(f"entry {number} is not a JSON object")
    unknown = sorted(set(raw) - set(_ENTRY_KEYS))
    missing = [k for k in ("kind", "hash", "verdict", "label", "first_seen") if k not in raw]
    if unknown or missing:
        what = [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
        what += [f"missing {', '.join(map(repr, missing))}"] if missing else []
        raise FeedMalformed(f"entry {number}: " + "; ".join(what))
    seen = raw["first_seen"]
    if not isinstance(seen, str) or not _DATE.fullmatch(seen):
        raise FeedMalformed(f"entry {number}: first_seen {str(seen)[:40]!r} is not YYYY-MM-DD")
    try:
        first_seen = date.fromisoformat(seen)
    except ValueError as exc:  # a day that is not one (2026-02-30)
        raise FeedMalformed(f"entry {number}: {exc}") from None
    kind = raw["kind"]
    if isinstance(kind, str) and kind not in HASH_KINDS and _KIND.fullmatch(kind):
        _check_unknown_kind(raw, number)
        return kind
    try:
        return FeedEntry(
            raw["kind"] if isinstance(raw["kind"], str) else repr(raw["kind"]),
            raw["hash"] if isinstance(raw["hash"], str) else repr(raw["hash"]),
            raw["verdict"] if isinstance(raw["verdict"], str) else repr(raw["verdict"]),
            raw["label"],
            first_seen,
            raw.get("quality"),
        )
    except ValueError as exc:
        raise FeedMalformed(f"entry {number}: {exc}") from None


def _check_unknown_kind(raw: dict[str, Any], number: int) -> None:
    """An entry of a kind this modbot does not know, checked as far as the format goes
    without knowing the kind: hex, a verdict, a label, a date (checked by the caller:
    a real day), and a quality 0-100 if any. Malformed: `FeedMalformed` naming the field."""
    kind, value, verdict, label = raw["kind"], raw["hash"], raw["verdict"], raw["label"]
    quality = raw.get("quality")
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        why = f"hash: a {kind} hash is lower-case hex, not {str(value)[:40]!r}"
    elif verdict not in VERDICTS:
        why = f"verdict {str(verdict)[:40]!r} is not 'bad' or 'innocent'"
    elif not isinstance(label, str) or not _LABEL.fullmatch(label):
        why = f"label {str(label)[:60]!r}: {_LABEL_RULE}"
    elif quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
    ):
        why = f"quality {str(quality)[:20]} is not 0 to 100"
    else:
        return
    raise FeedMalformed(f"entry {number}: {why}")


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise FeedMalformed(
            f"generated_at {str(value)[:40]!r} is not a UTC time like 2026-12-01T06:00:00Z"
        )
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise FeedMalformed(f"generated_at {value!r} is not a real time") from None


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} hours"
    return f"{max(seconds // 60, 0)} minutes"


def check_times(
    generated_at: datetime,
    accepted_at: datetime | None,
    max_age: timedelta | None,
    now: datetime,
) -> None:
    when = _time_text(generated_at)
    if generated_at > now + CLOCK_SKEW:
        raise FeedStale(
            f"the feed says it was generated at {when}, {_age(generated_at - now)} from now: "
            "the publisher's clock or this machine's is wrong"
        )
    if accepted_at is not None and generated_at < accepted_at:
        raise FeedRollback(
            f"the feed was generated at {when}, before the copy already accepted "
            f"({_time_text(accepted_at)}): an old copy served again; the newer one is kept"
        )
    if max_age is not None and now - generated_at > max_age:
        raise FeedStale(
            f"the feed was generated at {when}, {_age(now - generated_at)} ago, over the "
            f"{_age(max_age)} a feed may be old: the publisher has stopped updating it"
        )
