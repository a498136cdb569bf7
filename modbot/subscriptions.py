"""Subscribed hash feeds (``feeds:`` in rules.yaml): fetched on a schedule, verified,
the last good copy kept, and used as the subscription says.

- ``use: known-bad``: the feed's ``bad`` entries are a hash list by the feed's name: a
  rule acts on it with ``if: {hash_list: NAME}``, like a local list.
- ``use: allow-list``: its ``innocent`` entries exempt an image, as a list named in
  ``exempt.hash_lists`` does.
- ``use: classified``: the peer's verdict on the very same file (an exact kind: sha256,
  md5, sha1) replaces the classifier's: the model does not run on it; a ``bad`` entry
  gives the image the entry's label (rules on that label act), an ``innocent`` one no
  label. A perceptual match is a different file and is never taken as a verdict.

An ``innocent`` MD5 or SHA-1 entry is taken by neither (``FeedEntry.weak_innocent``): a
file made to collide with it would be spared; left out as a copy is loaded, and said.

``refresh`` runs before each one-shot cycle, and in the background for the daemon
(``FeedRefresher``: its cycles never wait on a feed's host) and the upload gate (a
thread of its own): a feed whose ``every`` has passed is fetched with
the safe fetcher (``fetch:`` limits, no private address unless in ``fetch.allow_hosts``;
a conditional request, so an unchanged feed costs a 304) and verified (``modbot.feeds``:
the configured key, the instance, its age, no rollback). A feed that is refused is not
used; the last good copy is, and the refusal goes to ``warn`` (the pipeline logs it,
puts it in the run's warnings and tells the admins once) at each try, ``every`` apart
(with no copy yet too: the try is kept in the state), until the feed verifies again.
The last good copy is kept in the state file, so a restart uses it before the first
fetch. An ``allow-list`` or ``classified`` copy older than ``max_age`` matches nothing
(``FeedList.lapsed``): it would make the bot do less on a word nobody renews.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from modbot.config.units import format_duration
from modbot.feeds import (
    MAX_FEED_BYTES,
    MAX_SIGNATURE_BYTES,
    FeedChanged,
    FeedEntry,
    FeedError,
    FeedStale,
    VerifiedFeed,
    check_times,
    signature_url,
    verify_feed,
)
from modbot.fetch import (
    Fetcher,
    FetchLimits,
    FetchSkipped,
    FetchTimeout,
    PrivateAddress,
    TooLarge,
    redact,
)
from modbot.hashes import HASH_KINDS, HashIndex

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from modbot.config.policy import Policy
    from modbot.config.schema import FeedSettings, FetchSettings
    from modbot.store import Store

__all__ = [
    "LAPSES",
    "FeedList",
    "FeedRefresher",
    "feed_limits",
    "load_kept",
    "peer_verdict",
    "refresh",
    "refusal",
]

log = logging.getLogger(__name__)

FEED_TOTAL_TIMEOUT = 120.0  # seconds a feed's download may take in all, at least
MAX_REFUSAL_CHARS = 500  # of a refusal's message kept in the state
STOP_CHECK_S = 0.2  # how often a download in the background looks whether to stop
# Kilobytes where a signature (four short lines) should be: mostly a web server's own page
# for a file it does not have (a catch-all, a login page), answered 200
SIGNATURE_NOT_THERE = (
    f"the signature file is over {MAX_SIGNATURE_BYTES:,} bytes: not a modbot feed signature, "
    "which is 4 short lines; check that the publisher serves the signature beside the feed, "
    "at this address (a web server may answer a page of its own for a file it does not have)"
)
_VERDICT_USED = {"known-bad": "bad", "allow-list": "innocent", "classified": None}
# The uses whose copy, older than max_age, is not used (``FeedList``), and what that means
LAPSES = {
    "allow-list": "an allow-list that old exempts nothing",
    "classified": "its verdicts that old stand for nothing (the classifier decides)",
}


class FeedList:
    """A subscribed feed as the rules see it: like a ``HashList`` (``kinds``,
    ``lookup``, ``describe``, ``len``), over the entries of the last good copy that its
    ``use`` takes.

    A copy of an ``allow-list`` or ``classified`` feed matches nothing once it is older
    than ``max_age`` (``lapsed``): it makes the bot do less (spares a file, or stands
    for the classifier), on the word of a publisher who no longer renews it, so the bot
    does what it would without the feed until a newer copy comes. A ``known-bad`` copy
    that old stays in use: its entries make the bot do more, and still hold."""

    def __init__(self, name: str, settings: FeedSettings) -> None:
        self.name, self.settings = name, settings
        self.verified: VerifiedFeed | None = None
        # the indexes of the copy in use, and when it lapses (a Unix time; None: never),
        # replaced together: the gate's feed thread may load a copy while one is looked up
        self._using: tuple[dict[str, HashIndex[FeedEntry]], float | None] = ({}, None)
        # fetched (or tried) since these settings were read: a kept copy their key does
        # not verify (the publisher's new key) waits for no `every` the first time
        self.tried = False
        # the cycle's thread (copies kept in the state) and the feeds' thread (a fetched
        # one) may both load a copy: one at a time, never an older over a newer
        self._loading = threading.Lock()

    @property
    def use(self) -> str:
        return self.settings.use

    def load(self, verified: VerifiedFeed) -> None:
        """Use this verified copy from now on, unless the copy in use is newer."""
        with self._loading:
            in_use = self.verified
            if in_use is not None and verified.feed.generated_at < in_use.feed.generated_at:
                return
            self._load(verified)

    def _load(self, verified: VerifiedFeed) -> None:
        verdict = _VERDICT_USED[self.use]
        indexes = {}
        for kind in {e.kind for e in verified.feed.entries}:
            if self.use == "classified" and not HASH_KINDS[kind].exact:
                continue  # a near match is another file: never the peer's verdict on it
            taken = verdict
            if verdict != "bad" and not HASH_KINDS[kind].spares:
                # innocent by an MD5 or a SHA-1: never (`HashKind.cannot_spare`)
                if verdict == "innocent":
                    continue
                taken = "bad"
            index = verified.feed.index(kind, taken)
            if len(index):
                indexes[kind] = index
        if self.use != "known-bad" and (weak := verified.weak_innocent):
            first = next(e for e in verified.feed.entries if e.weak_innocent)
            log.warning(
                "feed %s: %d innocent MD5/SHA-1 %s left out, as a collision would spare "
                "another file: %s %s: %s",
                self.name,
                weak,
                "entry" if weak == 1 else "entries",
                first.kind,
                first.hash,
                first.weak_innocent,
            )
        lapses_at = None
        if self.use in LAPSES:
            lapses_at = (verified.feed.generated_at + self.settings.max_age).timestamp()
        self.verified, self._using = verified, (indexes, lapses_at)

    @property
    def _indexes(self) -> dict[str, HashIndex[FeedEntry]]:
        return self._using[0]

    def lapsed(self, now: float | None = None) -> bool:
        """Whether the copy in use is an ``allow-list`` or ``classified`` one older than
        ``max_age``, and so matches nothing (see the class)."""
        lapses_at = self._using[1]
        return lapses_at is not None and (time.time() if now is None else now) > lapses_at

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of hash an image needs for this feed (those its copy holds)."""
        return frozenset(self._indexes)

    def __len__(self) -> int:
        return sum(len(i) for i in self._indexes.values())

    def describe(self) -> str:
        if self.verified is None:
            return f"feed {self.use}, no copy yet"
        said = f"feed {self.use}, {len(self)} entries of {self.verified.feed.generated_at:%Y-%m-%d}"
        return f"{said}, past max_age: not used" if self.lapsed() else said

    def entry(self, hashes: Mapping[str, str | None]) -> tuple[FeedEntry, str] | None:
        """The entry the image with these ``hashes`` matches, and how (``"sha256"``,
        ``"pdq distance 4"``), exact kinds first."""
        indexes, lapses_at = self._using  # one copy: the gate's feed thread may load another
        if lapses_at is not None and time.time() > lapses_at:
            return None  # an allow-list or classified copy past max_age: not used (class)
        for kind in sorted(indexes, key=lambda k: not HASH_KINDS[k].exact):
            value = hashes.get(kind)
            if not value:
                continue
            found = indexes[kind].lookup(value)
            if found is not None:
                how = kind if HASH_KINDS[kind].exact else f"{kind} distance {found.distance}"
                return found.payload, how
        return None

    def lookup(self, hashes: Mapping[str, str | None]) -> str | None:
        found = self.entry(hashes)
        return None if found is None else f"feed {found[1]}"


