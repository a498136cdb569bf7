"""Publishing what this instance's admins confirmed: `confirm` (an admin's verdict on a
recorded decision's file) and `publish` (the signed feed of every confirmed file).

The classifier alone never publishes anything: only a file an admin confirmed, with the
verdict and label the admin gave, goes into the feed. A confirmation holds the hashes
modbot recorded for the file (``image.hashes`` of its decisions: the SHA-256 always, the
other kinds a configured list or feed needed) and, when the admin passes the file itself
(``image``), every kind computed from it. A PDQ hash is published with its quality, so
it needs the file: a recorded PDQ carries no quality. See docs/hash-sharing.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from modbot.errors import ModbotError
from modbot.feeds import (
    CLOCK_SKEW,
    VERDICTS,
    FeedEntry,
    load_private_key,
    make_feed,
    published_at,
    published_entries,
    publishing,
    write_feed,
)
from modbot.hashes import HASH_KINDS, Digest, compute_all
from modbot.store import Store

__all__ = ["ConfirmError", "PublishRefused", "Published", "confirm", "publish"]


class ConfirmError(ModbotError, ValueError):
    """A confirmation that cannot be made as asked; the message says why."""


class PublishRefused(ModbotError):
    """A feed not written: it would have replaced a published one with none of its
    entries (`allow_empty` to do that on purpose); the message says why."""


def confirm(
    store: Store,
    *,
    sha256: str | None = None,
    decision_id: int | None = None,
    verdict: str | None,
    label: str = "",
    image: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record an admin's verdict (``bad``/``innocent``; None withdraws it) on the file
    of a recorded decision, found by its SHA-256 or by the decision's id. Returns the
    confirmation (``sha256``, ``verdict``, ``label``, ``hashes``: kind ->
    {hash, quality}, ``first_seen``, ``decisions``)."""
    if (sha256 is None) == (decision_id is None):
        raise ConfirmError("name the file by its SHA-256 or by a decision id (one of them)")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
    records = store.decision_records(sha256=sha256, decision_id=decision_id)
    records = [(i, r) for i, r in records if (r.get("image") or {}).get("sha256")]
    if decision_id is not None:
        if not records:
            raise ConfirmError(f"no decision {decision_id} on a downloaded image in the state")
        sha256 = records[0][1]["image"]["sha256"]
        records = store.decision_records(sha256=sha256)
    if not records:
        raise ConfirmError(
            f"no decision on a file with SHA-256 {sha256} in the state: modbot confirms "
            "only files it has seen (see `modbot report`)"
        )
    assert sha256 is not None
    if verdict is None:
        store.set_confirmed(sha256, None)
        return {"sha256": sha256, "verdict": None, "decisions": [i for i, _ in records]}
    if verdict not in VERDICTS:
        raise ConfirmError(f"a verdict is 'bad' or 'innocent', not {verdict!r}")
    hashes: dict[str, dict[str, Any]] = {}
    for _, record in records:
        for kind, value in ((record.get("image") or {}).get("hashes") or {}).items():
            if kind in HASH_KINDS:
                hashes[kind] = {"hash": value, "quality": None}
    hashes["sha256"] = {"hash": sha256, "quality": None}
    if image is not None:
        if hashlib.sha256(image).hexdigest() != sha256:
            raise ConfirmError(
                f"that file is not the one decided on (its SHA-256 is not {sha256}): "
                "pass the very file modbot downloaded"
            )
        try:
            digests = compute_all(image)
        except MemoryError as exc:
            # says nothing of the file (compute_all raises it): a confirmation without
            # the hashes asked for would be published as if whole, so none is made
            said = f"MemoryError: {exc}" if str(exc) else "MemoryError"
            raise ConfirmError(
                f"out of memory while computing the file's hashes ({said}): "
                "nothing was recorded or changed; try again when more memory is free (or "
                "confirm without --image: the hashes modbot recorded, a PDQ without the "
                "quality publishing needs)"
            ) from None
        for kind, digest in digests.items():
            if isinstance(digest, Digest):
                hashes[kind] = {"hash": digest.hex, "quality": digest.quality}
    first_seen = min(r["decided_at"] for _, r in records)[:10]
    entry = {
        "verdict": verdict,
        "label": label or ("abuse" if verdict == "bad" else "false-positive"),
        "hashes": hashes,
        "first_seen": first_seen,
        "confirmed_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision_id": records[-1][0] if decision_id is None else decision_id,
    }
    try:  # the feed's rules for a label, checked now rather than at publishing
        FeedEntry("sha256", sha256, verdict, entry["label"], date.fromisoformat(first_seen))
    except ValueError as exc:
        raise ConfirmError(str(exc)) from None
    store.set_confirmed(sha256, entry)
    return {"sha256": sha256, **entry, "decisions": [i for i, _ in records]}


