"""The upload gate (``modbot gate``): pict-rs asks it before it stores a file.

pict-rs' external validation (``PICTRS__MEDIA__EXTERNAL_VALIDATION``) POSTs every file it
is about to keep (uploads, Lemmy's link thumbnails, the first fetch of a proxied image)
to one URL, the body the processed file and ``Content-Type`` its media type, and stores
the file on any 2xx; anything else (or no answer within its 30 s) fails the upload, as
Lemmy does when the whole upload takes over its own 30 s: ``gate.budget`` must be under
both (``upload_timeout_problem``, checked at start). It sends no credentials, so the
gate takes a secret in the URL's path:

    POST /validate/<secret>        the file -> 200 store it, 406 rejected by a rule, the
                                   list of files modbot purged, or a hash list; 413 over
                                   gate.max_bytes; 415 not a media type pict-rs stores;
                                   503 no verdict in time and gate.on_timeout: reject
    POST /api/v1/scan/<secret>     the same (pictrs-safety's path: a drop-in replacement);
                                   either with a trailing slash too
    GET  /healthz                  counters, the classifier, the budget (no secret);
                                   503 and ``problem`` when not ok: the classifier gave
                                   no verdict on the last ``NO_VERDICT_UNHEALTHY`` files
                                   (down), or none within gate.budget (too slow);
                                   /healthz/ the same

No secret: 401; a wrong one: 403; a peer that keeps failing is answered 429 for a minute
without a look at what it sent. Nobody outside can use the gate as a free classifier or
to probe which images pass, and it listens on 127.0.0.1 unless told otherwise.

Deciding: the file is an item of kind ``incoming`` (no post, author or community yet) and
the rules of ``type: incoming`` decide, with ``reject: true`` their only action. In order:
a file on an allow-list (``exempt.hash_lists``) always passes; a file a live modbot run
purged (read from the state file the bot writes, ``Store.purged_files``) is refused;
then the hash rules (exact and perceptual lists, and the subscribed feeds: ``_Feeds``;
a perceptual hash decodes the file, ``HASH_DECODES`` at once, in a local classifier's
decode budget (``classifier.decode_memory``; a remote one's: a budget of that size of
the gate's own) and within ``gate.budget`` too:
past it the hashes of the bytes decide what they can, then ``gate.on_timeout``),
then a trusted peer's verdict on the very file (a ``classified`` feed), else the
classifier's (from the verdict cache the bot shares, else the engine's: in this process
or ``classifier.remote`` workers). A verdict must come within ``gate.budget`` of the
request's start (the body too: one that stalls is not waited for past it); past it, or
when no classifier answers, ``gate.on_timeout`` decides
(allow: store it, reject: refuse it); so does an error of the gate's own while it
decides (reason ``gate_error``: a bug, the hash thread refused as it shuts down; logged
once with its traceback, never a bare 500). Each such file is counted, logged, recorded
and reported to the admins (a private message at most every ``gate.report_every``, when
LEMMY_URL and the bot's login are set). A verdict that comes late is still cached, so
the bot does not classify the file again when it is posted, and a late match is logged.
The classifier is given at most what it does at once (``Gate.classify_at_once``); a file
still waiting for its turn when its budget ends is not classified at all, so after a
burst it never works through files whose answers have gone while new uploads wait.
The files held (being received, decided, or waiting for a verdict past their answer)
are at most ``fetch.max_bytes_held`` (``gate.max_bytes`` if that is larger, so one file
always fits): past it a file is not kept, only hashed as it comes; the hashes of its
bytes and a cached verdict decide it, else it gets ``gate.on_timeout`` at once (``busy``);
so is a file it runs out of memory keeping (``out_of_memory``).

Evidence: every file decided (accepted, rejected, or decided without a verdict) is a
decision record in the state file (run ``gate-...``, item kind ``incoming``), one per
request as the bot keeps one per image it checks: its SHA-256, size, media type, time,
scores, rule and why. Never the image. The state file is read and written
off the event loop (``gate_state.GateState``): a lock the bot holds never holds an answer.
Deciding stops ``RECORD_RESERVE_S`` before ``gate.budget``, for the record to be written
before the answer; a record slower than that is written after it, never the answer late.

Long because the gate is a whole service (the app, its secret and rate limit, the time
budget with its fail-open reports, the evidence record); split, each part would reach
into the request's state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import io
import logging
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.budget import DecodeBudget, MemoryNotFree, waiting_until
from classifier.remote import MAX_SAID_CHARS
from modbot.classify import (
    CLASSIFIER_UNAVAILABLE,
    Engine,
    Judged,
    cached,
    decoded_hashes,
    engine_kind,
    judge,
)
from modbot.config.schema import UPLOAD_ROOM_S, UPLOAD_TIMEOUT_S
from modbot.hashes import HASH_KINDS
from modbot.model import utc_iso
from modbot.modes.gate_state import RECORD_WAIT_S, GateState
from modbot.rules import Plan, Subject
from modbot.subscriptions import load_kept, peer_verdict, refresh

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from classifier.verdict import Verdict
    from modbot.config.policy import Policy
    from modbot.config.settings import Settings
    from modbot.store import Store

__all__ = [
    "DEFAULT_LISTEN",
    "SECRET_ENV",
    "AdminReports",
    "Answer",
    "Gate",
    "SecretError",
    "load_secret",
    "new_secret",
    "serve",
]

log = logging.getLogger("modbot.modes.gate")

SECRET_ENV = "MODBOT_GATE_SECRET"
MIN_SECRET_CHARS = 16
DEFAULT_LISTEN = "127.0.0.1:8096"
MEDIA_PREFIXES = ("image/", "video/")  # what pict-rs stores (pictrs.md §6)
FAILURES_PER_MINUTE = 10  # refused secrets from one peer before it gets 429s
REPORT_CHECK_S = 2.0  # how often the admins' report is looked at
REPORT_RETRY_S = 60.0  # a report Lemmy did not take is tried again after this
# how often the subscribed hash feeds are looked at: a newer copy the bot kept in the
# state file is taken, and a feed whose `every` has passed is fetched
FEEDS_CHECK_S = 60.0
HASH_DECODES = 2  # perceptual hashes decoded at once (each holds a decoded image)
# deciding stops this long before gate.budget (a quarter of it at most), so a record is
# normally on disk before the answer, and the answer still within the budget
RECORD_RESERVE_S = 0.25
# files in a row the classifier gave no verdict on (unavailable, failed), none since,
# for /healthz to say the gate is not ok (503): every file then gets gate.on_timeout,
# while one file it fails on alone (a hostile one) is followed by verdicts. A file every
# worker refused itself (over their size limit) is not one: the workers answered; nor
# does a verdict from the cache (a re-upload) end the run: the classifier was not asked.
# The same count for files whose verdict did not come within gate.budget (the
# classifier answers, too slowly: its late verdicts are cached, but every upload got
# gate.on_timeout); only a verdict it made in time ends that run.
NO_VERDICT_UNHEALTHY = 5
CLASSIFIER_FAILED = (CLASSIFIER_UNAVAILABLE, "classifier_error")  # ``Judged.skipped``
INCOMING = "incoming"
NOT_KEPT = "the file was not kept"  # past the bytes the gate may hold (``busy``)
GATE_ERROR = "gate_error"  # no verdict: the gate itself failed on the request (a bug, a shutdown)
OUT_OF_MEMORY = "out_of_memory"  # no verdict: the body was not kept, memory ran out keeping it

# outcomes (the answer's JSON, the evidence and the counters say them)
ACCEPTED = "accepted"
REJECTED = "rejected"
ALLOWED_WITHOUT_VERDICT = "allowed_without_verdict"  # fail open
REFUSED_WITHOUT_VERDICT = "refused_without_verdict"  # fail closed


class SecretError(ValueError):
    """The gate's secret is missing or too weak; the message says what to do."""


def new_secret() -> str:
    """A fresh secret for the validation URL (256 bits, URL-safe)."""
    return "mbg_" + secrets.token_urlsafe(32)