def peer_verdict(
    policy: Policy, hashes: Mapping[str, str], *, incoming: bool | None = None
) -> dict[str, Any] | None:
    """The verdict the ``use: classified`` feeds give the very file with these hashes
    (as ``Verdict.to_dict()``: labels, no scores), or None: the classifier decides.

    It stands for the classifier's only where the rules can act on it as they would on
    the classifier's, so that a feed never makes the bot do less than it would without
    it: every classified feed holding the file says the same (a ``bad`` and an
    ``innocent`` between them: the classifier decides, not their order in rules.yaml),
    and a ``bad`` one's label is one a rule's ``labels:`` names (``modbot confirm
    --bad`` labels ``abuse`` unless told, which no rule can name: the file is classified
    here). ``incoming``: the file is the upload gate's (True) or in Lemmy's items
    (False), and only the rules of that side count (``type: incoming`` rules and the
    others never meet each other's files: a label only the gate's rules name, taken in a
    post, left the post's image unclassified with no rule to act on it); None: any rule
    (as before callers said which)."""
    found = []
    for name, fl in policy.feeds.items():
        if fl.use == "classified" and (hit := fl.entry(hashes)) is not None:
            found.append((name, *hit))
    if not found:
        return None
    if len({entry.verdict for _, entry, _ in found}) > 1:
        log.debug("peers disagree on sha256 %s: the classifier decides", hashes.get("sha256"))
        return None
    name, entry, how = found[0]
    labels = list(dict.fromkeys(e.label for _, e, _ in found)) if entry.verdict == "bad" else []
    named = {
        label
        for rule in policy.rules
        if incoming is None or incoming == ("incoming" in (rule.if_.type or ()))
        for label in rule.if_.labels or ()
    }
    if labels and not named.intersection(labels):
        log.debug(
            "feed %s: sha256 %s is %s by its label %s, which no rule names: the classifier decides",
            name,
            hashes.get("sha256"),
            entry.verdict,
            ", ".join(labels),
        )
        return None
    return {
        "labels": labels,
        "scores": {},
        "model": f"feed {name}",
        "random_weights": False,
        "concept_version": None,
        "unreadable": None,
        "peer": {"feed": name, "verdict": entry.verdict, "label": entry.label, "match": how},
    }