@dataclass
class Published:
    """What `publish` wrote: the files, the entries, and the hashes left out (why)."""

    feed_path: Path
    signature_path: Path
    entries: int
    left_out: list[tuple[str, str, str]] = field(default_factory=list)


def _entries(
    store: Store, kinds: Sequence[str] | None
) -> tuple[list[FeedEntry], list[tuple[str, str, str]]]:
    """The feed's entries from every confirmed file, and the hashes left out (why)."""
    entries: list[FeedEntry] = []
    left_out: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    confirmed = store.confirmed()
    # A hash two files share (a perceptual one) whose files the admin judged both bad
    # and innocent says neither: published either way, a subscriber would spare near
    # copies of a file confirmed bad, or act on copies of one confirmed innocent.
    verdicts: dict[tuple[str, str], set[str]] = {}
    for c in confirmed:
        for kind, h in c["hashes"].items():
            verdicts.setdefault((kind, h["hash"]), set()).add(c["verdict"])
    # So does a perceptual hash within the distance subscribers match a feed's entries
    # at (the kind's default: `FeedList.entry`) of a file's confirmed the other way
    # (published or not): an allow-list subscriber would spare the file confirmed bad.
    near = _near_other_verdict(verdicts)
    # (confirmation, kind, hash, quality) of each hash that may go out
    candidates: list[tuple[dict[str, Any], str, str, int | None]] = []
    for c in confirmed:
        for kind, h in sorted(c["hashes"].items()):
            if kinds is not None and kind not in kinds:
                continue
            quality = h.get("quality")
            if kind == "pdq" and quality is None:
                left_out.append(
                    (kind, h["hash"], "no quality recorded: confirm with --image FILE to add it")
                )
                continue
            if kind == "pdq" and not HASH_KINDS["pdq"].entry_usable(quality):
                left_out.append((kind, h["hash"], f"quality {quality} is below 50"))
                continue
            plain = HASH_KINDS[kind].too_plain(h["hash"], HASH_KINDS[kind].max_distance or None)
            if plain is not None:  # a blank image's pHash: it would match every plain one
                left_out.append((kind, h["hash"], plain))
                continue
            weak = HASH_KINDS[kind].cannot_spare() if c["verdict"] == "innocent" else None
            if weak is not None:  # subscribers leave it out: its colliding twin is spared
                left_out.append((kind, h["hash"], weak))
                continue
            candidates.append((c, kind, h["hash"], quality))
    for c, kind, value, quality in candidates:
        if len(verdicts[(kind, value)]) > 1:
            if (kind, value) not in seen:
                seen.add((kind, value))
                left_out.append(
                    (kind, value, "confirmed files with this hash are both bad and innocent")
                )
            continue
        other = "innocent" if c["verdict"] == "bad" else "bad"
        hit = None
        if not HASH_KINDS[kind].exact:
            hit = near.get((kind, HASH_KINDS[kind].parse(value), c["verdict"]))
        if hit is not None:
            if (kind, value) not in seen:
                seen.add((kind, value))
                left_out.append(
                    (
                        kind,
                        value,
                        f"{hit[0]} bits from {hit[1]}, a file confirmed {other}: "
                        f"subscribers match within {HASH_KINDS[kind].default_distance} bits, "
                        f"so this {c['verdict']} entry would stand for that file too",
                    )
                )
            continue
        if (kind, value) in seen:  # two files with the same PDQ: the first one
            left_out.append((kind, value, "another confirmed file has this hash"))
            continue
        seen.add((kind, value))
        entries.append(
            FeedEntry(
                kind,
                value,
                c["verdict"],
                c["label"],
                date.fromisoformat(c["first_seen"]),
                quality if kind == "pdq" else None,
            )
        )
    return entries, left_out


