"""The admins' private messages: queued per item while a batch is decided, then sent as
one message per admin (``flush``), or as many as Lemmy's length limit needs (it refuses a
message over 10,000 UTF-16 code units), a notice too long for one message cut. Each
message carries a marker and its notices are claimed with it just before it is sent, so
after a crash while sending, or an answer lost, the bot's sent messages say which
admins it reached (``sent``; on 1.0 read from its private-message notifications): it is
sent again, under its marker, to the others only, and a message that went is not sent
again with one that did not. Each message's idempotency key comes from its marker and
recipient, so when 1.0 cannot say (the list unreadable), the resend under the same
marker is dropped by Lemmy for the copies that went while it remembers the key (a few
minutes). Lemmy 1.0 also keeps a key it answered an error under (a 429): such a key is spent,
never carried out, and the next one is recorded (``KEY_KIND``) before the retry is
sent, so a resend after a kill in the backoff goes under a key Lemmy has not seen; so
does a copy the sent messages show did not go (its refusal's answer may have been lost). A
message that went to some admins and failed for others is not done: the admins it went
to are recorded (``REACHED_KIND``), and the next cycle sends it, under its marker, to
the others only. An admin Lemmy refuses for good is left out (``REFUSED_FOR_GOOD``; on
1.0 ``PMS_OFF`` once it lasted), so no notice is tried for ever."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modbot.errors import LemmyError, LemmyUnavailable
from modbot.lemmy.api import LemmyApi
from modbot.lemmy.transport import STOPPING, Held
from modbot.model import ActionOutcome
from modbot.store import Store

__all__ = ["CLAIM_PREFIX", "FAILED_PREFIX", "Notice", "Notices", "claimed_marker"]

log = logging.getLogger(__name__)

CLAIM_PREFIX = "sending private message "  # a notice's claim: this, then the message's marker
# a notice whose message failed for every admin, for one of them with no answer of
# Lemmy's (a proxy's page, a timeout, an answer that is not JSON): this, the marker, then
# the errors. It may have gone all the same (Lemmy stored it, its answer was lost): asked
# before a resend
FAILED_PREFIX = "failed: private message "
# Lemmy's answers to a private message that no later try gets past: the admin's
# account is gone (purged), or they blocked the bot
REFUSED_FOR_GOOD = frozenset({"couldnt_find_person", "person_is_blocked"})
# Lemmy 1.0's answer to a message for an admin who turned private messages off; also its
# answer when the insert failed (a passing fault), so it is taken for lasting only once
# it was given to that admin on LASTING_CYCLES cycles in a row spanning LASTING_S, no
# message reaching them between (the count: PMS_OFF_KIND, target: the admin's id,
# detail: the count, done_at: the first of them). Until then the notice is tried again
# each cycle; after, that admin is left out of it, and each later message is tried once.
PMS_OFF = "couldnt_create"
PMS_OFF_KIND = "notify_pms_off"
LASTING_CYCLES = 3
LASTING_S = 3600.0
_NO_ANSWER = (None, "bad_answer", STOPPING)  # Lemmy did not answer (or was not waited for)
# A look-up of a message (``sent``) reads the bot's sent messages back, newest first, to
# this much older than the oldest copy of it found: the copies of one message go within
# a flush (retries and backoffs included). Lemmy's times against Lemmy's: no skew.
SENT_WITHIN_S = 600.0
# Before a copy is found it reads back to SENT_WITHIN_S before the claim by the bot's
# clock, and this much further: Lemmy's clock may be behind the bot's (no NTP, a time
# zone taken for UTC: hours), and a copy read as older than the bound is never found
# (the admin would get the message twice). A day of the bot's messages: a page or two.
CLOCK_SKEW_S = 86400.0
# the generation of one admin's idempotency key for one message, once Lemmy answered an
# error under the one before (target: ``marker to admin_id``, detail: the generation)
KEY_KIND = "notify_key"
# the admins a message went to when it failed for others (target: its marker, detail:
# their ids): its resend next cycle, under that marker, goes to the others only
REACHED_KIND = "notify_reached"
# Lemmy refuses a message over 10,000 UTF-16 code units, counted after its own Markdown
# processing (the slur filter may lengthen a word): room is left for that.
MESSAGE_MAX = 9_000
HEAD = "modbot needs your attention:\n\n"
CUT = " … (cut: too long for one message)"
_TICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")  # ends a paragraph, and any code span in it


@dataclass
class Notice:
    key: str  # the item (or the cause) it is about: one notice per key, ever
    message: str
    outcome: ActionOutcome  # updated when the message is sent
    # the marker of the message this notice was claimed with by a run that stopped while
    # sending it: sent again under that marker (and so the same idempotency keys)
    resend_of: str | None = None
    # the outcomes of other actions told in this notice (``add``): settled with it
    also: list[ActionOutcome] = field(default_factory=list)

    def add(self, message: str, outcome: ActionOutcome) -> None:
        """Another action's message about the same key (an upload's report, which Lemmy
        has none for, beside its ``notify_admins``): told in this notice, its outcome
        settled with this one's."""
        if message not in self.message.split("; "):
            self.message = f"{self.message}; {message}"
        self.also.append(outcome)

    def settle(
        self, status: str, detail: str, *, retry: bool = False, done_at: float | None = None
    ) -> None:
        """This notice's outcome, and those of the actions told in it."""
        for outcome in (self.outcome, *self.also):
            outcome.status, outcome.detail, outcome.retry = status, detail, retry
            if done_at is not None:
                outcome.done_at = done_at