def load_secret(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    secret = (env.get(SECRET_ENV) or "").strip()
    if not secret:
        raise SecretError(
            f"no secret: set {SECRET_ENV} (make one with `modbot gate --new-secret`) and give "
            "pict-rs PICTRS__MEDIA__EXTERNAL_VALIDATION=http://<gate>:8096/validate/<secret>"
        )
    if len(secret) < MIN_SECRET_CHARS or not all(c.isalnum() or c in "-_.~" for c in secret):
        raise SecretError(
            f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters of letters, digits "
            "and - _ . ~ (it goes in a URL path); make one with `modbot gate --new-secret`"
        )
    return secret


@dataclass
class Answer:
    """What the gate answers pict-rs, and why."""

    status: int
    outcome: str
    why: str
    rule: str | None = None
    reason: str | None = None  # no verdict: why in a word (timeout, busy, ...)


@dataclass
class _Received:
    """A request's body: ``data`` None when the gate could not keep it (the bytes held
    were at ``max_held``, or ``out_of_memory``: keeping them raised MemoryError); its
    SHA-256 and the hashes of its bytes are taken anyway."""

    data: bytes | None
    sha256: str
    size: int
    hashes: dict[str, str]
    out_of_memory: bool = False


@dataclass
class _Hold:
    """The bytes of ``Gate._held`` a request holds: its body, until it is answered, or
    until its work ends when that outlives the answer (the classification it started,
    or the decode for its perceptual hash)."""

    bytes: int = 0
    task: asyncio.Future[Any] | None = None  # the work started with its body


@dataclass
class _LateWait:
    """The uploads of one file answered without its verdict, all waiting on the one
    classification: the first one's start (how late the verdict came, for the upload
    that waited longest), its plan by the hashes, and how many uploads there were."""

    started: float
    pre: Plan
    uploads: int = 1


@dataclass
class _Progress:
    """How far a request got, for ``Gate.validate``'s last resort: the file's SHA-256
    once its body is read, the answer once it is decided, whether that answer was
    counted (counters, the admins' report) and whether its record was written."""

    sha256: str | None = None
    answer: Answer | None = None
    counted: bool = False
    recorded: bool = False


class _TooLarge(Exception):
    """Over gate.max_bytes: ``read`` bytes read when the gate stopped; ``declared`` the
    size the request's Content-Length claimed, if it had one (pict-rs sends none)."""

    def __init__(self, read: int, declared: int | None) -> None:
        super().__init__(read, declared)
        self.read, self.declared = read, declared


class _BodyLate(Exception):
    """The body did not all come within the budget (``size`` bytes of it did)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Failures:
    """Refused secrets per peer over the last minute."""

    def __init__(self, per_minute: int = FAILURES_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = {}

    def _recent(self, peer: str) -> deque[float]:
        times = self.seen.setdefault(peer, deque())
        while times and times[0] < time.monotonic() - 60:
            times.popleft()
        if not times:
            del self.seen[peer]
            return deque()
        return times

    def blocked(self, peer: str) -> bool:
        return len(self._recent(peer)) >= self.per_minute

    def note(self, peer: str) -> None:
        if len(self.seen) > 10_000:  # a scan from many addresses: forget the oldest
            self.seen.pop(next(iter(self.seen)))
        self.seen.setdefault(peer, deque()).append(time.monotonic())


class _Feeds:
    """The subscribed hash feeds (``feeds:``) for the gate's rules: a ``known-bad``
    feed is a hash list a ``type: incoming`` rule can refuse by, an ``allow-list`` one
    exempts, a ``classified`` one's verdict replaces the classifier's (``_decide``). The
    last good copies kept in the state file are loaded before the first request; then a
    thread runs ``subscriptions.refresh`` every ``FEEDS_CHECK_S``: the newer copy the bot
    (or another gate) kept, or a fetch once the feed's ``every`` has passed since the
    last one by any of them. A refused feed is logged and counted, and its last good copy
    used."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store, self.policy = store, policy
        self.refused = 0  # refusals (counter for /healthz)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if policy.feeds:
            load_kept(store, policy)

    def start(self) -> None:
        """Start the refreshing thread, when there are feeds and it is not running yet
        (a reload may bring the first feeds)."""
        if self.policy.feeds and self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="modbot-gate-feeds", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def describe(self) -> dict[str, str]:
        return {name: fl.describe() for name, fl in self.policy.feeds.items()}

    def _loop(self) -> None:
        while True:
            try:
                refresh(self.store, self.policy, warn=self._refused, stop=self._stop)
            except Exception:  # tried again next time; the copies in use stay
                log.exception("the subscribed hash feeds could not be refreshed")
            if self._stop.wait(FEEDS_CHECK_S):
                return

    def _refused(self, message: str) -> None:
        self.refused += 1
        log.warning("%s", message)


class AdminReports:
    """Files decided without a verdict, told to the admins at most every ``every_s``
    seconds (one private message each, when the bot's Lemmy login is configured and
    the gate is no dry run; else the log only). The time of the last report is kept in the state file, so a restart
    does not send another at once; and the newest gate record a report counted, so the
    files an earlier run (``run_id`` is this one's) had not told when it stopped (SIGTERM,
    kill -9, a crash) are read back from their records and told with the next report.
    A dry run writes neither (its report, in the log, tells nobody), reads back no
    earlier run's files, and no live run reads back its files (it stored them all)."""

    CURSOR = "gate:admin_report"
    TOLD = "gate:admin_report_told"  # row id of the newest gate record a report counted

    def __init__(
        self, store: Store, every_s: float, settings: Settings | None, run_id: str | None = None
    ) -> None:
        self.store, self.every_s, self.settings = store, every_s, settings
        self.run_id = run_id
        self.dry_run = False  # the gate's: its report says nothing was refused
        self.lock = threading.Lock()
        self.pending: Counter[str] = Counter()
        self.examples: list[str] = []
        self.since: str | None = None
        self.sent = 0  # messages sent (counter for /healthz)
        self.failed = 0
        self._retry_at = 0.0  # monotonic: not before, after a report that failed
        self._dry_run_last = 0.0  # a dry run's last report: its own, never the state's
        # a live report's time, as kept in the state file too: the state may refuse it
        # (locked past its busy timeout), and report_every must hold all the same
        self._last_sent = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, outcome: str, reason: str, sha256: str | None, at: str | None = None) -> None:
        """One file decided without a verdict (``at``: when, if not now)."""
        at = at or utc_iso()
        with self.lock:
            if not self.pending or (self.since is not None and at < self.since):
                self.since = at
            self.pending[f"{outcome}: {reason}"] += 1
            if sha256 and len(self.examples) < 10:
                self.examples.append(sha256)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="modbot-gate-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reporting, and say in the log what was not yet told (not sent: the rate
        limit holds across restarts too). Said before the report thread is waited for: a
        report under way can take 30 s (a slow Lemmy, a locked state file), and a SIGKILL
        at the end of the stop's grace period must not find it unsaid. ``Gate.close``
        settles the records first, so the lines of those NOT written come before it."""
        self._stop.set()
        said = self._say_untold()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._untold() != said:  # the report under way was not sent: its files are back
            self._say_untold()

    def _untold(self) -> str:
        with self.lock:
            return "; ".join(f"{n} {what}" for what, n in self.pending.most_common())

    def _say_untold(self) -> str:
        counts = self._untold()
        if counts:
            log.warning(
                "not yet told to the admins when the gate stopped: %s (the gate's next "
                "start tells them, from their records; not those of a record logged as "
                "NOT written above)",
                counts,
            )
        return counts

    def recover(self) -> int:
        """Note again the files an earlier run of the gate decided without a verdict and
        had not told the admins of when it stopped: their records newer than the newest
        one a report counted. Returns how many."""
        told = int(self.store.get_cursor(self.TOLD) or 0)
        last = float(self.store.get_cursor(self.CURSOR) or 0)
        # records are stamped to the second: from the second of the last report on
        since = utc_iso(datetime.fromtimestamp(last - 1, UTC)) if last else None
        found = 0
        for _, record in self.store.gate_window(since, after_id=told):
            gate = record.get("gate") or {}
            outcome = gate.get("outcome")
            # a dry run's files were stored, whatever it says they got: not told as
            # refused or unchecked by the live gate
            if record.get("run_id") == self.run_id or record.get("dry_run"):
                continue
            if outcome not in (ALLOWED_WITHOUT_VERDICT, REFUSED_WITHOUT_VERDICT):
                continue
            # `reason` since this change; before, the reason led `skipped`
            reason = gate.get("reason") or str(record.get("skipped") or "").split(":")[0]
            sha256 = (record.get("image") or {}).get("sha256")
            self.note(str(outcome), reason or "no_verdict", sha256, at=record.get("decided_at"))
            found += 1
        if found:
            log.warning(
                "%d file(s) decided without a verdict by an earlier run of the gate were not "
                "told to the admins when it stopped: they are in the next report",
                found,
            )
        return found

    def _loop(self) -> None:
        try:
            # a dry run tells nobody: the files the live gate has still to tell stay its
            if not self.dry_run:
                self.recover()
        except Exception:  # the records stay: the next start reads them again
            log.exception("the gate's earlier records could not be read for the admins' report")
        while not self._stop.wait(REPORT_CHECK_S):
            try:
                self.flush()
            except Exception:  # a report that failed is tried again; the gate goes on
                log.exception("reporting to the admins failed")

    def flush(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        if self.dry_run:  # its report is in the log only: the live gate's cursors stay
            last = self._dry_run_last
        else:
            last = max(float(self.store.get_cursor(self.CURSOR) or 0), self._last_sent)
        if time.time() - last < self.every_s:
            return
        with self.lock:
            if not self.pending:
                return
            first = self.since
        # the newest record this report counts, read before it takes its files: a record
        # on disk now had its file noted before (``validate`` notes, then records), while
        # one written as the report is sent may be of a file it does not hold. A file
        # noted now whose record lands just after this read is told by this report and,
        # after a restart before the next, once more: told twice rather than never
        newest = 0 if self.dry_run else self.store.newest_gate_id(first)
        with self.lock:
            pending, self.pending = self.pending, Counter()
            examples, self.examples = self.examples, []
            since, self.since = self.since, None
        total = sum(pending.values())
        counts = "; ".join(f"{n} {what}" for what, n in pending.most_common())
        text = (
            f"The upload gate (modbot gate) decided {total} file(s) without a verdict since "
            f"{since} ({counts}). 'allowed_without_verdict': stored unchecked "
            "(gate.on_timeout: allow; the bot checks them once they are posted); "
            "'refused_without_verdict': uploads refused (gate.on_timeout: reject). Look at the "
            "classifier (its /healthz) and the gate's log. SHA-256 of the first: "
            + (", ".join(examples) or "none")
            + (" (The gate runs as a dry run: it refused none of them.)" if self.dry_run else "")
        )
        if self.dry_run:
            # a private message changes Lemmy: the bot's dry run plans its messages and
            # sends none, and so does the gate's
            log.warning("admin report (dry run: not sent, in this log only): %s", text)
            self._dry_run_last = time.time()
            return
        log.warning("admin report: %s", text)
        if self.settings is not None:
            try:
                told = self._send(text)
            except Exception:
                log.exception("cannot tell the admins")
                told = False
            if told is False:
                # Told to nobody: kept, with what came meanwhile, for the next try; the
                # last report's time stays, so report_every does not hold it back.
                self.failed += 1
                with self.lock:
                    self.pending = pending + self.pending
                    self.examples = (examples + self.examples)[:10]
                    self.since = since
                # (not before the end of a hold of Lemmy's on the login: ``_send``)
                self._retry_at = max(self._retry_at, time.monotonic() + REPORT_RETRY_S)
                return
            if told:
                self.sent += 1
        self._last_sent = time.time()
        try:
            self.store.set_cursor(self.CURSOR, repr(self._last_sent))
            # the records counted (decided since the first of them): a restart tells none
            # again
            if newest > int(self.store.get_cursor(self.TOLD) or 0):
                self.store.set_cursor(self.TOLD, str(newest))
        except sqlite3.Error as exc:
            # the report went: not one to try again (nor, each check, another after it)
            log.warning(
                "the admins' report is sent, but its time was not written to the state file "
                "(%s): the next waits gate.report_every all the same; after a restart before "
                "it, the files of this one may be told again",
                exc,
            )

    def _send(self, text: str) -> bool | None:
        """True: told to the admins; False: not (tried again); None: there is no admin
        but the bot's own account to tell (the log has the report, as the bot's own
        notices are then skipped)."""
        from modbot.errors import LemmyError
        from modbot.lemmy import connect
        from modbot.lemmy.transport import Held
        from modbot.session import keep_login

        assert self.settings is not None
        try:
            client = connect(self.settings, requests_per_minute=30, timeout=20, read_only=False)
        except LemmyError as exc:
            log.error("cannot tell the admins: %s", exc)
            return False
        told: list[int] = []
        try:
            # the bot's login token, and Lemmy's holds on it, kept as the bot keeps them
            keep_login(client, self.store, self.settings)
            site = client.check_session()
            me = site.account.person_id if site.account else None
            admins = sorted(site.admin_ids - {me})
            if not admins:
                log.error(
                    "no admin to tell but the bot's own account (person %s): the report "
                    "above is in this log only",
                    me,
                )
                return None
            for admin in admins:
                client.private_message(admin, f"modbot gate needs your attention:\n\n{text}")
                told.append(admin)
            return True
        except LemmyError as exc:
            if not told:
                log.error("cannot tell the admins: %s", exc)
                if isinstance(exc, Held):  # a new client each report: tried after it ends
                    self._retry_at = time.monotonic() + exc.left()
                return False
            # Some admins have it: a second try would send them the same counts again.
            untold = [a for a in admins if a not in told]
            log.error(
                "told admins %s but not %s (%s): the report above is theirs", told, untold, exc
            )
            return True
        finally:
            client.close()


class Gate:
    """The gate's state and its ASGI app (``.app``). ``close()`` settles its waiting
    records, then stops its threads."""

    def __init__(
        self,
        policy: Policy,
        store: Store,
        engine: Engine,
        *,
        secret: str,
        settings: Settings | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> None:
        self.policy, self.store, self.engine = policy, store, engine
        # a dry run refuses nothing: every file is decided and recorded as usual, and
        # pict-rs is answered 200 (what it would have been answered is in the record)
        self.dry_run = dry_run
        self.config = policy.gate
        self.budget = self.config.budget.total_seconds()
        self._secret = hashlib.sha256(secret.encode()).digest()
        self.run_id = run_id or f"gate-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.classifier = engine_kind(policy)
        self.state = GateState(store)  # the state file, off the event loop
        self.failures = _Failures()
        self.reports = AdminReports(
            store, self.config.report_every.total_seconds(), settings, self.run_id
        )
        self.reports.dry_run = dry_run
        self.feeds = _Feeds(store, policy)
        self._hashing = asyncio.Semaphore(HASH_DECODES)
        # files handed to the classifier at once: what it does at once (a remote one's
        # concurrency; a local one's batch, and the next being decoded). More would queue
        # in it, and files whose answers have gone would hold up those still waiting.
        remote = policy.classifier.remote
        self.classify_at_once = (
            remote.concurrency if remote is not None else 2 * policy.classifier.batch_size
        )
        self._classifying = asyncio.Semaphore(self.classify_at_once)
        # where a perceptual hash's decode holds its memory when the classifier has no
        # decode budget here (classifier.remote): one of classifier.decode_memory
        self.hash_budget = DecodeBudget(policy.classifier.decode_memory)
        self._verdicts: dict[str, asyncio.Task[Judged]] = {}
        self._by_hashes: tuple[Policy | None, Policy] = (None, policy)  # see _hash_rules
        # bytes of the bodies held: being received or decided, and waiting for a verdict
        # past their answer (self._verdicts)
        self._held = 0
        self.max_held = max(policy.fetch.max_bytes_held, self.config.max_bytes)
        self._late: dict[asyncio.Future[Any], _LateWait] = {}  # by classification
        self.counters: Counter[str] = Counter(
            {
                k: 0
                for k in (
                    "requests",
                    ACCEPTED,
                    REJECTED,
                    ALLOWED_WITHOUT_VERDICT,
                    REFUSED_WITHOUT_VERDICT,
                    "allow_listed",
                    "purged_before",
                    "by_hash",
                    "by_verdict",
                    "too_large",
                    "hung_up",
                    "not_media",
                    "cache_hits",
                    "peer_verdicts",
                    "late_matches",
                    "late_verdicts",
                    "unauthorized",
                    "forbidden",
                    "rate_limited",
                )
            }
        )
        self._latencies: deque[float] = deque(maxlen=1000)
        self._failed_in_a_row = 0  # classifications without a verdict since the last one
        self._last_failure = ""
        # files in a row whose classification took past the budget (or got no turn
        # within it), none decided in time since; and how long the last late verdict took
        self._late_in_a_row = 0
        self._last_late_s: float | None = None
        self._last_no_turn = False  # the last of them got no turn with the classifier
        self.started = time.monotonic()
        self.app = self._make_app()
        self.reports.start()
        self.feeds.start()

    def close(self) -> None:
        # the records waiting first (written, or logged whole: a bounded wait), then the
        # threads (up to 30 s each: a report's cursor write waits for a locked state
        # file too); the other way round, SIGKILL at the end of the stop's grace period
        # lost a waiting record without a trace
        self.state.close()
        self.reports.stop()
        self.feeds.stop()

    def reload(self, policy: Policy) -> str | None:
        """Decide with ``policy`` (the rules file read again) from the next file on: its
        rules, hash lists (their files read again), allow-lists, feeds and ``gate:``
        settings. Returns why it was not taken, or None. The classifier was built from
        ``classifier:`` and ``concepts:``: a change there needs a restart, and the whole
        file is then refused, so the gate never decides by half of a rules file."""
        old = self.policy
        if not policy.same_classifier(old):
            return "classifier: or concepts: changed; restart the gate to apply them"
        if policy.feeds:
            load_kept(self.store, policy)
        self.config = policy.gate
        self.budget = self.config.budget.total_seconds()
        self.max_held = max(policy.fetch.max_bytes_held, self.config.max_bytes)
        self.reports.every_s = self.config.report_every.total_seconds()
        self.feeds.policy = self.policy = policy
        self.feeds.start()
        return None

    # -- app ---------------------------------------------------------------------------

    def _make_app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.routing import Route

        # each validation path with a trailing slash too: else the router answers 307 to
        # the path without, which pict-rs, its body streamed and not sent again, takes as
        # a refusal: every upload failed, nothing counted or logged here
        validation = [
            Route(path, self.validate, methods=["POST"])
            for base in ("/validate/{secret}", "/validate", "/api/v1/scan/{secret}")
            for path in (base, base + "/")
        ]
        # /healthz/ too: a healthcheck does not follow the 307, so it called the gate down
        health = [Route(path, self.healthz, methods=["GET"]) for path in ("/healthz", "/healthz/")]
        return Starlette(routes=[*validation, *health])

    async def healthz(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        ordered = sorted(self._latencies)

        def percentile(p: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

        problem = None
        if self._failed_in_a_row >= NO_VERDICT_UNHEALTHY:
            problem = (
                f"the classifier gave no verdict on the last {self._failed_in_a_row} files "
                f"in a row ({self._last_failure}): each got gate.on_timeout "
                f"({self.config.on_timeout}); look at the classifier (a worker's /healthz, "
                "classifier.remote) and the gate's log"
            )
        elif self._late_in_a_row >= NO_VERDICT_UNHEALTHY:
            # the classifier answers, after the answer went: as useless to the uploads
            # as one that is down (each was stored unchecked, or refused), so not ok
            # either, in words that send the admin to its speed, not to its address
            got = (
                "stored unchecked (gate.on_timeout: allow)"
                if self.config.on_timeout == "allow"
                else "refused (gate.on_timeout: reject)"
            )
            if self._last_no_turn:  # a burst: more files than it decides in the budget
                late = (
                    "the last got no turn with the classifier (it is given "
                    f"{self.classify_at_once} files at once)"
                )
            elif self._last_late_s is None:
                late = "none of their verdicts has come yet"
            else:
                late = f"its verdicts come late, the last after {self._last_late_s:.1f}s"
            problem = (
                f"the classifier gave no verdict within the {self.budget:g}s gate.budget on "
                f"the last {self._late_in_a_row} files in a row: each was {got}; {late}. "
                "It answers, too slowly for the gate: give it more time (gate.budget, under "
                "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT and Lemmy's pictrs.upload_timeout) "
                "or more speed (a GPU, more workers, classifier.remote.concurrency)"
            )
        return JSONResponse(
            {
                "ok": problem is None,
                **({"problem": problem} if problem else {}),
                "dry_run": self.dry_run,
                "classifier": self.classifier,
                "concept_version": self.engine.concept_version,
                "budget_s": self.budget,
                "on_timeout": self.config.on_timeout,
                "max_bytes": self.config.max_bytes,
                "purged_files_refused": len(self.state.purged),
                "waiting_for_verdict": {
                    "files": len(self._verdicts),
                    "bytes": self._held,
                    "max_bytes": self.max_held,
                },
                "state_file": {
                    "writes_waiting": self.state.writes_waiting,
                    "not_written": self.state.not_written,
                    "slow_cache_reads": self.state.slow_reads,
                },
                "uptime_s": round(time.monotonic() - self.started, 1),
                "latency_ms": {"p50": percentile(0.5), "p99": percentile(0.99)},
                "admin_reports": {"sent": self.reports.sent, "failed": self.reports.failed},
                "feeds": self.feeds.describe(),
                "feeds_refused": self.feeds.refused,
                **self.counters,
            },
            # (`modbot healthcheck --http`, the compose file's healthcheck, reads it)
            status_code=200 if problem is None else 503,
        )

    async def validate(self, request: Request) -> Response:
        started = time.monotonic()
        received_at = utc_iso()
        self.counters["requests"] += 1
        refused = self._authenticate(request)
        if refused is not None:
            return self._respond(refused, None)
        media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        evidence: dict[str, Any] = {"media_type": media_type, "received_at": received_at}
        policy = self.policy  # one file, one rules file: a reload meanwhile is for the next
        hold = _Hold()
        progress = _Progress()
        try:
            return await self._validate(request, policy, hold, started, evidence, progress)
        except Exception as exc:
            # the last resort, for an error outside deciding (deciding has its own, which
            # records it): never a bare 500 that fails the upload unexplained
            return self._last_resort(exc, progress)
        finally:
            self._let_go(hold)

    def _last_resort(self, exc: Exception, progress: _Progress) -> Response:
        """The answer to a request whose handling failed outside deciding. Nothing
        decided yet (reading the body failed): ``gate.on_timeout``'s, as for an error
        while deciding. Decided (writing the record or answering failed): that decision,
        counted once; an error of the state file is no reason to store a file a rule
        refused, or to refuse one it accepted."""
        sha256, answer = progress.sha256, progress.answer
        if answer is None:
            answer = self._failed(exc, "handling the request")
            self.counters[answer.outcome] += 1
            self._tell(answer, sha256, exc)
            return self._respond(answer, sha256)
        if not progress.counted:
            self.counters[answer.outcome] += 1
            self._tell(answer, sha256)
        if not progress.recorded:
            self.state.not_recorded()  # /healthz's state_file.not_written says so too
        log.error(
            "the gate failed after it decided sha256 %s (%s, %s, rule %r): %s: %s; "
            "answered as decided, %s",
            sha256,
            answer.outcome,
            self._answered(answer),
            answer.rule,
            type(exc).__name__,
            str(exc)[:300],
            "its record is written"
            if progress.recorded
            else "NOT recorded (this line is its only record)",
            exc_info=exc,
        )
        return self._respond(answer, sha256)

    def _let_go(self, hold: _Hold) -> None:
        """The request is answered: its body's bytes are free, or once its work ends (a
        classification it started, or a decode for its hash, runs on, holding them)."""
        size, hold.bytes = hold.bytes, 0
        if hold.task is not None and not hold.task.done():

            def done(_t: asyncio.Future[Any]) -> None:
                self._held -= size

            hold.task.add_done_callback(done)
        else:
            self._held -= size

    async def _validate(
        self,
        request: Request,
        policy: Policy,
        hold: _Hold,
        started: float,
        evidence: dict[str, Any],
        progress: _Progress,
    ) -> Response:
        from starlette.requests import ClientDisconnect

        media_type = evidence["media_type"]
        verdict: dict[str, Any] | None = None
        plan: Plan | None = None
        sha256: str | None = None
        not_taken: dict[str, str] = {}  # a perceptual kind the lists need, not taken: why
        failure: Exception | None = None  # deciding failed: answered as gate.on_timeout
        # the hashes of the bytes (md5, sha1) the lists use, taken as the body comes, as
        # the bot computes them: the rules compute only the kinds that decode the image
        exact = [k for k in policy.hash_kinds if HASH_KINDS[k].cost == "bytes" and k != "sha256"]
        try:
            body = await self._body(request, hold, exact, started)
        except ClientDisconnect:
            # pict-rs gave up (its external_validation_timeout) or stopped: nothing to
            # decide and nobody to answer; the upload failed on its side
            self.counters["hung_up"] += 1
            log.warning(
                "pict-rs hung up before it had sent the whole file (after %.1fs): the upload "
                "failed on its side (is PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT under "
                "gate.budget, or the network slow?)",
                time.monotonic() - started,
            )
            return self._respond(Answer(400, "hung_up", "the request's body did not come"), None)
        except _BodyLate as exc:
            # a stalled or trickling body: no verdict can come within the budget, as for
            # a classifier too slow (before, it was waited for without end, its bytes held)
            _not_read_whole(
                evidence,
                not_taken,
                policy,
                exc.size,
                _declared(request),
                f"the body did not all come within the {self.budget:g}s gate.budget",
            )
            answer = self._no_verdict(
                "timeout",
                f"the body did not all come within the {self.budget:g}s gate.budget "
                f"({exc.size:,} bytes came)",
                "",
            )
        except _TooLarge as exc:
            self.counters["too_large"] += 1
            _not_read_whole(
                evidence,
                not_taken,
                policy,
                exc.read,
                exc.declared,
                f"the gate stopped reading at gate.max_bytes ({self.config.max_bytes:,} bytes)",
            )
            claimed = (
                f"its size is not known (pict-rs did not say it): {exc.read:,} bytes read "
                "when the gate stopped"
                if exc.declared is None
                else f"its Content-Length says {exc.declared:,} bytes (not read)"
            )
            answer = Answer(
                413, REJECTED, f"over gate.max_bytes ({self.config.max_bytes:,} bytes): {claimed}"
            )
        else:
            sha256 = progress.sha256 = body.sha256
            evidence["size"] = body.size
            if not media_type.startswith(MEDIA_PREFIXES):
                self.counters["not_media"] += 1
                answer = Answer(
                    415,
                    REJECTED,
                    f"media type {media_type or 'none'!r}: pict-rs sends only the image and "
                    "video types it stores",
                )
            else:
                try:
                    answer, verdict, plan = await self._decide(
                        body, hold, policy, started, not_taken
                    )
                except Exception as exc:
                    # says nothing of the file (a bug in the rules' code, the hash thread
                    # refused while the gate shuts down): decided as without a verdict,
                    # answered, recorded with the error and logged, never a bare 500
                    failure, answer = exc, self._failed(exc)
        progress.answer = answer
        elapsed = time.monotonic() - started
        self._latencies.append(elapsed)
        evidence["answered_in_ms"] = round(elapsed * 1000, 1)
        if await request.is_disconnected():
            # pict-rs gave up (its external_validation_timeout, counted from before it
            # connected, over the whole call) and failed the upload closed: nothing the
            # gate decided was heard, so nothing is counted or told as stored or refused
            self.counters["hung_up"] += 1
            evidence["pictrs_gave_up"] = True
            log.warning(
                "pict-rs gave up on sha256 %s before the gate answered (after %.1fs, "
                "gate.budget %gs): the upload failed at pict-rs, whatever the gate decided "
                "(%s). Set PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT (default 30) above "
                "gate.budget, or gate.budget a few seconds under it",
                sha256,
                elapsed,
                self.budget,
                answer.why if failure is not None else answer.outcome,
                exc_info=failure,
            )
        else:
            self.counters[answer.outcome] += 1
            self._tell(answer, sha256, failure)
        progress.counted = True
        # every decision is recorded, a file accepted too (its hash, scores and why):
        # on disk before the answer unless that would take it past the budget, then
        # written after (GateState)
        wait = min(RECORD_WAIT_S, max(0.0, self.budget - (time.monotonic() - started)))
        await self._record(answer, sha256, evidence, verdict, plan, not_taken, wait)
        progress.recorded = True
        return self._respond(answer, sha256)

    def _answered(self, answer: Answer) -> int:
        """The status pict-rs is given: the answer's, or in a dry run 200 (store it) for
        a file the gate refused (never for a request without the secret)."""
        refused = answer.outcome in (REJECTED, REFUSED_WITHOUT_VERDICT)
        return 200 if self.dry_run and refused else answer.status

    # -- deciding --------------------------------------------------------------------------

    async def _decide(
        self,
        body: _Received,
        hold: _Hold,
        policy: Policy,
        started: float,
        not_taken: dict[str, str],
    ) -> tuple[Answer, dict[str, Any] | None, Plan | None]:
        """The answer, the verdict and the plan; ``not_taken`` gets each perceptual kind
        of hash the lists need that was not taken of the file, and why (the record says
        it, as the bot's do: no list of that kind could match the file)."""
        # The hashes first: an allow-listed, purged or known-bad file needs no classifier.
        # Those of the bytes (md5, sha1) come with the subject, as the bot's do.
        data, sha256 = body.data, body.sha256
        subject = Subject(item_kind=INCOMING, sha256=sha256, hashes=body.hashes, image=data)
        # Before a verdict, only the rules without a condition on it: one of `unreadable:
        # false` must not refuse a video the classifier has not looked at yet.
        by_hashes = self._hash_rules(policy)
        hashed: Plan | None = None
        decoded = policy.decoded_hash_kinds
        if data is None:  # not kept: the hashes of the bytes decide what they can
            pre = by_hashes.decide(subject)
            hashed = None if decoded else pre
            why = f"not decoded: {self._not_kept(body)[1]}"
            not_taken.update(dict.fromkeys(decoded, why))
        elif decoded:  # a perceptual hash decodes the image: a thread
            taken = await self._hashed(by_hashes, subject, hold, started)
            if taken is None:
                why = f"not taken within the {self.budget:g}s gate.budget"
                not_taken.update(dict.fromkeys(decoded, why))
            else:
                hashed, missed = taken
                not_taken.update(missed)
            # past the budget, the hashes of the bytes decide what they can
            pre = hashed or by_hashes.decide(replace(subject, image=None))
        else:  # hashes of the bytes only: a thread hop would cost more than the work
            pre = hashed = by_hashes.decide(subject)
        if pre.exempt:
            self.counters["allow_listed"] += 1
            return Answer(200, ACCEPTED, pre.exempt), None, pre
        # read within what is left of the budget (past it, the list in use answers)
        purged = await self.state.purged_file(sha256, self._left(started))
        if purged is not None:
            self.counters["purged_before"] += 1
            rule = purged.get("rule")
            why = f"modbot purged this file before ({purged.get('item')}, rule {rule!r})"
            return Answer(406, REJECTED, why, rule=rule or "purged before"), None, pre
        unchecked = _decoded_allow_lists(policy) if hashed is None else []
        if _rejects(pre) and not unchecked:
            self.counters["by_hash"] += 1
            return Answer(406, REJECTED, _why(pre), rule=pre.rule), None, pre
        # A hash rule refuses it, but an allow-list by a perceptual hash not taken may
        # spare it: gate.on_timeout decides, and its why says so, never "unchecked" alone
        # (the admin must learn that a known file was let through, or refused, unsure)
        matched = (
            f"; {_why(pre)} matched, but the allow-list {', '.join(map(repr, unchecked))} "
            "(a perceptual hash) could not be checked"
            if _rejects(pre)
            else ""
        )
        if hashed is None and data is None:
            reason, why = self._not_kept(body)
            return self._no_verdict(reason, why + matched, sha256), None, pre
        if hashed is None:
            why = f"its perceptual hashes were not taken within the {self.budget:g}s budget"
            return self._no_verdict("timeout", why + matched, sha256), None, pre
        # a trusted peer's verdict on this very file (a `use: classified` feed) replaces
        # the classifier's, as in the bot
        peer = (
            peer_verdict(policy, {**pre.hashes, "sha256": sha256}, incoming=True)
            if policy.feeds
            else None
        )
        if peer is not None:
            self.counters["peer_verdicts"] += 1
            plan = self._plan_from(peer, sha256, pre, policy)
            if _rejects(plan):
                self.counters["by_verdict"] += 1
                return Answer(406, REJECTED, _why(plan), rule=plan.rule), peer, plan
            return Answer(200, ACCEPTED, "no rule rejects the peer's verdict"), peer, plan
        if data is None:  # not kept: the bytes held were all the gate may hold
            hit = await self._cached(sha256, started)
            if hit is None:
                return self._no_verdict(*self._not_kept(body), sha256), None, pre
            judged = hit
        else:
            task = await self._verdict_task(sha256, data, hold, started)
            if task is None:
                self._late_in_a_row += 1  # for /healthz: not deciding in time
                self._last_no_turn = True
                why = (
                    f"no turn with the classifier within the {self.budget:g}s budget (it is "
                    f"given {self.classify_at_once} files at once): not classified"
                )
                return self._no_verdict("timeout", why, sha256), None, pre
            try:
                judged = await asyncio.wait_for(asyncio.shield(task), self._left(started))
            except TimeoutError:
                self._late_in_a_row += 1  # for /healthz: not deciding in time
                self._last_no_turn = False
                self._watch_late(task, sha256, pre, started)
                return (
                    self._no_verdict(
                        "timeout", f"no verdict within the {self.budget:g}s budget", sha256
                    ),
                    None,
                    pre,
                )
        if judged.verdict is None:
            return (
                self._no_verdict(judged.skipped or "no_verdict", judged.detail, sha256),
                None,
                pre,
            )
        if judged.cached:
            self.counters["cache_hits"] += 1
        else:  # the classifier's own verdict, in time (a cached one says nothing of it)
            self._late_in_a_row = 0
        plan = self._plan_from(judged.verdict, sha256, pre, policy)
        if _rejects(plan):
            self.counters["by_verdict"] += 1
            return Answer(406, REJECTED, _why(plan), rule=plan.rule), judged.verdict, plan
        return Answer(200, ACCEPTED, "no rule rejects it"), judged.verdict, plan

    def _hash_rules(self, policy: Policy) -> Policy:
        """``policy`` with only the rules the file's hashes decide: none with a
        condition on the classifier's verdict (``labels``, ``scores``, ``unreadable``),
        which an unknown verdict must not meet. Its hash lists, allow-lists and feeds are
        the policy's own."""
        if self._by_hashes[0] is not policy:
            rules = [
                r
                for r in policy.rules
                if r.if_.labels is None and r.if_.scores is None and r.if_.unreadable is None
            ]
            self._by_hashes = (policy, dataclasses.replace(policy, rules=rules))
        return self._by_hashes[1]

    async def _hashed(
        self, policy: Policy, subject: Subject, hold: _Hold, started: float
    ) -> tuple[Plan, dict[str, str]] | None:
        """The plan on the file's hashes, the perceptual ones too, made in a thread
        (``HASH_DECODES`` at once), and the kinds not taken with why (``_hash_plan``);
        None when it is not made within what is left of the
        budget. A file still waiting for its turn then is not decoded at all; a decode
        under way finishes in its thread, holding its turn and its body's bytes
        (``hold``), and its plan is dropped."""
        try:
            await asyncio.wait_for(self._hashing.acquire(), self._left(started))
        except TimeoutError:
            return None
        try:
            deadline = time.monotonic() + self._left(started)
            future = asyncio.get_running_loop().run_in_executor(
                None, self._hash_plan, policy, subject, deadline
            )
        except BaseException:
            self._hashing.release()
            raise

        def done(f: asyncio.Future[tuple[Plan, dict[str, str]] | None]) -> None:
            self._hashing.release()
            if not f.cancelled():
                f.exception()  # one nobody waits for any more is not "never retrieved"

        future.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._left(started))
        except TimeoutError:
            hold.task = future  # the thread holds the body until it ends
            return None

    def _hash_plan(
        self, policy: Policy, subject: Subject, deadline: float
    ) -> tuple[Plan, dict[str, str]] | None:
        """``policy.decide`` on the file's hashes (in a thread), and each kind not taken
        with why (its own dict: one the answer went without is never written to meanwhile
        by this thread). Its perceptual hashes
        decode it: a local classifier's decode budget holds that memory as it holds the
        classifier's own decodes (``classifier.decode_memory``), a remote one's gate a
        budget of that size of its own (``hash_budget``), and a file it would not decode
        (a bomb, over the budget) gets none, as in the bot; nor does one whose memory came
        past ``deadline`` (its answer went without it), nor one whose hashing failed
        around the hash's code (logged; its verdict decides it). None when its memory is
        not free by ``deadline``: the wait ends then, as its answer goes, and so does its
        turn to hash."""
        kinds = tuple(k for k in policy.decoded_hash_kinds if k not in subject.hashes)
        if not kinds:
            return policy.decide(subject), {}
        not_taken: dict[str, str] = {}
        try:
            # the wait for memory ends with the budget: past it, a file waiting would
            # keep its turn to hash and its place at the head of the decode budget's
            # line, the files after it (which may fit) waiting for nothing
            with waiting_until(deadline):
                hashes = decoded_hashes(
                    self.engine, subject.image, kinds, self.hash_budget, deadline, not_taken
                )
        except MemoryNotFree:
            return None  # not taken within the budget: its answer goes (or went) without
        except Exception as exc:
            # An error around the hashing (out of memory, a thread or file the system
            # would not give) says nothing of the file: decided without those hashes,
            # as the bot does, not failed (a 500 with no record); the record says why.
            said = f"{type(exc).__name__}: {str(exc)[:300]}"
            hashes = {}
            not_taken.update(dict.fromkeys(kinds, f"computing it failed: {said}"))
            log.warning(
                "file %s gets no %s: computing it failed (%s); its verdict and its other "
                "hashes decide it",
                (subject.sha256 or "")[:12],
                "/".join(kinds),
                said,
            )
        subject = replace(subject, hashes={**subject.hashes, **hashes}, image=None)
        return policy.decide(subject), not_taken

    def _plan_from(
        self, verdict: dict[str, Any], sha256: str, pre: Plan, policy: Policy | None = None
    ) -> Plan:
        return (policy or self.policy).decide(
            Subject(
                item_kind=INCOMING,
                labels=tuple(verdict.get("labels") or ()),
                scores=dict(verdict.get("scores") or {}),
                unreadable=verdict.get("unreadable"),
                sha256=sha256,
                hashes=pre.hashes,
            )
        )

    async def _verdict_task(
        self, sha256: str, data: bytes, hold: _Hold, started: float
    ) -> asyncio.Future[Judged] | None:
        """One classification per file at a time, however many uploads of it wait; it
        runs on past the budget, so its verdict is cached for the next time. A new one
        holds its request's bytes (``hold``) until its verdict comes (``_let_go``), and
        one of the ``classify_at_once`` turns: a file that gets none within the budget
        is not classified (None), so the classifier never works through files whose
        answers have gone while others wait. With every turn taken, a cached verdict
        needs none."""
        task: asyncio.Future[Judged] | None = self._verdicts.get(sha256)
        if task is not None:
            return task
        if self._classifying.locked():
            hit = await self._cached(sha256, started)
            if hit is not None:
                task = asyncio.get_running_loop().create_future()
                task.set_result(hit)
                return task
        try:
            await asyncio.wait_for(self._classifying.acquire(), self._left(started))
        except TimeoutError:
            return None
        task = self._verdicts.get(sha256)  # another upload of it started one meanwhile
        if task is not None:
            self._classifying.release()
            return task
        asked = _Asked(self.engine, lambda: self._left(started))
        new = asyncio.create_task(judge(asked, self.state, sha256, data))
        self._verdicts[sha256] = new
        hold.task = new

        def done(t: asyncio.Task[Judged]) -> None:
            self._verdicts.pop(sha256, None)
            self._classifying.release()
            if t.cancelled() or t.exception() is not None:
                return
            judged = t.result()
            if (judged.verdict is not None and not judged.cached) or asked.refused_the_file:
                # a file every worker refused (over their size limit) is the file's
                # fault: the workers answered, so /healthz does not count it against them;
                # a verdict from the cache says nothing of the classifier
                self._failed_in_a_row = 0
            elif judged.skipped in CLASSIFIER_FAILED:  # for /healthz
                self._failed_in_a_row += 1
                # whole: a remote classifier's names every worker asked, each one's
                # reason bounded (judge bounds it all); cut at 300, a first worker's long
                # error hid the next one. A bound still, marked where it cuts
                failure = f"{judged.skipped}: {judged.detail}"
                limit = MAX_SAID_CHARS + 100
                self._last_failure = (
                    failure if len(failure) <= limit else failure[: limit - 1] + "…"
                )

        new.add_done_callback(done)
        return new

    def _not_kept(self, body: _Received) -> tuple[str, str]:
        """Why a body was not kept: the reason and what to say of it."""
        if body.out_of_memory:
            return OUT_OF_MEMORY, f"out of memory keeping its {body.size:,} bytes: {NOT_KEPT}"
        return "busy", self._busy()

    def _busy(self) -> str:
        return (
            f"{self._held:,} bytes of files held ({len(self._verdicts)} waiting for the "
            f"classifier), the most the gate holds (fetch.max_bytes_held or gate.max_bytes, "
            f"{self.max_held:,} bytes): {NOT_KEPT}"
        )

    def _left(self, started: float) -> float:
        """What is left to decide in: the budget, less the moment kept for the record
        (``RECORD_RESERVE_S``, at most a quarter of the budget), from ``started``."""
        reserve = min(RECORD_RESERVE_S, self.budget / 4)
        return max(0.0, self.budget - reserve - (time.monotonic() - started))

    async def _cached(self, sha256: str, started: float) -> Judged | None:
        """The verdict cached for the file, read within what is left of the budget."""
        try:
            return await asyncio.wait_for(
                cached(self.state, sha256, self.engine.concept_version), self._left(started)
            )
        except TimeoutError:
            return None

    def _watch_late(
        self, task: asyncio.Future[Judged], sha256: str, pre: Plan, started: float
    ) -> None:
        """A verdict that comes after the answer: cached by ``judge``, counted and timed
        (/healthz: how late the classifier is); a file let through that a rule would
        have rejected is logged (the bot acts on it once it is posted). Several uploads
        of the file waiting on one classification are one verdict and one file:
        counted and logged once (``allowed_without_verdict`` counts each upload)."""
        waiting = self._late.get(task)
        if waiting is not None:  # another upload of the file, on the same classification
            waiting.uploads += 1
            waiting.started = min(waiting.started, started)
            return
        waiting = self._late[task] = _LateWait(started, pre)

        def done(t: asyncio.Future[Judged]) -> None:
            self._late.pop(t, None)
            if t.cancelled() or t.exception() is not None:
                return
            judged = t.result()
            if judged.verdict is not None:
                self.counters["late_verdicts"] += 1
                self._last_late_s = time.monotonic() - waiting.started
            if judged.verdict is None or self.config.on_timeout != "allow":
                return
            plan = self._plan_from(judged.verdict, sha256, waiting.pre)
            if _rejects(plan):
                self.counters["late_matches"] += 1
                uploads = f"; {waiting.uploads} uploads of it" if waiting.uploads > 1 else ""
                log.warning(
                    "a file let through without a verdict (sha256 %s%s) matches the rule %r "
                    "now that its verdict came; the bot acts on it once it is posted",
                    sha256,
                    uploads,
                    plan.rule,
                )

        task.add_done_callback(done)

    def _no_verdict(self, reason: str, detail: str, sha256: str) -> Answer:
        """``gate.on_timeout``'s answer (logged and told by ``_tell``, once it is sure
        pict-rs is still there to take it)."""
        allow = self.config.on_timeout == "allow"
        outcome = ALLOWED_WITHOUT_VERDICT if allow else REFUSED_WITHOUT_VERDICT
        why = f"{reason}: {detail}" if detail else reason
        rule = f"gate.on_timeout: {self.config.on_timeout}"
        return Answer(200 if allow else 503, outcome, why, rule=rule, reason=reason)

    def _failed(self, exc: Exception, doing: str = "deciding") -> Answer:
        """The answer to a file the gate failed on (an error, not the file's):
        ``gate.on_timeout``'s, as for a file without a verdict, reason ``gate_error``."""
        said = f"{type(exc).__name__}: {str(exc)[:300]}"
        return self._no_verdict(GATE_ERROR, f"the gate failed while {doing} ({said})", "")

    def _tell(self, answer: Answer, sha256: str | None, failure: Exception | None = None) -> None:
        """A file decided without a verdict: logged (once: with ``failure``'s traceback
        when an error decided it), and noted for the admins' report."""
        if answer.outcome not in (ALLOWED_WITHOUT_VERDICT, REFUSED_WITHOUT_VERDICT):
            return
        log.warning(
            "%s sha256 %s (%s; gate.on_timeout: %s)",
            "stored WITHOUT a check:"
            if answer.outcome == ALLOWED_WITHOUT_VERDICT
            else "refused without a check:",
            sha256,
            answer.why,
            self.config.on_timeout,
            exc_info=failure,
        )
        self.reports.note(answer.outcome, answer.reason or "no_verdict", sha256)

    # -- the request -----------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Answer | None:
        peer = request.client.host if request.client else "?"
        given = request.path_params.get("secret")
        if given is not None and hmac.compare_digest(
            hashlib.sha256(given.encode()).digest(), self._secret
        ):
            return None
        if self.failures.blocked(peer):  # not even a log line: a flood stays cheap
            self.counters["rate_limited"] += 1
            return Answer(429, "refused", "too many requests with a wrong or missing secret")
        self.failures.note(peer)
        if given is None:
            self.counters["unauthorized"] += 1
            log.warning("refused a request without the secret from %s", peer)
            return Answer(401, "refused", "missing secret: POST /validate/<secret>")
        self.counters["forbidden"] += 1
        log.warning("refused a request with a wrong secret from %s", peer)  # never the secret
        return Answer(403, "refused", "wrong secret")

    async def _body(
        self, request: Request, hold: _Hold, exact: list[str], started: float
    ) -> _Received:
        """The body, as pict-rs streams it (chunked, no Content-Length), up to the cap,
        and the hashes of its bytes (``exact`` kinds). Its bytes are held in ``_held``
        (``hold``): a chunk past ``max_held`` lets go of the body, and the rest is only
        hashed (``data`` None: its hashes and a cached verdict decide, else ``busy``).
        All of it must come within what is left of the budget (``_BodyLate``): a stalled
        connection would hold its bytes and its request for ever."""
        cap = self.config.max_bytes
        declared = _declared(request)
        if declared is not None and declared > cap:
            raise _TooLarge(0, declared)
        digests = {"sha256": hashlib.sha256(), **{k: hashlib.new(k) for k in exact}}
        # one copy of the body: BytesIO grows its buffer in place and getvalue() hands
        # that very buffer over (chunks kept and joined were two copies at the end)
        kept: io.BytesIO | None = io.BytesIO()
        size = 0
        out_of_memory = False
        stream = request.stream()
        while True:
            try:
                chunk = await asyncio.wait_for(anext(stream), self._left(started))
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _BodyLate(size) from None
            size += len(chunk)
            if size > cap:
                raise _TooLarge(size, declared)
            for digest in digests.values():
                digest.update(chunk)
            if kept is None:
                continue
            if self._held + len(chunk) > self.max_held:
                kept = None  # not kept: what it held is free for the others
                self._held -= hold.bytes
                hold.bytes = 0
                continue
            self._held += len(chunk)
            hold.bytes += len(chunk)
            try:
                kept.write(chunk)
            except MemoryError:
                # a memory bound the body does not fit under says nothing of the file:
                # not kept, as past max_held, so its hashes still decide what they can
                kept, out_of_memory = None, True
                self._held -= hold.bytes
                hold.bytes = 0
        sha256 = digests.pop("sha256").hexdigest()
        if out_of_memory:
            log.warning(
                "out of memory keeping the %d bytes of sha256 %s: not kept, the hashes of "
                "its bytes and a cached verdict decide it",
                size,
                sha256,
            )
        return _Received(
            None if kept is None else kept.getvalue(),
            sha256,
            size,
            {k: d.hexdigest() for k, d in digests.items()},
            out_of_memory,
        )

    def _respond(self, answer: Answer, sha256: str | None) -> Response:
        from starlette.responses import JSONResponse

        if answer.outcome == REJECTED:
            said = "dry run, stored: would have rejected" if self.dry_run else "rejected"
            log.info("%s sha256 %s: %s", said, sha256, answer.why)
        body: dict[str, Any] = {"outcome": answer.outcome, "why": answer.why, "rule": answer.rule}
        if sha256 is not None:
            body["sha256"] = sha256
        if self.dry_run and self._answered(answer) != answer.status:
            body["dry_run"] = True
        return JSONResponse(body, status_code=self._answered(answer))

    async def _record(
        self,
        answer: Answer,
        sha256: str | None,
        evidence: dict[str, Any],
        verdict: dict[str, Any] | None,
        plan: Plan | None,
        not_taken: dict[str, str],
        wait: float,
    ) -> None:
        """The evidence of a decision (a file accepted, rejected, or decided without a
        verdict) as a decision record: hashes, size, media type, time, scores, rule, why;
        never the image. Waited for at most ``wait`` seconds (then written after the
        answer)."""
        verdict = verdict or {}
        now = utc_iso()
        rejected = answer.outcome in (REJECTED, REFUSED_WITHOUT_VERDICT)
        record = {
            "run_id": self.run_id,
            "decided_at": now,
            "dry_run": self.dry_run,
            "item": {
                "kind": INCOMING,
                "id": None,
                "url": None,
                "community": None,
                "community_nsfw": None,
                "author": None,
                "author_id": None,
            },
            "image": {
                "url": None,
                "location": INCOMING,
                "sha256": sha256,
                "alias": None,
                # as in the bot's records (modbot.model.RecordedImage): only when there is one
                **({"hashes_not_taken": dict(not_taken)} if not_taken else {}),
            },
            "scores": dict(verdict.get("scores") or {}),
            "labels": list(verdict.get("labels") or []),
            "model": verdict.get("model"),
            "random_weights": verdict.get("random_weights"),
            "concept_version": verdict.get("concept_version"),
            "unreadable": verdict.get("unreadable"),
            "hash_match": (dict(plan.hash_lists) or None) if plan is not None else None,
            "hashes": dict(plan.hashes) if plan is not None else {},
            "rule": answer.rule,
            "actions": [
                {
                    "action": "reject",
                    "status": "planned",
                    "detail": (
                        f"dry run: stored (would have answered {answer.status}): {answer.why}"
                    )[:500],
                }
                if self.dry_run
                else {
                    "action": "reject",
                    "status": "done",
                    "detail": f"{answer.status}: {answer.why}"[:500],
                    "done_at": now,
                }
            ]
            if rejected
            else [],
            "skipped": None if answer.outcome in (REJECTED, ACCEPTED) else answer.why[:200],
            "gate": {
                **evidence,
                # what pict-rs was answered; None: it had given up (``pictrs_gave_up``)
                "status": None if evidence.get("pictrs_gave_up") else self._answered(answer),
                "outcome": answer.outcome,
                **({"reason": answer.reason} if answer.reason else {}),
                **({"would_answer": answer.status} if self.dry_run else {}),
                # the classifier's reason names every worker asked, each bounded
                "why": answer.why[: MAX_SAID_CHARS + 100],
            },
        }
        # an accepted file's record gives way first when writes pile up (a locked state
        # file): the evidence of refusals keeps the room
        await self.state.record(record, wait, spare=answer.outcome == ACCEPTED)