def refresh(
    store: Store,
    policy: Policy,
    *,
    warn: Callable[[str], None],
    allowed_hosts: list[str] | None = None,
    now: datetime | None = None,
    resolver: Any = None,
    stop: threading.Event | None = None,
) -> None:
    """Bring every subscribed feed up to date: the last good copy kept in the state (see
    ``load_kept``), then a fetch of each feed whose ``every`` has passed since the copy
    was fetched, by this process or another sharing the state file (the bot and the
    upload gate). A refused feed is warned about (``warn``) and its last good copy kept;
    it is fetched again ``every`` later, also when it has no copy yet (the try is kept
    in the state; a subscription changed in rules.yaml is fetched at once). ``stop``
    set: a download in flight is dropped at once and nothing is recorded of it (the
    next run fetches it again). Done in the caller's thread: a daemon's cycle leaves it
    to a `FeedRefresher`, so that it never waits on a feed's host."""
    for name, fl in policy.feeds.items():
        if stop is not None and stop.is_set():
            return
        copy = store.feed_copy(name, body=False)
        _load_kept(fl, store, copy, warn)
        if not _due(store, fl, copy):
            continue
        fl.tried = True
        # a one-shot run waits here before it decides anything: said, with its bound
        log.info(
            "feed %s: fetching %s (up to %g s)",
            name,
            redact(fl.settings.url),
            feed_limits(policy.fetch).total_timeout,
        )
        try:
            fresh = _fetch(fl, policy, store, copy, allowed_hosts or [], resolver, now, stop)
        except _Stopped:
            return
        except (FeedError, FetchSkipped) as refused:
            exc = _for_feeds(refused, fl.settings.url)
            kept = "no copy of it is used"
            if fl.verified is not None:
                when = f"{fl.verified.feed.generated_at:%Y-%m-%d %H:%M} UTC"
                kept = f"still using the copy of {when}"
                if isinstance(exc, _InUseStale):  # the refused copy is that one: it stays
                    kept = (
                        f"still using this copy of {when}, as nothing newer came: its "
                        "entries count until one does"
                    )
                if fl.lapsed(None if now is None else now.timestamp()):
                    # an allow-list or classified copy past max_age: not used, said so
                    this = "this copy" if isinstance(exc, _InUseStale) else "the copy"
                    kept = (
                        f"{this} of {when} is past max_age ({format_duration(fl.settings.max_age)}) "
                        f"and not used: {LAPSES[fl.use]}, until a newer copy comes"
                    )
            # logged and sent to the admins: no password or token of a private feed's URL
            warn(f"feed {name!r} ({redact(fl.settings.url)}) refused: {exc}; {kept}")
            # tried: the next try is a period later (with no copy yet too: a slow or
            # hostile host would otherwise hold up every cycle by the download's
            # deadline); why, kept for `modbot doctor` until the feed verifies again
            _note_refusal(store, fl, exc, copy is not None)
            continue
        if fresh is None:  # not modified
            assert copy is not None
            with store.transaction():
                store.feed_fetched(name, time.time())
                store.set_cursor(_refused_cursor(name), None)
            continue
        verified, body, signature, etag, modified = fresh
        before = len(fl) if fl.verified is not None else None
        replaced = fl.verified.feed.generated_at if fl.verified is not None else None
        fl.load(verified)
        # the bot and the gate share the state: one that kept a newer copy while this one
        # fetched keeps it (checked and written in one transaction): never back to older
        with store.transaction():
            now_kept = store.feed_copy(name, body=False)
            newer = _generated_after(now_kept, verified.feed.generated_at)
            if not newer:
                store.keep_feed_copy(
                    name,
                    {
                        "body": body,
                        "signature": signature,
                        "generated_at": verified.feed.generated_at.isoformat(),
                        "fetched_at": time.time(),
                        "etag": etag,
                        "last_modified": modified,
                    },
                )
            store.set_cursor(_refused_cursor(name), None)
        if newer:
            _load_kept(fl, store, now_kept)
        if replaced is not None:  # its age, not checked by ``_fetch``: said, not refused
            try:
                at = now or datetime.now(UTC)
                check_times(verified.feed.generated_at, None, fl.settings.max_age, at)
            except FeedStale as stale:
                used = f"newer than the copy of {replaced:%Y-%m-%d %H:%M} UTC it replaces"
                if fl.lapsed(at.timestamp()):
                    used = f"{used}, but not used: {LAPSES[fl.use]}, until a newer copy comes"
                else:
                    used = f"used all the same, {used}"
                warn(f"feed {name!r} ({redact(fl.settings.url)}): {stale}; {used}")
        _say_if_shrunk(fl, before, warn)
        if before is None:
            _say_if_none_used(fl, warn)
        # dropped, not refused (docs/hash-sharing.md), and said: the feed holds fewer here
        dropped = f"; {verified.dropped_note}" if verified.dropped_note else ""
        log.info("feed %s: %s%s", name, fl.describe(), dropped)
        if verified.skipped:  # a newer publisher's kinds: said once a copy, not refused
            log.warning(
                "feed %s: %s skipped: upgrade modbot to use them; the other entries are used",
                name,
                verified.skipped_note,
            )


