"""Executing the actions a rule decided: idempotent, dry-run aware, behind a safety valve.

Every action has a key, (kind, target) such as ``("remove", "post:12")`` or
``("ban", "site:person:7")``. One recorded as done in the store is never sent again,
also after a restart; a report or a notification is sent at most once per item. Before
it is sent an action is claimed in the store (atomically: two processes never both
send it); a claim left by a process that died while sending is settled by asking Lemmy
whether the action took effect (the post removed? the person banned? the report or
message there?), and only sent when it did not; so is one whose last attempt failed
(Lemmy may have acted and its answer been lost: a proxy's page, a timeout). A report, or a message without 1.0's
idempotency keys, that Lemmy cannot say about (a bot account that is no admin sees no
report list) is recorded interrupted and never sent again: a second is a repeat.
Admins are never acted on (checked here again, whatever the rules said). In dry-run
every action is recorded as ``planned`` and nothing is sent.

What each kind of the action table (``modbot.actions.kinds``) does is its handler in
``modbot.actions.handlers``; the safety valve is ``modbot.actions.valve``, the admins'
messages ``modbot.actions.notices``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from modbot.actions.handlers import COVERED, DONE, HANDLERS, NOT_POSSIBLE, NOT_PURGED, FoundGone
from modbot.actions.kinds import ACTIONS, DESTRUCTIVE, REPORT_MAX, takes_item_down
from modbot.actions.notices import Notice, Notices, claimed_marker
from modbot.actions.valve import Valve
from modbot.errors import LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.lemmy.api import LemmyApi
from modbot.markdown import inert, lemmy_length
from modbot.model import ActionOutcome, PlannedAction, SiteInfo, Target
from modbot.store import SENDING, Store

__all__ = ["Executor"]

log = logging.getLogger(__name__)

# Sent twice, these are two (a second report, a second message): after a crash while
# sending one, it is sent again only when Lemmy shows it was not done; a message also
# when Lemmy drops a resend itself (1.0's idempotency keys). Else it stays interrupted.
UNREPEATABLE = ("report", "notify")
INTERRUPTED = "interrupted"
# The admins read before acting serve the items acted on within this many seconds (a
# burst of removals, `modbot report` planning a window): one GET /site, not one each.
ADMINS_FRESH_S = 5.0
# The actions a dry run remembers having planned (one ban planned once for a person's
# items), at most: `run --dry-run` may run for weeks. The oldest are forgotten first.
MAX_PLANNED = 100_000


@dataclass
class Executor:
    """Runs planned actions for one run (``run_id``) of the bot."""

    client: LemmyApi
    store: Store
    run_id: str
    dry_run: bool
    max_destructive_per_hour: int = 20
    admin_ids: set[int] = field(default_factory=set)
    bot_person_id: int | None = None
    purge_by_alias: bool = False  # a file purged by an alias (pict-rs, or Lemmy 1.0's own)
    # pict-rs' internal API itself (PICTRS_URL and its key): one alias deleted, a proxied
    # copy purged; Lemmy 1.0 purges a whole file without it, these not
    pictrs_api: bool = False
    clock: Callable[[], float] = time.time
    # why the uploader of an alias is exempt (rules.yaml's global exemptions), or None:
    # a purge that takes another of an item's files spares theirs (the pipeline's)
    upload_exempt: Callable[[str], str | None] = lambda alias: None
    # dry run: planned this run (insertion order: the oldest forgotten past MAX_PLANNED)
    _planned: dict[tuple[str, str], None] = field(default_factory=dict)
    # Runs whose claims are settled by asking Lemmy: those that died while sending (the
    # pipeline names them when it takes the acting lock) and this one (a claim of its
    # own is never in flight when it is looked at: one pipeline acts at a time).
    stale_runs: set[str] = field(default_factory=set)
    # While carrying out the remaining actions of an item a killed run was acting on:
    # that run and any that resumed it before, so what they did for the item shows as
    # done (and when) in its decision rather than as "already done".
    resuming: set[str] = field(default_factory=set)
    current_item: str | None = None  # the item whose actions are being carried out
    _admins_read: float | None = None  # time.monotonic() of the last ``_read_admins``
    _admins_listed: set[int] | None = None  # the admins that read found (none removed)
    _site_read: tuple[float, SiteInfo] | None = None  # ``site_now``'s last read, and when
    # ban key -> when Lemmy last showed modbot's ban of it in place (``ban`` handler's
    # check for one lifted by hand: a person's hundred later items read Lemmy once)
    bans_seen: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.valve = Valve(self.store, dry_run=self.dry_run)
        self.notices = Notices(
            self.client, self.store, self.run_id, dry_run=self.dry_run, clock=self.clock
        )

    # ------------------------------------------------------------------ entry points
    def execute(self, target: Target, actions: list[PlannedAction]) -> list[ActionOutcome]:
        """Carry out (or plan) ``actions`` (the rules' plan) on ``target``."""
        outcomes: list[ActionOutcome] = []
        self.current_item = target.key
        admin = target.author_is_admin or (target.author_id in self.admin_ids)
        is_admin = "the author is an admin: never acted on"
        unread = None  # why the admins could not be read right before acting
        if not admin and any(p.kind in DESTRUCTIVE for p in actions):
            unread = self._read_admins()
            if target.author_id in self.admin_ids:
                admin = True
                is_admin = (
                    "the author is an admin (made one since modbot last read the list): "
                    "never acted on"
                )
        reported = False
        not_purged = None
        not_removed = None  # why Lemmy would not remove it (a comment its author deleted)
        held: list[str] = []  # actions the safety valve held back (reported instead)
        # actions that failed (kind, why): the rule's message may say they were done
        failed: list[tuple[str, str]] = []
        # the rule's actions not done because the author is an admin
        spared = [p.kind for p in actions if p.kind != "notify_admins"] if admin else []
        gone = False  # the item was taken down (the action table says): no report on it
        for planned in actions:
            kind = planned.kind
            if kind == "notify_admins" and (not_purged or not_removed or held or failed or spared):
                # The rule's message may say "removes", "purges", "bans": say what
                # happened to this item.
                said = self._as_done(planned.reason, not_purged, held, not_removed)
                if spared:
                    said += f" [not done: {', '.join(spared)}: {is_admin}]"
                for failed_kind, why in failed:
                    said += f" [failed: {failed_kind} ({why})]"
                planned = replace(planned, reason=said)
            if admin and kind != "notify_admins":
                outcomes.append(ActionOutcome(kind, "skipped", is_admin))
                continue
            if unread is not None and kind in DESTRUCTIVE:
                outcomes.append(ActionOutcome(kind, "failed", unread, retry=True))
                continue
            handler = HANDLERS.get(kind)
            if handler is None:
                outcomes.append(ActionOutcome(kind, "skipped", f"unknown action {kind!r}"))
                continue
            outcome = handler(self, target, planned)
            outcomes.append(outcome)
            if outcome.valve:
                held.append(outcome.action)
            if kind == "purge_image" and outcome.status == NOT_POSSIBLE:
                local = target.image_alias or target.image_original_url
                not_purged = NOT_PURGED["needs_pictrs" if local else "remote"]
            if kind == "remove" and outcome.status == NOT_POSSIBLE:
                not_removed = outcome.detail
            if outcome.status == "failed":
                # (Lemmy's words, as they are: inert in the message)
                why = inert(outcome.detail[:200])
                failed.append((outcome.action, why + ("; tried again" if outcome.retry else "")))
            reported = reported or kind == "report"
            gone = gone or (
                outcome.status in DONE and takes_item_down(kind, planned.params, target.kind)
            )
            if (
                outcome.valve
                and not reported
                and not gone
                and not any(a.kind == "report" for a in actions)
            ):
                # Report-only: the moderators still get to see what would have been removed.
                # (The removal's reason, unless Lemmy would refuse it as a report's.)
                reason = planned.reason or "modbot"
                if lemmy_length(reason) > REPORT_MAX:
                    reason = f"modbot: {planned.rule}"[:REPORT_MAX]
                report = PlannedAction("report", reason, {}, planned.rule)
                outcomes.append(HANDLERS["report"](self, target, report))
                reported = True
        return outcomes

    def site_now(self) -> SiteInfo:
        """The site as Lemmy shows it right before acting (its icon, banner and sidebar,
        which no action may take): read at most once in ``ADMINS_FRESH_S``, as the
        admins are, not once per action. Raises ``LemmyError`` when it cannot be read."""
        now = time.monotonic()
        if self._site_read is None or now - self._site_read[0] >= ADMINS_FRESH_S:
            self._site_read = (now, self.client.site_info())
        return self._site_read[1]

    def _read_admins(self, before: str = "acting") -> str | None:
        """Read the instance's admins afresh right before removing, purging or banning:
        the session's list is up to its check interval old, and a person made admin
        since must not be acted on (as the author, the uploader, or whose file it is).
        Those read are added to ``admin_ids`` (one no longer admin stays spared until
        the session reads the list again); the list as read is ``_admins_listed`` (the
        notices' recipients). ``before``: what it is read for, in the log. None, or why
        nothing destructive is done."""
        if self._admins_read is not None and time.monotonic() - self._admins_read < ADMINS_FRESH_S:
            return None
        try:
            # GET /site alone (``site_info`` also reads 1.0's /account and custom emojis)
            admins = self.client.admin_ids()
        except LemmyError as exc:
            log.warning("could not read the instance's admins before %s: %s", before, exc)
            return (
                f"could not read the instance's admins right before acting ({exc}): not "
                "done, so that no admin is acted on; tried again next cycle"
            )[:500]
        self._admins_read = time.monotonic()
        self._admins_listed = set(admins)
        new = set(admins) - self.admin_ids
        if new:
            log.info("made admin since modbot last read the list: person(s) %s", sorted(new))
            self.admin_ids |= new
        return None

    def _as_done(
        self,
        reason: str | None,
        not_purged: str | None,
        held: list[str],
        not_removed: str | None = None,
    ) -> str:
        """The rule's message to the admins, with what was not done to this item."""
        text = reason or "an image matched a rule"
        if not_removed:
            text += f" [not removed: {not_removed}]"
        if not_purged:
            text += f" [the image was not purged: {not_purged}]"
        if held:
            would = "would hold" if self.dry_run else "held"
            text += (
                f" [not done: {', '.join(held)}; the safety valve {would} them back (report-only)]"
            )
        return text

    def flush_notifications(self) -> None:
        """Send the queued admin notifications: one private message per admin, to the
        admins as Lemmy lists them now (``_read_admins``): ``admin_ids`` keeps one
        demoted since the session last read the list (spared from actions, the safe
        side), who must not be told what the bot found until then. When the list cannot
        be read, the session's."""
        admins = self._notice_recipients() if self.notices.queue else self.admin_ids
        self.notices.flush(sorted(admins - {self.bot_person_id}))

    def _notice_recipients(self) -> set[int]:
        """The admins a notice goes to (``flush_notifications``), and so those a sent one
        must have reached (``_notice_went``): as Lemmy lists them now, else the
        session's."""
        listed = None
        if not self.dry_run and self._read_admins("notifying") is None:
            listed = self._admins_listed
        return listed if listed is not None else self.admin_ids

    # ------------------------------------------------------------------ the valve
    def valve_tripped(self) -> dict | None:
        """The latched valve, or None. Its message to the admins is queued again until
        one was sent (Lemmy may have failed it): report-only must not stay unnoticed."""
        tripped = self.valve.tripped()
        if tripped:
            self._notify_valve(tripped)
        return tripped

    def _notify_valve(self, tripped: dict) -> None:
        self.notify(
            "safety-valve:" + tripped["tripped_at"],
            f"SAFETY VALVE tripped: {tripped['reason']}. modbot now only reports. "
            "Check the decisions (`modbot report`), then run "
            "`modbot run --reset-safety-valve`.",
        )

    # ------------------------------------------------------------------ plumbing
    def once(
        self,
        kind: str,
        key: str,
        describe: str,
        send: Callable[[], object],
        label: str | None = None,
        again: bool = False,
        verify: Callable[[dict[str, Any]], bool | None] | None = None,
        refused: Callable[[], str | None] | None = None,
        held: Callable[[], ActionOutcome | None] | None = None,
        found: Callable[[dict[str, Any]], None] | None = None,
    ) -> ActionOutcome:
        """Do ``send()`` unless (kind, key) is done already; record the result.
        ``label``: the action as the rule named it, when it is carried out as another.
        ``again``: what was done has run out (a temporary ban): do it anew.
        ``verify(claim_row)``: asks Lemmy whether the action took effect (True/False;
        None: cannot tell), for a claim a killed process left unsettled.
        ``refused()``: asked when Lemmy refused it for good: why it cannot be done at all
        (recorded ``not_possible``, not ``failed``), or None.
        ``held()``: why not to send it now (returned as it is), or None; asked inside the
        claim's transaction, so what another process claims or records cannot slip in
        between the check and the claim (``modbot undo`` beside the daemon).
        ``found(row)``: called with the store's row, inside the claim's transaction,
        when it is found done already (``Store.claim_action``)."""
        name = label or kind
        if kind in UNREPEATABLE:
            row = self.store.action(kind, key)
            if row and row["status"] == INTERRUPTED:
                return ActionOutcome(name, "skipped", f"not sent again: {row['detail']}")
        if self.dry_run:
            done = self.store.action(kind, key)
            if done and done["status"] in DONE and not again:
                return ActionOutcome(name, "skipped", f"already done: {done['detail'] or describe}")
            if (kind, key) in self._planned:
                return ActionOutcome(name, "skipped", f"already planned: {describe}")
            if kind in DESTRUCTIVE and not self.valve.dry_run_allows(
                self.max_destructive_per_hour, self.clock()
            ):
                return ActionOutcome(
                    name, "skipped", self.valve.detail(self.max_destructive_per_hour), valve=True
                )
            self._planned[(kind, key)] = None
            if len(self._planned) > MAX_PLANNED:
                del self._planned[next(iter(self._planned))]
            return ActionOutcome(name, "planned", describe)
        limit = self.max_destructive_per_hour
        valve = self.valve.terms(limit, self.clock()) if kind in DESTRUCTIVE else {}
        # An attempt that failed before may have been carried out: Lemmy acted, then its
        # answer was lost (a proxy's page, a timeout). Lemmy is asked before it is sent again.
        before = self.store.action(kind, key)
        unsure = before is not None and before["status"] == "failed" and verify is not None
        holding: list[ActionOutcome] = []

        def holds() -> str | None:
            found = held() if held is not None else None
            if found is not None:
                holding.append(found)
            return None if found is None else found.detail

        while True:
            claim = self.store.claim_action(
                kind,
                key,
                self.run_id,
                describe,
                again=again,
                item=self.current_item,
                held=holds if held is not None else None,
                found=found,
                **valve,
            )
            if claim.outcome == "held":
                return holding[-1]
            if claim.outcome == "done":
                assert claim.row is not None  # a done claim carries its row
                return self._already(name, claim.row, describe)
            if claim.outcome == "valve":
                if claim.tripped:
                    log.error(
                        "SAFETY VALVE tripped (%s): report-only until an admin runs "
                        "`modbot run --reset-safety-valve`",
                        claim.tripped["reason"],
                    )
                    self._notify_valve(claim.tripped)
                return ActionOutcome(name, "skipped", self.valve.detail(limit), valve=True)
            if claim.outcome != SENDING:
                break
            assert claim.row is not None  # a sending claim carries its row
            settled = self._settle(kind, key, name, claim.row, verify)
            if settled is not None:
                return settled
            # Lemmy did not do it: the claim is cleared, claim it again and send it.
            unsure = False  # asked already
        if unsure:
            assert before is not None and verify is not None  # what makes it unsure
            took = self._took_before(kind, key, name, describe, before, verify)
            if took is not None:
                return took
        try:
            sent = send()
        except (LemmyUnavailable, LemmyLoginError) as exc:
            # A login refused (the password changed while the bot runs) is no verdict on
            # the action: it is sent again once the admin fixed the login.
            log.warning("%s %s failed (will retry next cycle): %s", name, key, exc)
            self.store.record_action(
                kind, key, "failed", str(exc)[:500], self.run_id, item=self.current_item
            )
            return ActionOutcome(name, "failed", str(exc)[:500], retry=True)
        except LemmyError as exc:
            why = self._not_possible(refused)
            if why is not None:
                log.info("%s %s: not possible: %s (%s)", name, key, why, exc)
                self.store.record_action(
                    kind, key, NOT_POSSIBLE, why, self.run_id, item=self.current_item
                )
                return ActionOutcome(name, NOT_POSSIBLE, why)
            log.warning("%s %s failed: %s", name, key, exc)
            self.store.record_action(
                kind, key, "failed", str(exc)[:500], self.run_id, item=self.current_item
            )
            return ActionOutcome(name, "failed", str(exc)[:500])
        if isinstance(sent, FoundGone):  # nothing left to act on: covered, not counted
            log.info("%s %s: %s", name, key, sent.detail)
            at = self.store.record_action(
                kind, key, COVERED, sent.detail, self.run_id, item=self.current_item
            )
            if sent.theirs:  # someone else did it: not the bot's (undo leaves it)
                return ActionOutcome(name, "skipped", sent.detail)
            return ActionOutcome(name, "done", sent.detail, done_at=at)
        at = self.store.record_action(
            kind, key, "done", describe, self.run_id, item=self.current_item
        )
        log.info("%s: %s", name, describe)
        if self.resuming:
            describe += " (after modbot restarted)"
        return ActionOutcome(name, "done", describe, done_at=at)

    def _took_before(
        self,
        kind: str,
        key: str,
        name: str,
        describe: str,
        before: dict,
        verify: Callable[[dict[str, Any]], bool | None],
    ) -> ActionOutcome | None:
        """Claimed again after an attempt that failed (``before``): whether Lemmy shows it
        done, so it is recorded done, not sent twice (a second ban line, a timed ban that
        ends later than the rule says). None: send it."""
        try:
            took = verify(before)
        except (LemmyUnavailable, LemmyLoginError) as exc:
            # no answer about it: neither sent nor taken for done; asked again next cycle
            self.store.record_action(
                kind, key, "failed", before["detail"], before["run_id"], at=before["done_at"]
            )
            return ActionOutcome(
                name,
                "failed",
                f"an earlier attempt may have been done, and Lemmy cannot say now ({exc}); "
                "asked again next cycle",
                retry=True,
            )
        except LemmyError as exc:
            log.warning("%s %s: cannot check whether it was done (%s)", name, key, exc)
            return None
        if not took:
            return None
        detail = f"{describe} (an earlier attempt failed, but Lemmy shows it done: not sent again)"
        log.info("%s %s: Lemmy shows it done by an earlier attempt; not sent again", name, key)
        at = self.store.record_action(
            kind, key, "done", detail, self.run_id, item=self.current_item
        )
        return ActionOutcome(name, "done", detail, done_at=at)

    def planned_already(self, kind: str, key: str) -> bool:
        """Whether this dry run planned (kind, key) already."""
        return (kind, key) in self._planned

    @staticmethod
    def _not_possible(refused: Callable[[], str | None] | None) -> str | None:
        """Why an action Lemmy refused cannot be done at all, when ``refused`` can tell."""
        if refused is None:
            return None
        try:
            return refused()
        except LemmyError as exc:  # cannot tell: the refusal stands as a failure
            log.warning("cannot tell why Lemmy refused it: %s", exc)
            return None

    def _already(self, name: str, row: dict, describe: str) -> ActionOutcome:
        if row["run_id"] in self.resuming and row.get("item") == self.current_item:
            # Done for this very decision before the process stopped: it says so, and when.
            return ActionOutcome(
                name, row["status"], row["detail"] or describe, done_at=row["done_at"]
            )
        return ActionOutcome(name, "skipped", f"already done: {row['detail'] or describe}")

    def _settle(
        self,
        kind: str,
        key: str,
        name: str,
        row: dict,
        verify: Callable[[dict], bool | None] | None,
    ) -> ActionOutcome | None:
        """A claim nobody settled: ask Lemmy whether it took effect. Returns the outcome
        when it did (or when that cannot be known now, or not at all for an action that
        must not be sent twice); None when it did not (the claim is cleared: send it)."""
        if row["run_id"] != self.run_id and row["run_id"] not in self.stale_runs:
            return ActionOutcome(
                name,
                "skipped",
                f"being carried out by another modbot process (run {row['run_id']}) on this state",
            )
        try:
            took = verify(row) if verify is not None else None
        except (LemmyUnavailable, LemmyLoginError) as exc:
            # Lemmy down, or the login refused (a changed password, login rate-limited):
            # no answer about the action, as when sending it (``once``).
            return ActionOutcome(
                name,
                "failed",
                "modbot stopped while sending this and Lemmy "
                f"cannot say now whether it was done ({exc}); asked again next "
                "cycle",
                retry=True,
            )
        except LemmyError as exc:
            log.warning("%s %s: cannot check whether it was done (%s)", name, key, exc)
            took = None
        if took:
            detail = (
                f"{row['detail']} (sent by run {row['run_id']}, which stopped before "
                "Lemmy answered; Lemmy shows it done)"
            )
            self.store.record_action(
                kind, key, "done", detail, row["run_id"], at=row["done_at"], item=row.get("item")
            )
            log.info(
                "%s %s: in flight when run %s stopped; Lemmy shows it done",
                name,
                key,
                row["run_id"],
            )
            return self._already(name, {**row, "status": "done", "detail": detail}, detail)
        why = (
            "Lemmy shows it not done" if took is False else "Lemmy cannot show whether it was done"
        )
        if took is None and not self._resendable(kind):
            detail = (
                f"interrupted: {why} (run {row['run_id']} stopped while sending it); "
                "not sent again, so it is never sent twice"
            )
            log.warning(
                "%s %s: in flight when run %s stopped; %s: not sent again",
                name,
                key,
                row["run_id"],
                why,
            )
            self.store.record_action(
                kind,
                key,
                INTERRUPTED,
                detail,
                row["run_id"],
                at=row["done_at"],
                item=row.get("item"),
            )
            return ActionOutcome(name, "failed", detail)
        log.warning(
            "%s %s: in flight when run %s stopped; %s: sending it", name, key, row["run_id"], why
        )
        self.store.record_action(
            kind,
            key,
            "failed",
            f"interrupted: {why}",
            row["run_id"],
            at=row["done_at"],
            item=row.get("item"),
        )
        return None

    def _resendable(self, kind: str) -> bool:
        """Whether an action Lemmy cannot say about may be sent again (see UNREPEATABLE)."""
        if kind == "notify":
            return self.client.api_version == "v4"
        return kind not in UNREPEATABLE

    def _notice_went(self, row: dict[str, Any]) -> bool | None:
        """Whether the bot's sent messages show the message a notice was claimed with
        (``row``) sent to every admin it goes to (``Notices.sent``): not to one demoted
        since the session read the list, whom it is not sent."""
        return self.notices.sent(row, self.bot_person_id, self._notice_recipients())

    # ------------------------------------------------------------------ actions
    def notify(self, key: str, message: str, action: str = "notify_admins") -> ActionOutcome:
        done = self.store.action("notify", key)
        resend_of = None
        if done and done["status"] == SENDING and not self.dry_run:
            settled = self._settle("notify", key, action, done, self._notice_went)
            if settled is not None:
                return settled
            # sent again under its marker: Lemmy 1.0 drops it if the first one went
            resend_of = claimed_marker(done)
            done = None
        failed_as = claimed_marker(done) if done and done["status"] == "failed" else None
        if failed_as is not None and not self.dry_run and not self.notices.queued(key):
            # Its message failed, but Lemmy may have stored it (its answer lost): the bot's
            # sent messages say, and the admins who got it are not sent it again. Asked as
            # a killed run's claim is (``_settle``), on either Lemmy: no answer about it
            # is asked again next cycle, never taken for "not sent".
            assert done is not None  # what failed_as comes from
            try:
                went = self._notice_went(done)
            except (LemmyUnavailable, LemmyLoginError) as exc:
                return ActionOutcome(
                    action,
                    "failed",
                    f"its message may have gone (its answer was lost), and Lemmy cannot "
                    f"say now ({exc}); asked again next cycle"[:500],
                    retry=True,
                )
            except LemmyError as exc:
                log.warning("cannot tell whether the admins got message %s: %s", failed_as, exc)
                went = None
            if went:
                detail = "private message to the admins (Lemmy shows it sent, its answer lost)"
                at = self.store.record_action("notify", key, "done", detail, self.run_id, item=key)
                return ActionOutcome(action, "done", detail, done_at=at)
            # the others only, under its marker; on 1.0 also under its idempotency keys,
            # which Lemmy drops for a copy that went while it remembers them. On 0.19,
            # when none has it (or that cannot be told), it goes as a new message.
            if self.client.api_version == "v4" or self.notices.reached_some(failed_as):
                resend_of = failed_as
            done = None
        if done and done["status"] == INTERRUPTED:
            return ActionOutcome(action, "skipped", f"not sent again: {done['detail']}")
        if done and done["status"] == "done":
            if done["run_id"] in self.resuming and done.get("item") == key:
                return self._already(action, done, "admins were notified")
            return ActionOutcome(action, "skipped", "admins were notified already")
        outcome = ActionOutcome(
            action, "planned" if self.dry_run else "queued", "private message to the admins"
        )
        queued = self.notices.find(key)
        if queued is not None:
            if any(o.action == action for o in (queued.outcome, *queued.also)):
                return ActionOutcome(action, "skipped", "admins are notified once per item")
            # One notice per item: another action's message about it (an upload's report,
            # which Lemmy has none for, beside the rule's notify_admins) goes in it.
            queued.add(message, outcome)
            return outcome
        self.notices.queue.append(Notice(key, message, outcome, resend_of))
        return outcome


missing = set(ACTIONS) - set(HANDLERS)
if missing:  # a row added to the action table without its handler
    raise ImportError(f"the action table has kinds without a handler: {sorted(missing)}")