class Notices:
    """The notices of one run (``run_id``)."""

    def __init__(
        self,
        client: LemmyApi,
        store: Store,
        run_id: str,
        *,
        dry_run: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.store, self.run_id, self.dry_run = client, store, run_id, dry_run
        self.clock = clock
        self.queue: list[Notice] = []
        # the admins a PMS_OFF answer was counted for in this flush: once a cycle each
        self._counted: set[int] = set()
        self._messages = 0  # admin messages sent by this run (their markers)
        # a killed run's message (its marker) -> the admins the bot's sent messages show
        # with a copy of it: its resend goes to the others only
        self._reached: dict[str, set[int]] = {}
        self._bot_id: int | None = None  # the bot's person id, once read for a resend

    def queued(self, key: str) -> bool:
        return self.find(key) is not None

    def find(self, key: str) -> Notice | None:
        """The notice queued for ``key``, if any."""
        return next((n for n in self.queue if n.key == key), None)

    def flush(self, admins: list[int]) -> None:
        """Send the queued notices to ``admins``: one private message each. A notice
        queued to go again (``resend_of``) was looked up first (``sent``, asked by the
        executor when it queued it)."""
        try:
            self._flush(admins)
        finally:
            self._reached = {}  # what this cycle's look-ups found: the next asks afresh

    def _flush(self, admins: list[int]) -> None:
        notices, self.queue = self.queue, []
        self._counted = set()
        if not notices:
            return
        if not admins:  # the bot is the only admin: a dry run says so too
            for n in notices:
                n.settle("skipped", "no admin to notify")
            return
        if self.dry_run:
            for n in notices:
                n.settle("planned", f"private message to {len(admins)} admin(s)")
            return
        # a message in flight when its run stopped goes again under its own marker
        groups: dict[str | None, list[Notice]] = {}
        for n in notices:
            groups.setdefault(n.resend_of, []).append(n)
        for resend_of, group in groups.items():
            if resend_of is not None:  # whole, under its marker: it fit when first sent
                self._send(group, resend_of, admins)
                continue
            while group:  # as many messages as the length limit needs, each on its own
                self._messages += 1
                marker = f"{self.run_id}/{self._messages}"
                room, used, take = _room(marker), 0, 0
                for n in group:
                    need = _units(_line(n.message, room)) + (1 if take else 0)
                    if take and used + need > room:
                        break
                    used, take = used + need, take + 1
                self._send(group[:take], marker, admins)
                group = group[take:]

    def _send(self, notices: list[Notice], marker: str, admins: list[int]) -> None:
        """Claim ``notices`` under ``marker``, then send them as one message to each admin."""
        claimed = []
        for n in notices:
            claim = self.store.claim_action(
                "notify", n.key, self.run_id, CLAIM_PREFIX + marker, item=n.key
            )
            if claim.outcome == "claimed":
                claimed.append(n)
            else:
                n.settle("skipped", "admins were notified already")
        if not claimed:
            return
        room = _room(marker)
        lines = [_line(n.message, room) for n in claimed]
        if _units("\n".join(lines)) > room:  # a resend whose notices' text grew since
            share = (room - len(lines) + 1) // len(lines)
            lines = [_line(n.message, share) for n in claimed]
        content = HEAD + "\n".join(lines) + _footer(marker)
        reached = (self._reached.pop(marker, set()) | self._went_to(marker)) & set(admins)
        sent, errors = len(reached), []
        # refused for good when it went before, to others too: not tried again, and said
        # (not counted among the admins it reached)
        earlier = (self._went_to(marker, refused=True) & set(admins)) - reached
        # a failure whose answer was lost (Lemmy may have stored the message): the
        # notice keeps its marker, so a resend skips the admins who have it, whatever
        # Lemmy answered for the others
        lost = False
        # Admins Lemmy refused a message to for good (one who blocked the bot, a deleted
        # account): never tried again, or the notice would be resent every cycle, and
        # its item decided again each time, for ever.
        refused: set[int] = set(earlier)
        for admin_id in admins:
            if admin_id in reached or admin_id in earlier:  # its copy went, or never will
                continue
            try:
                key = _Key(self.store, marker, admin_id, self.run_id)
                self.client.private_message(admin_id, content, key=key)
                sent += 1
                reached.add(admin_id)
                self._reached_admin(admin_id)
            except LemmyError as exc:
                errors.append(str(exc))
                # Lemmy's own answer (an error code, a rate limit) says it stored nothing;
                # so does a hold (``Held``: not sent, whatever its code)
                lost = lost or (
                    isinstance(exc, LemmyUnavailable)
                    and not isinstance(exc, Held)
                    and exc.error in _NO_ANSWER
                )
                if self.client.api_version == "v4" and _answered(exc):
                    # 1.0 kept the key though it stored nothing: a resend under it would
                    # be answered 422 ("done") and never reach this admin. The key of the
                    # last try is the one recorded last (the client records each next
                    # one before it sends it, after a rate limit), not ``key``.
                    _Key(self.store, marker, admin_id, self.run_id).spent()
                if exc.error in REFUSED_FOR_GOOD:
                    refused.add(admin_id)
                elif exc.error == PMS_OFF and self.client.api_version == "v4":
                    lasting = self._pms_off(admin_id)
                    if lasting is not None:
                        refused.add(admin_id)
                        errors[-1] = f"{exc} ({lasting})"
        errors += [f"admin {a}: Lemmy refused it for good when it was sent before" for a in earlier]
        passing = len(errors) - len(refused)  # failures a later cycle may get past
        if sent and passing:
            # Failed for some admins only: the notice is not done until they have it, and
            # its resend (under this marker) must skip those who do, and those refused
            # (``r`` before their ids).
            ids = ",".join([str(a) for a in sorted(reached)] + [f"r{a}" for a in sorted(refused)])
            self.store.record_action(REACHED_KIND, marker, "kept", ids, self.run_id)
            said = f"private message to {sent} admin(s); failed for {len(errors)}: {errors[0]}"
            for n in claimed:
                self.store.record_action(
                    "notify", n.key, "failed", f"{FAILED_PREFIX}{marker}: {said}"[:500], self.run_id
                )
                n.settle("failed", f"{said[:500]}; tried again next cycle", retry=True)
            return
        for n in claimed:
            if sent:
                also = f"; refused for {len(errors)}: {errors[0]}" if errors else ""
                at = self.store.record_action(
                    "notify", n.key, "done", f"{sent} admin(s){also}"[:500], self.run_id, item=n.key
                )
                n.settle("done", f"private message to {sent} admin(s){also}"[:500], done_at=at)
            else:
                said = "; ".join(errors)
                self.store.record_action(
                    "notify",
                    n.key,
                    "failed",
                    (f"{FAILED_PREFIX}{marker}: {said}" if lost else said)[:500],
                    self.run_id,
                )
                # tried again next cycle, unless Lemmy refused it to every admin for good
                n.settle("failed", said[:500], retry=len(refused) < len(errors))

    def _pms_off(self, admin_id: int) -> str | None:
        """Lemmy answered ``PMS_OFF`` to a message for ``admin_id``: counted (once a
        cycle); why it is taken for lasting (the admin turned private messages off), or
        None while it may be a passing fault."""
        row = self.store.action(PMS_OFF_KIND, str(admin_id))
        detail = str(row["detail"]) if row else ""
        count = int(detail) if detail.isdigit() else 0
        now = self.clock()
        first = float(row["done_at"]) if row and count else now  # 0: reached since
        if admin_id not in self._counted:
            self._counted.add(admin_id)
            count += 1
            self.store.record_action(
                PMS_OFF_KIND, str(admin_id), "kept", str(count), self.run_id, at=first
            )
        if count < LASTING_CYCLES or now - first < LASTING_S:
            return None
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(first))
        why = (
            f"admin {admin_id}: Lemmy answered {PMS_OFF} on {count} cycles since {since}, "
            "none reaching them: taken for private messages off in their settings "
            "(Lemmy 1.0's answer to that); not tried again for this message"
        )
        log.warning(
            "%s. Each new message is still tried once; ask them to turn private messages "
            "on (if every admin is refused, check the bot account's own setting)",
            why,
        )
        return why

    def _reached_admin(self, admin_id: int) -> None:
        """A message reached ``admin_id``: a ``PMS_OFF`` count for them starts afresh."""
        row = self.store.action(PMS_OFF_KIND, str(admin_id))
        if row and row["detail"] != "0":
            self.store.record_action(PMS_OFF_KIND, str(admin_id), "kept", "0", self.run_id)

    def sent(
        self, row: dict[str, Any], bot_person_id: int | None, admin_ids: set[int]
    ) -> bool | None:
        """Whether the bot's sent messages hold a copy, for every admin, of the message a
        notice was claimed with (``row``: its claim); None when that cannot be told. The
        admins who have one are remembered: the message goes again to the others only
        (a kill between two admins' copies must not leave the second without one)."""
        claimed = claimed_marker(row)
        if claimed is None:
            return None
        if bot_person_id is None:  # not read yet: the account says
            if self._bot_id is None:
                self._bot_id = self.client.own_person_id()
            bot_person_id = self._bot_id
        marker = f"(modbot message {claimed})"
        admins = admin_ids - {bot_person_id}
        reached: set[int] = set()
        oldest: float | None = None  # the oldest copy found, by Lemmy's clock
        for page in range(1, 21):  # newest first; the claim is recent
            messages = self.client.sent_messages(bot_person_id, page)
            for m in messages:
                when = m.published.timestamp() if m.published is not None else None
                if marker in m.content:
                    if m.recipient_id is None:  # whom it went to is not told: not resent
                        return True
                    reached.add(m.recipient_id)
                    if when is not None:
                        oldest = when if oldest is None else min(oldest, when)
                since = oldest if oldest is not None else row["done_at"] - CLOCK_SKEW_S
                if when is not None and when < since - SENT_WITHIN_S:
                    return self._read_all(claimed, reached, admins)
            if len(messages) < 50:
                return self._read_all(claimed, reached, admins)
        return self._reached_all(claimed, reached, admins) if reached else None

    def reached_some(self, marker: str) -> bool:
        """Whether ``sent`` found copies of the message ``marker`` for some admins (not
        all), or it went to some when it failed for others: its resend, under that
        marker, goes to the others only."""
        return bool(self._reached.get(marker) or self._went_to(marker))

    def _went_to(self, marker: str, *, refused: bool = False) -> set[int]:
        """The admins the message ``marker`` went to (or, ``refused``, those Lemmy refused
        it to for good), recorded when it failed for others."""
        row = self.store.action(REACHED_KIND, marker)
        ids = str(row["detail"]).split(",") if row else []
        if refused:
            return {int(i[1:]) for i in ids if i.startswith("r") and i[1:].isdigit()}
        return {int(i) for i in ids if i.isdigit()}

    def _read_all(self, claimed: str, reached: set[int], admins: set[int]) -> bool:
        """``_reached_all``, the bot's sent messages read back past the message
        ``claimed``: an admin without a copy did not get it. On 1.0 their resend takes
        the next idempotency key (recorded first): Lemmy keeps a key whatever it answered
        under it, so after a refusal whose answer was lost (the insert failed, a proxy's
        timeout) the same key would be dropped (422, read as done) and never reach them."""
        if self.client.api_version == "v4":
            for admin_id in sorted(admins - reached - self._went_to(claimed)):
                _Key(self.store, claimed, admin_id, self.run_id).spent()
        return self._reached_all(claimed, reached, admins)

    def _reached_all(self, claimed: str, reached: set[int], admins: set[int]) -> bool:
        """Whether the admins with a copy of the message ``claimed`` are all of them."""
        if not reached:
            return False
        self._reached[claimed] = reached
        return admins <= reached