def _for_feeds(exc: Exception, url: str) -> Exception:
    """A fetcher's refusal of feed ``url`` with the advice a feed needs: the fetcher's
    own is for images ("an image server you trust"), where a feed's private host is
    allowed in ``fetch.allow_hosts`` by its host and port. A private address the feed's
    host redirected to is said to be one: allowing it lets a peer's redirect into the
    admin's own network."""
    if not isinstance(exc, PrivateAddress):
        return exc
    why, advice = private_feed_advice(exc, url, "add {entry}")
    return PrivateAddress(exc.url, f"{why}{advice} to fetch.allow_hosts in rules.yaml")


def private_feed_advice(exc: PrivateAddress, feed: str, allow: str) -> tuple[str, str]:
    """What the fetcher said of the private address feed URL ``feed`` was refused at
    (``exc``), without its advice for images; and the advice for a feed, to follow it:
    ``allow`` with the entry to allow in place of ``{entry}`` (``"add {entry}"``: the
    bot's ``fetch.allow_hosts``; ``"give --allow-host {entry}"``: ``modbot feed
    verify``), an address the feed's host redirected to said to be one."""
    why = exc.message.split("; add it to the allowed hosts", 1)[0]
    entry, redirected_by = private_feed_entry(exc.url, feed)
    allowed = allow.format(entry=entry)
    if redirected_by is None:
        return why, f"; if this feed's host is one you trust, {allowed}"
    return why, (
        f", where {redirected_by} redirected the feed; if that is the publisher's own host "
        f"(ask them), {allowed}"
    )


def private_feed_entry(refused: str, feed: str) -> tuple[str, str | None]:
    """The ``fetch.allow_hosts`` entry (``--allow-host`` of ``modbot feed verify``) of
    the private address ``refused`` that feed URL ``feed`` was refused at, and the
    feed's host when that address is one it redirected to (None: the feed's own)."""
    entry = _host_entry(refused)
    return entry, None if _server(refused) == _server(feed) else _host_entry(feed)