class _Asked:
    """The classifier as ``judge`` asks it for one file, noting whether every worker
    refused the file itself (``RemoteRequestRefused``: over their size limit, or another
    refusal of the image), which ``judge`` reports as any ``classifier_error``.
    ``left``: the seconds left in the file's budget, which remote workers are asked
    within (one that never answers leaves the next its turn in time)."""

    def __init__(self, engine: Engine, left: Callable[[], float]) -> None:
        self.engine = engine
        self.left = left
        self.refused_the_file = False

    @property
    def concept_version(self) -> str | None:
        return self.engine.concept_version

    @property
    def random_weights(self) -> bool | None:
        return self.engine.random_weights

    async def ready(self) -> str | None:
        return await self.engine.ready()

    async def classify(self, data: bytes) -> Verdict:
        from classifier.remote import RemoteEngine, RemoteRequestRefused

        try:
            if isinstance(self.engine, RemoteEngine):
                # else a first worker that never answers has half of
                # classifier.remote.timeout, far past the budget, and the next none of it
                return await self.engine.classify(data, within=self.left())
            return await self.engine.classify(data)
        except RemoteRequestRefused:
            self.refused_the_file = True
            raise

    def close(self) -> None:  # the gate's engine is closed by its owner, not per file
        pass


def _declared(request: Request) -> int | None:
    """The size the request's Content-Length claims (pict-rs streams the file chunked,
    without one)."""
    declared = request.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