def claimed_marker(row: dict[str, Any]) -> str | None:
    """The marker of the message a notice's claim (``row``) was made for, if any; for a
    notice whose message failed (``FAILED_PREFIX``), that message's."""
    detail = row.get("detail") or ""
    if detail.startswith(CLAIM_PREFIX):
        return detail[len(CLAIM_PREFIX) :]
    if row.get("status") == "failed" and detail.startswith(FAILED_PREFIX):
        return detail[len(FAILED_PREFIX) :].split(": ", 1)[0]
    return None


def _answered(exc: LemmyError) -> bool:
    """Whether Lemmy itself answered ``exc``'s error under the request's key (a 400 with
    its code). A rate limit or a 5xx with its code is not: the client spent that key
    already, retrying (``v4._act``); a lost answer keeps it (Lemmy may have acted)."""
    return not isinstance(exc, LemmyUnavailable) and exc.error is not None


def _key(marker: str, admin_id: int, generation: int = 0) -> str:
    """The idempotency key of one admin's copy of the message ``marker``: the same for a
    resend, different for each admin (Lemmy keys are per sending account), and for each
    ``generation`` (the next after Lemmy answered an error under one)."""
    name = f"modbot message {marker} to {admin_id}" + (f" #{generation}" if generation else "")
    return hashlib.sha256(name.encode()).hexdigest()[:32]