def _host_entry(url: str) -> str:
    """The host and port of ``url`` as ``fetch.allow_hosts`` takes them."""
    _, host, port = _host_port(url)
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _server(url: str) -> tuple[str, int | None]:
    """The host and port ``url`` is fetched from (the scheme's port when it names none)."""
    scheme, host, port = _host_port(url)
    return host, port or {"http": 80, "https": 443}.get(scheme)


def _host_port(url: str) -> tuple[str, str, int | None]:
    """The scheme, host and port ``url`` names (None: no port, or not a number)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, parts.hostname or "", port


def _due(store: Store, fl: FeedList, copy: dict[str, Any] | None) -> bool:
    """Whether feed ``fl`` is to be fetched now: ``every`` has passed since its copy
    ``copy`` was fetched (by any process on the state), or since it was refused with
    no copy kept; or rules.yaml changed the subscription since."""
    every = fl.settings.every.total_seconds()
    if (
        copy is not None
        and (fl.verified is not None or fl.tried)
        and time.time() - copy["fetched_at"] < every
    ):
        # refused, then the admin changed the subscription (a moved feed's new URL):
        # its copy still verifies, but the fix is tried at once, not `every` later
        return not fl.tried and _changed_since_refused(store, fl)
    refused = _refused_at(store, fl) if copy is None else None
    # no copy yet, refused less than `every` ago: not before every cycle
    return refused is None or time.time() - refused >= every


class _Stopped(Exception):
    """The feed's download was dropped: its process is stopping."""


class _InUseStale(FeedStale):
    """The feed served is the copy in use (not modified, or the same file again), and
    it is past ``max_age`` (or dated ahead): refused, and still used, nothing newer
    having come."""