def _not_read_whole(
    evidence: dict[str, Any],
    not_taken: dict[str, str],
    policy: Policy,
    read: int,
    declared: int | None,
    why: str,
) -> None:
    """The evidence of a file the gate did not read to its end (over gate.max_bytes, or a
    body that did not all come): the size it claimed (None: not known), the bytes read,
    and every hash not taken, with why. A hash of the part read is no hash of the file:
    recorded as its own, it would match no list and mislead whoever looks for the file."""
    evidence["size"] = declared
    evidence["size_read"] = read
    said = f"not taken: {why}; a hash of the part read is not the file's"
    not_taken.update(dict.fromkeys(["sha256", *policy.hash_kinds], said))


def _decoded_allow_lists(policy: Policy) -> list[str]:
    """The allow-lists (or allow-list feeds) holding hashes that decode the image: a file
    not hashed in time may be on one, so a known-bad hash of its bytes does not refuse it."""
    decoded = set(policy.decoded_hash_kinds)
    return [
        name
        for name in policy.allow_lists
        if name in policy.hash_lists and policy.hash_lists[name].kinds & decoded
    ]


def _rejects(plan: Plan) -> bool:
    return any(a.kind == "reject" for a in plan.actions)


def _why(plan: Plan) -> str:
    conditions = next((m.conditions for m in plan.matched if m.rule == plan.rule), ())
    return f"rule {plan.rule!r}: " + (", ".join(conditions) or "matched")