class _Key(str):
    """One admin's idempotency key for the message ``marker``, of the generation recorded
    last (0 when none). Lemmy 1.0 keeps a key before its rate limiter and handlers run,
    whatever they answer (routes/src/middleware/idempotency.rs), so a key it answered an
    error under (a 429) was never carried out and would answer 422 ("done") ever after:
    the client asks ``spent`` for the key of its next attempt, recorded before that is
    sent. A resend after a kill in the backoff so takes a key Lemmy never saw; a resend
    after a send whose answer was lost keeps the key, and Lemmy drops it if it went."""

    store: Store
    marker: str
    admin_id: int
    run_id: str
    generation: int

    def __new__(
        cls, store: Store, marker: str, admin_id: int, run_id: str, generation: int | None = None
    ) -> _Key:
        if generation is None:
            row = store.action(KEY_KIND, f"{marker} to {admin_id}")
            detail = str(row["detail"]) if row else ""
            generation = int(detail) if detail.isdigit() else 0
        key = super().__new__(cls, _key(marker, admin_id, generation))
        key.store, key.marker, key.admin_id = store, marker, admin_id
        key.run_id, key.generation = run_id, generation
        return key

    @property
    def mark(self) -> str:
        """The line that names this key's message in its text, whatever else Lemmy made
        of it (0.19's client finds a copy whose answer was lost by it)."""
        return _footer(self.marker).strip()

    def spent(self) -> _Key:
        """Lemmy answered an error under this key: the next one, recorded first."""
        after = self.generation + 1
        target = f"{self.marker} to {self.admin_id}"
        self.store.record_action(KEY_KIND, target, "kept", str(after), self.run_id)
        return _Key(self.store, self.marker, self.admin_id, self.run_id, after)