class FeedRefresher:
    """The subscribed feeds fetched in one background thread, so that a cycle never
    waits on a feed's host (a slow or trickling one holds a download up to its
    deadline, minutes): the cycle uses the copies in use and the newer ones kept in the
    state (``start``, state only), and a copy fetched meanwhile from the moment it is
    verified. One fetch at a time: a cycle that finds one still running starts none.
    The refusals and warnings it says wait in ``take_warnings`` for the cycle's thread
    (the log, the run's warnings, the admins' message once)."""

    def __init__(
        self, store: Store, *, allowed_hosts: list[str] | None = None, resolver: Any = None
    ) -> None:
        self.store, self.allowed_hosts, self.resolver = store, allowed_hosts, resolver
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._said: list[str] = []
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """A fetch is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, policy: Policy) -> None:
        """At a cycle's start: the copies kept in the state that are newer than those in
        use (another process fetched them), then a fetch of the feeds that are due, in
        the background, unless one is running or the refresher is closed."""
        if not policy.feeds or self._stop.is_set():
            return
        # as ``load_kept``, each copy's dates read once: for it and for ``_due``
        copies = {name: self.store.feed_copy(name, body=False) for name in policy.feeds}
        for name, fl in policy.feeds.items():
            _load_kept(fl, self.store, copies[name])
        if self.busy:
            return
        due = [name for name, fl in policy.feeds.items() if _due(self.store, fl, copies[name])]
        if not due:
            return
        log.debug("fetching the feeds %s in the background", ", ".join(due))
        self._thread = threading.Thread(
            target=self._run, args=(policy,), name="modbot-feeds", daemon=True
        )
        self._thread.start()

    def _run(self, policy: Policy) -> None:
        try:
            refresh(
                self.store,
                policy,
                warn=self._say,
                allowed_hosts=self.allowed_hosts,
                resolver=self.resolver,
                stop=self._stop,
            )
        except Exception:  # tried again at its next time; the copies in use stay
            if not self._stop.is_set():
                log.exception("the subscribed hash feeds could not be refreshed")

    def _say(self, message: str) -> None:
        with self._lock:
            self._said.append(message)

    def take_warnings(self) -> list[str]:
        """What the fetches said since the last call (refusals, a copy far smaller)."""
        with self._lock:
            said, self._said = self._said, []
        return said

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the fetch running, if any, to end; whether it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def close(self) -> None:
        """Drop a download in flight (nothing of it is recorded: the next run fetches it
        again) and start no other."""
        self._stop.set()
        self.wait(10)


def _say_if_shrunk(fl: FeedList, before: int | None, warn: Callable[[str], None]) -> None:
    """Warn when the copy now in use holds none, or under half (10 or more fewer), of
    the entries the one before held for this subscription: a publisher that withdrew
    them, or lost its state, turns the protection off, and is not refused for it."""
    after = len(fl)
    if before is None or fl.verified is None or after >= before:
        return
    if after == 0 or (after < before / 2 and before - after >= 10):
        warn(
            f"feed {fl.name!r}: its new copy ({fl.verified.feed.generated_at:%Y-%m-%d %H:%M} "
            f"UTC) holds {after:,} entries used here ({fl.use}), the copy before {before:,}: "
            "its publisher withdrew them, or lost them; it is used as it is, ask them if "
            "that is unexpected"
        )


#: which entries of a feed each ``use`` takes, as said when it takes none
_USE_TAKES = {
    "known-bad": "its 'bad' entries",
    "allow-list": "its 'innocent' entries",
    "classified": "its entries of an exact kind (sha256, md5, sha1)",
}


def _say_if_none_used(fl: FeedList, warn: Callable[[str], None]) -> None:
    """Warn when the first copy of a subscription holds entries and none of them is one
    its ``use`` takes (a wrong ``use:``, a feed of other kinds): it protects nothing,
    and nothing else would say so (the copy before, none, held none either)."""
    verified = fl.verified
    if verified is None or len(fl):
        return
    # the entries dropped as the copy was loaded count too: it holds them, none is used
    n = len(verified.feed.entries) + verified.ignored + verified.plain
    if not n:
        return
    said = [verified.dropped_note] if verified.dropped_note else []
    if fl.use != "known-bad" and (weak := verified.weak_innocent):
        # the innocent entries it holds are MD5s or SHA-1s, which spare nothing (_load)
        said.append(
            f"{weak} innocent MD5/SHA-1 {'entry' if weak == 1 else 'entries'} not taken (a "
            "file made to collide with one would be spared; innocent is taken by SHA-256)"
        )
    dropped = f" ({'; '.join(said)})" if said else ""
    warn(
        f"feed {fl.name!r}: its copy ({verified.feed.generated_at:%Y-%m-%d %H:%M} UTC) holds "
        f"{n:,} {'entry' if n == 1 else 'entries'}, none of them used here{dropped}: use: "
        f"{fl.use} takes {_USE_TAKES[fl.use]}; check use: in rules.yaml, or ask its publisher"
    )


def _generated_after(kept: dict[str, Any] | None, moment: datetime) -> bool:
    """Whether the copy ``kept`` (its dates) was generated after ``moment``."""
    try:
        return kept is not None and datetime.fromisoformat(kept["generated_at"]) > moment
    except (KeyError, TypeError, ValueError):  # not one this code kept: replaced
        return False


def _refused_cursor(name: str) -> str:
    """The state's cursor holding when feed ``name``, with no copy kept, was refused."""
    return f"feed:{name}:refused"


def _fingerprint(fl: FeedList) -> str:
    """The subscription as rules.yaml says it (URL, key, instance), as a digest: the
    URL may hold a token, which the state file does not keep."""
    s = fl.settings
    text = "\n".join((s.url, s.key, s.publisher))
    return hashlib.sha256(text.encode()).hexdigest()


def _note_refusal(store: Store, fl: FeedList, exc: Exception, has_copy: bool) -> None:
    """Keep this try's refusal in the state (a cursor, JSON: when, the subscription's
    fingerprint, the reason's code and its message) and, with a copy kept, that the
    copy was checked: the next try is ``every`` later either way."""
    at = time.time()
    reason = str(getattr(exc, "reason", "error"))
    # the fetcher's message starts with its code and has the URL's secrets redacted
    why = str(exc) if str(exc).startswith(f"{reason}: ") else f"{reason}: {exc}"
    why = "".join(c if c.isprintable() else "?" for c in why)[:MAX_REFUSAL_CHARS]
    record = {"at": at, "subscription": _fingerprint(fl), "reason": reason, "why": why}
    with store.transaction():
        if has_copy:
            store.feed_fetched(fl.name, at)
        store.set_cursor(_refused_cursor(fl.name), json.dumps(record))