# -- serving -----------------------------------------------------------------------------


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8096 or [::]:8096")
    return host, int(port)


def upload_timeout_problem(budget: float, timeout: float) -> tuple[bool, str] | None:
    """``gate.budget`` against the time pict-rs and Lemmy wait for an upload (``timeout``,
    the shorter of the two): (refused, why) when the budget does not fit, else None.
    Past that timeout the upload fails at Lemmy or pict-rs while the gate still decides:
    its answer, gate.on_timeout's too, is never heard."""
    if budget >= timeout:
        return True, (
            f"gate.budget {budget:g}s is not under the {timeout:g}s pict-rs and Lemmy wait "
            "for an upload (--upload-timeout): every answer that takes the budget comes after "
            "they gave up and failed the upload. Set gate.budget in the rules to "
            f"{max(1.0, timeout - UPLOAD_ROOM_S):g}s or less, or raise "
            "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT and Lemmy's pictrs.upload_timeout "
            f"(lemmy.hjson) to {budget + UPLOAD_ROOM_S:g} or more and give that to "
            "--upload-timeout"
        )
    if budget > timeout - UPLOAD_ROOM_S:
        return False, (
            f"gate.budget {budget:g}s leaves less than {UPLOAD_ROOM_S:g}s under the "
            f"{timeout:g}s pict-rs and Lemmy wait for an upload (--upload-timeout; Lemmy's "
            "pictrs.upload_timeout counts pict-rs' own work on the file too): a slow upload "
            "fails at Lemmy while the gate still decides. Set gate.budget to "
            f"{max(1.0, timeout - UPLOAD_ROOM_S):g}s or less, or raise "
            "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT and pictrs.upload_timeout to "
            f"{budget + UPLOAD_ROOM_S:g} or more"
        )
    return None