def _near_other_verdict(
    verdicts: dict[tuple[str, str], set[str]],
) -> dict[tuple[str, str, str], tuple[int, str]]:
    """Each perceptual hash of a confirmed file within its kind's default distance of one
    confirmed the other way: (kind, hash, verdict) -> (bits apart, the nearest such
    hash). Each hash of the smaller side is compared with the whole other side at once
    (a publisher's thousands of confirmations: a fraction of a second)."""
    sides: dict[tuple[str, str], list[str]] = {}
    for (kind, value), said in verdicts.items():
        if kind in HASH_KINDS and not HASH_KINDS[kind].exact:
            for verdict in said:
                sides.setdefault((kind, verdict), []).append(HASH_KINDS[kind].parse(value))
    found: dict[tuple[str, str, str], tuple[int, str]] = {}
    for kind in {kind for kind, _ in sides}:
        bad, innocent = sides.get((kind, "bad"), []), sides.get((kind, "innocent"), [])
        if not bad or not innocent:
            continue
        (few, few_verdict), (many, many_verdict) = sorted(
            ((bad, "bad"), (innocent, "innocent")), key=lambda side: len(side[0])
        )
        # one row a 64-bit word of the hashes (a PDQ has 4): each compared as a whole row
        words = np.frombuffer(bytes.fromhex("".join(many)), ">u8").reshape(len(many), -1).T
        words = np.ascontiguousarray(words, dtype=np.uint64)
        limit = HASH_KINDS[kind].default_distance
        best = np.full(len(many), limit + 1, dtype=np.int64)
        nearest = np.zeros(len(many), dtype=np.int64)
        for i, value in enumerate(few):
            query = np.frombuffer(bytes.fromhex(value), ">u8").astype(np.uint64)
            bits = np.bitwise_count(words[0] ^ query[0]).astype(np.int64)
            for row, word in zip(words[1:], query[1:], strict=True):
                bits += np.bitwise_count(row ^ word)
            j = int(bits.argmin())
            if bits[j] <= limit:
                found[(kind, value, few_verdict)] = (int(bits[j]), many[j])
            closer = bits < best
            best[closer], nearest[closer] = bits[closer], i
        for k in map(int, np.flatnonzero(best <= limit)):
            found[(kind, many[k], many_verdict)] = (int(best[k]), few[int(nearest[k])])
    return found


def _dated_after(out: str | Path, now: datetime | None) -> datetime:
    """When the feed to be written at ``out`` is generated: ``now``, but at least a
    second after the feed there (feeds are dated to the second, and a subscriber keeps
    the copy it has over one of the same date: a second publish in the same second
    would be ignored). Not past what subscribers take as their clock's skew: a feed
    there dated further ahead (a clock set back since) is left behind."""
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    previous = published_at(out)
    if previous is not None and when <= previous < when + CLOCK_SKEW:
        return previous + timedelta(seconds=1)
    return when


def publish(
    store: Store,
    *,
    instance: str,
    key_path: str | Path,
    out: str | Path,
    kinds: Sequence[str] | None = None,
    now: datetime | None = None,
    allow_empty: bool = False,
) -> Published:
    """Write the signed feed of every confirmed file (``kinds``: only these kinds of
    hash; default all) to ``out`` and ``out.sig``. A feed with no entries replaces one
    with entries only when ``allow_empty`` (`PublishRefused`): being newer, it makes every
    subscriber drop every entry."""
    key = load_private_key(key_path)
    # one publisher at a time (``feeds.publishing``): the confirmations read, what is
    # published looked at, the feed dated and both files written under the lock, so a
    # second publisher's pair follows whole, dated after the first (never older:
    # subscribers refuse a rollback)
    with publishing(out):
        entries, left_out = _entries(store, kinds)
        feed = make_feed(instance, entries, generated_at=_dated_after(out, now))
        if not feed.entries and not allow_empty and (held := published_entries(out)):
            which = f"of kind {', '.join(kinds)} " if kinds is not None else ""
            raise PublishRefused(
                f"not written: {out} holds {held} {'entry' if held == 1 else 'entries'} and "
                f"the new feed would hold none (no confirmed hash {which}to publish); "
                "subscribers would drop them all. If that is what you mean (every "
                "confirmation withdrawn), publish again with --allow-empty"
            )
        feed_path, sig_path = write_feed(out, feed, key)
    return Published(feed_path, sig_path, len(feed.entries), left_out)