def refusal(store: Store, fl: FeedList) -> dict[str, Any] | None:
    """The last try's refusal of this subscription (``at``: a Unix time, ``reason``: a
    short code such as ``bad_signature`` or ``http_503``, ``why``: the message; a state
    from before reasons were kept has ``why`` None), kept until the feed verifies again;
    None when its last try was not refused, or rules.yaml changed the subscription
    since (a URL or key fixed: fetched at once)."""
    raw = store.get_cursor(_refused_cursor(fl.name))
    try:
        tried = json.loads(raw) if raw else None
        if not isinstance(tried, dict) or tried.get("subscription") != _fingerprint(fl):
            return None
        why, reason = tried.get("why"), tried.get("reason")
        return {
            "at": float(tried["at"]),
            "reason": reason if isinstance(reason, str) else None,
            "why": why if isinstance(why, str) else None,
        }
    except (KeyError, TypeError, ValueError):  # not one this code wrote
        return None


def _changed_since_refused(store: Store, fl: FeedList) -> bool:
    """Whether the last try was refused under another subscription than ``fl``'s:
    rules.yaml changed it since (see ``refusal``)."""
    raw = store.get_cursor(_refused_cursor(fl.name))
    try:
        tried = json.loads(raw) if raw else None
    except ValueError:  # not one this code wrote
        return False
    fingerprint = tried.get("subscription") if isinstance(tried, dict) else None
    return isinstance(fingerprint, str) and fingerprint != _fingerprint(fl)


def _refused_at(store: Store, fl: FeedList) -> float | None:
    """When this subscription was last refused (see ``refusal``), or None."""
    found = refusal(store, fl)
    return None if found is None else found["at"]


def load_kept(store: Store, policy: Policy) -> None:
    """Each subscribed feed's last good copy from the state file, without fetching: at a
    start, and whenever another process sharing the state file kept a newer one."""
    for name, fl in policy.feeds.items():
        _load_kept(fl, store, store.feed_copy(name, body=False))