def _lemmy_settings() -> Settings | None:
    """The bot's Lemmy login, when set: the admins' reports go by private message."""
    from modbot.config.settings import Settings

    if not os.environ.get("LEMMY_URL"):
        return None
    return Settings.from_env()


def serve(
    listen: str,
    *,
    rules: str | None = None,
    port_file: str | None = None,
    dry_run: bool = False,
    upload_timeout: float = UPLOAD_TIMEOUT_S,
) -> int:
    """``modbot gate``: load the rules and the classifier, then answer pict-rs until
    SIGTERM or Ctrl-C. Returns the exit status. ``upload_timeout``: the shorter of
    pict-rs' external_validation_timeout and Lemmy's pictrs.upload_timeout: a
    ``gate.budget`` not under it is refused, one too close to it warned of."""
    # A SIGHUP while starting (the model loading, the workers asked: seconds to minutes)
    # found no handler and killed the gate; the rules read before that wait would miss
    # the edit it was sent for: kept, and the rules read again once the gate answers
    hangups = threading.Event()
    previous = signal.signal(signal.SIGHUP, lambda *_: hangups.set())
    try:
        return _serve(listen, rules, port_file, dry_run, upload_timeout, hangups)
    finally:
        signal.signal(signal.SIGHUP, previous)


def _serve(
    listen: str,
    rules: str | None,
    port_file: str | None,
    dry_run: bool,
    upload_timeout: float,
    hangups: threading.Event,
) -> int:
    from classifier.service import WorkerServer, bind_socket, check_port_file, write_port_file
    from modbot.classify import build_engine
    from modbot.config.policy import load_policy, resolve_rules_path
    from modbot.config.settings import Secret
    from modbot.errors import PolicyError
    from modbot.store import Store

    try:
        host, port = _listen(listen)
        secret = load_secret()
        check_port_file(port_file)  # before the classifier loads, which takes a while
    except ValueError as exc:
        print(f"modbot gate: {exc}", file=sys.stderr)
        return 2
    rules_path = resolve_rules_path(rules)
    try:
        # gate.budget held under --upload-timeout (just below), not the schema's 30 s
        policy = load_policy(rules_path, gate_upload_timeout=upload_timeout)
    except PolicyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"modbot gate: {rules_path} is not valid; not starting", file=sys.stderr)
        return 1
    fit = upload_timeout_problem(policy.gate.budget.total_seconds(), upload_timeout)
    if fit is not None and fit[0]:
        print(f"modbot gate: {fit[1]}; not starting", file=sys.stderr)
        return 2
    if fit is not None:
        log.warning("%s", fit[1])
    if not any("incoming" in (r.if_.type or ()) for r in policy.rules):
        log.warning(
            "no rule of `type: incoming` in %s: the gate refuses only files modbot purged",
            rules_path,
        )
    settings = _lemmy_settings()
    if dry_run and settings is not None:
        log.warning(
            "dry run: files decided without a verdict are reported in the log and on "
            "/healthz only; no private message is sent to the admins"
        )
    elif settings is None:
        log.warning(
            "LEMMY_URL is not set: files decided without a verdict are reported in the log "
            "and on /healthz only, not to the admins"
        )
    store = Store(os.environ.get("MODBOT_STATE") or "modbot.sqlite3")
    token = os.environ.get("MODBOT_CLASSIFIER_TOKEN")
    engine = build_engine(
        policy,
        Secret(token) if token else None,
        # the largest upload it sends a worker: one that takes less is said at start
        largest_image=(policy.gate.max_bytes, "gate.max_bytes"),
    )
    gate: Gate | None = None
    sock = None
    try:
        try:
            sock = bind_socket(host, port)
        except OSError as exc:
            print(f"modbot gate: cannot listen on {listen}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        gate = Gate(policy, store, engine, secret=secret, settings=settings, dry_run=dry_run)
        # uvicorn on the bound socket, as the worker's (it serves any object's .app)
        server = WorkerServer(gate, sock)  # type: ignore[arg-type]
        print(
            f"modbot gate: listening on {server.url}/validate/<secret> (classifier "
            f"{gate.classifier}, budget {gate.budget:g}s, on_timeout "
            f"{gate.config.on_timeout})"
            + (
                ": DRY RUN, every file is stored, what would be refused is recorded"
                if dry_run
                else ""
            ),
            flush=True,
        )
        # the signals handled before the port file says the gate is up
        server.stop_on_signals()
        reload = _reload_on_hangup(gate, rules_path, upload_timeout)
        if hangups.is_set():
            log.info("SIGHUP while starting: the rules are read again now that the gate answers")
            reload()
        if port_file:
            failed = write_port_file(port_file, server.address[1])
            if failed:
                print(f"modbot gate: {failed}", file=sys.stderr)
                return 1
        server.run()
    finally:
        if gate is not None:
            gate.close()
        engine.close()
        store.close()
        if sock is not None:
            sock.close()
    log.info("gate stopped")
    return 0


def _reload_on_hangup(gate: Gate, rules_path: Path, upload_timeout: float) -> Callable[[], None]:
    """SIGHUP reads the rules file (and the hash lists it names) again, in a thread: the
    gate answers meanwhile, by the rules it has until the new ones are checked. A file
    that is not valid, that changes the classifier, or whose gate.budget is not under
    ``upload_timeout`` (as at start) is not taken (the log says why). Returns what a
    SIGHUP does (starts that thread)."""
    from modbot.config.policy import reread_policy

    lock = threading.Lock()

    def take(policy: Policy) -> str | None:
        # the start's check: past --upload-timeout no answer that takes the budget is heard
        fit = upload_timeout_problem(policy.gate.budget.total_seconds(), upload_timeout)
        if fit is not None and fit[0]:
            return fit[1]
        why = gate.reload(policy)
        if why is None and fit is not None:
            log.warning("%s", fit[1])
        return why

    def reload() -> None:
        with lock:  # two hangups in a row: one reload after the other
            policy = reread_policy(
                rules_path,
                take,
                lambda p: log.error("%s", p),
                gate_upload_timeout=upload_timeout,
            )
            if isinstance(policy, str):
                log.error("rules NOT reloaded: %s; deciding by the rules loaded before", policy)
                return
            incoming = sum("incoming" in (r.if_.type or ()) for r in policy.rules)
            log.info(
                "rules reloaded from %s: %d rules of type incoming, %d hash lists, %d feeds",
                rules_path,
                incoming,
                len(policy.hash_lists) - len(policy.feeds),
                len(policy.feeds),
            )

    def hangup() -> None:
        threading.Thread(target=reload, name="modbot-gate-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, lambda *_: hangup())
    return hangup