def _footer(marker: str) -> str:
    return f"\n\n(modbot message {marker})"


def _units(text: str) -> int:
    """Lemmy's length of a text: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _room(marker: str) -> int:
    """What the notices' lines of the message ``marker`` may take."""
    return MESSAGE_MAX - _units(HEAD + _footer(marker))


def _line(message: str, room: int) -> str:
    """A notice's line in a message, cut to ``room`` when longer."""
    line = f"- {message}"
    if _units(line) <= room:
        return line
    keep, end = room - _units(CUT), 0
    while end < len(line) and keep - _units(line[end]) >= 0:
        keep -= _units(line[end])
        end += 1
    # never inside a code span (what it holds would be live Markdown) nor a backtick run
    for start, stop in _code_spans(line):
        if start < end < stop:
            end = start
    while 0 < end < len(line) and line[end - 1] == line[end] == "`":
        end -= 1
    return line[:end].rstrip() + CUT if end > 2 else "- …"


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text``'s code spans are, as CommonMark pairs backtick runs within a
    paragraph: an opening run (not backslash-escaped) with the next run as long."""
    spans = []
    bounds = [0, *(m.end() for m in _BLANK_LINE.finditer(text)), len(text)]
    for first, last in itertools.pairwise(bounds):
        runs = [(m.start(), m.end()) for m in _TICKS.finditer(text, first, last)]
        by_width: dict[int, list[int]] = {}
        for k, (start, stop) in enumerate(runs):
            by_width.setdefault(stop - start, []).append(k)
        i = 0
        while i < len(runs):
            start, stop = runs[i]
            back = start
            while back > first and text[back - 1] == "\\":
                back -= 1
            start += (start - back) % 2  # an escaped backtick is a literal one
            i += 1
            same = by_width.get(stop - start, [])
            j = bisect.bisect_left(same, i)
            if stop > start and j < len(same):
                spans.append((start, runs[same[j]][1]))
                i = same[j] + 1
    return spans