def _load_kept(
    fl: FeedList,
    store: Store,
    kept: dict[str, Any] | None,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Use the copy kept in ``store`` (``kept``: its dates) when it is newer than the
    copy in use (or none is): its body is read only then. ``warn``: told when it holds
    far fewer entries than the copy in use (another process fetched it)."""
    if kept is None:
        return
    if fl.verified is not None and not _generated_after(kept, fl.verified.feed.generated_at):
        return  # not newer (or not one this code kept): ours stays
    copy = store.feed_copy(fl.name)
    if copy is None:  # removed meanwhile
        return
    before = len(fl) if fl.verified is not None else None
    try:  # verified when kept: its age is not held against it until a new one comes
        fl.load(
            verify_feed(
                copy["body"],
                copy["signature"],
                fl.settings.key,
                instance=fl.settings.publisher,
                max_age=None,
            )
        )
    except FeedError as exc:  # the key in rules.yaml changed since
        log.info("feed %s: the copy kept is not usable now: %s", fl.name, exc)
        return
    if warn is not None:
        _say_if_shrunk(fl, before, warn)


def feed_limits(f: FetchSettings | None = None) -> FetchLimits:
    """How a feed and its signature are downloaded, by the bot and the gate as by
    ``modbot feed verify``: ``fetch:``'s timeouts (default: its defaults), but 2
    minutes in all at least (a large feed on a slow link) and ``MAX_FEED_BYTES``."""
    if f is None:
        from modbot.config.schema import FetchSettings

        f = FetchSettings()
    return FetchLimits(
        max_bytes=MAX_FEED_BYTES,
        max_bytes_held=MAX_FEED_BYTES,
        connect_timeout=f.connect_timeout.total_seconds(),
        read_timeout=f.read_timeout.total_seconds(),
        total_timeout=max(f.total_timeout.total_seconds(), FEED_TOTAL_TIMEOUT),
        max_redirects=f.max_redirects,
        max_concurrency=2,
        per_host_concurrency=2,
    )


#: a feed fetched and verified: (the feed, its bytes, its signature's, ETag, Last-Modified)
Fetched = tuple[VerifiedFeed, bytes, bytes, str | None, str | None]


def _fetch(
    fl: FeedList,
    policy: Policy,
    store: Store,
    copy: dict[str, Any] | None,
    allowed_hosts: list[str],
    resolver: Any,
    now: datetime | None,
    stop: threading.Event | None = None,
) -> Fetched | None:
    """``fetch_feed`` for a subscription: conditional on the copy in use (None: not
    modified since ``copy``, and that copy not older than ``max_age``, else
    ``FeedStale``), never older than it. With a copy in use, a feed older than
    ``max_age`` is not refused for it: newer than that copy, it holds what the
    publisher added since (the caller says its age); refusing it left the bot on the
    older copy, staler still."""
    fetched = fetch_feed(
        fl.settings.url,
        fl.settings.key,
        instance=fl.settings.publisher,
        max_age=fl.settings.max_age if fl.verified is None else None,
        allowed_hosts=[*allowed_hosts, *policy.fetch.allow_hosts],
        limits=feed_limits(policy.fetch),
        accepted_at=fl.verified.feed.generated_at if fl.verified is not None else None,
        validators=(copy.get("etag"), copy.get("last_modified"))
        if copy and fl.verified is not None
        else None,
        resolver=resolver,
        now=now,
        stop=stop,
    )
    if (
        fetched is not None
        and fl.verified is not None
        and copy is not None
        and fetched[0].feed.generated_at <= fl.verified.feed.generated_at
    ):
        # the copy in use again (a host that ignores conditional requests): not modified,
        # so a stale one is refused as stale, not taken as "newer" than itself
        etag, modified = fetched[3], fetched[4]
        if fetched[0].sha256 == fl.verified.sha256 and (etag, modified) != (
            copy.get("etag"),
            copy.get("last_modified"),
        ):
            # its very bytes with other validators (the host began sending them, or the
            # file was copied anew): kept, else each period's request named the old ones
            # and downloaded the whole feed again, until the publisher published anew
            store.feed_validators(fl.name, copy["generated_at"], etag, modified)
        fetched = None
    if fetched is None:  # not modified: the copy in use is the feed, and it ages all the same
        assert fl.verified is not None  # the conditional request is made only then
        try:
            check_times(
                fl.verified.feed.generated_at, None, fl.settings.max_age, now or datetime.now(UTC)
            )
        except FeedStale as stale:
            raise _InUseStale(str(stale)) from None
    return fetched


def fetch_feed(
    url: str,
    key: Ed25519PublicKey | str,
    *,
    instance: str | None,
    max_age: timedelta | None,
    allowed_hosts: list[str],
    limits: FetchLimits,
    accepted_at: datetime | None = None,
    validators: tuple[str | None, str | None] | None = None,
    resolver: Any = None,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> Fetched | None:
    """The feed at ``url`` and its signature (``url`` + ``.sig``, behind the same query)
    downloaded and verified, as a subscriber and ``modbot feed verify`` take it: the
    feed's and the signature's limits (a web page where the signature should be is said
    to be one), one deadline for the whole try, and both fetched once more when the feed
    changed between the two downloads (a publish in between). ``validators`` (ETag,
    Last-Modified): the first try is conditional, and None is returned when the feed is
    not modified. ``stop`` set: ``_Stopped``, the download dropped."""

    async def download(conditional: bool) -> tuple[Any, Any]:
        kwargs: dict[str, Any] = {"allowed_hosts": allowed_hosts}
        if resolver is not None:
            kwargs["resolver"] = resolver
        async with Fetcher(limits, **kwargs) as fetcher:
            etag, modified = validators if validators and conditional else (None, None)
            body = await fetcher.fetch_file(
                url, max_bytes=MAX_FEED_BYTES, etag=etag, modified=modified
            )
            if body is None:
                return None, None
            try:
                sig = await fetcher.fetch_file(signature_url(url), max_bytes=MAX_SIGNATURE_BYTES)
            except TooLarge as exc:  # what is there is no signature: said so, not a limit
                raise TooLarge(exc.url, SIGNATURE_NOT_THERE) from None
            return body, sig

    # One deadline for the whole try: the feed, its signature, and both again when the
    # feed changed between them (each download's own deadline would let that be 4x)
    deadline = time.monotonic() + limits.total_timeout

    async def until_stopped(conditional: bool) -> tuple[Any, Any]:
        task = asyncio.ensure_future(download(conditional))
        while True:
            left = deadline - time.monotonic()
            done, _ = await asyncio.wait({task}, timeout=max(0.0, min(STOP_CHECK_S, left)))
            if done:
                return await task
            stopped = stop is not None and stop.is_set()
            if stopped or left <= 0:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                if stopped:
                    raise _Stopped
                raise FetchTimeout(
                    url,
                    f"the feed and its signature took longer than {limits.total_timeout:g} s "
                    "in all",
                )

    for attempt in (1, 2):
        body, sig = asyncio.run(until_stopped(attempt == 1 and validators is not None))
        if body is None:
            return None
        assert sig is not None
        try:
            verified = verify_feed(
                body.data,
                sig.data,
                key,
                instance=instance,
                accepted_at=accepted_at,
                max_age=max_age,
                now=now,
            )
        except FeedChanged:
            if attempt == 2:
                raise
            continue
        return verified, body.data, sig.data, body.etag, body.last_modified
    raise AssertionError("unreachable")
