"""Executing the actions a rule decided: idempotent, dry-run aware, behind a safety valve.

Every action has a key, (kind, target) such as ``("remove", "post:12")`` or
``("ban", "site:person:7")``. One recorded as done in the store is never sent again,
also after a restart; a report or a notification is sent at most once per item. Before
it is sent an action is claimed in the store (atomically: two processes never both
send it); a claim left by a process that died while sending is settled by asking Lemmy
whether the action took effect (the post removed? the person banned? the report or
message there?), and only sent when it did not.
Admins are never acted on (checked here again, whatever the rules said). In dry-run
every action is recorded as ``planned`` and nothing is sent.

No action becomes a more destructive one: ``purge_image`` purges the image file from
pict-rs (or deletes an upload with its own delete token) and nothing else; when it
cannot (no pict-rs access, a remote image) it is recorded ``not_possible`` with why,
the rule's other actions go on, and the admins are told once per cause.

Safety valve: when more than ``max_destructive_per_hour`` removals, purges and bans
would be done within an hour, the bot switches to report-only (latched in the store
until ``modbot run --reset-safety-valve``) and tells the admins once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from modbot.errors import LemmyError, LemmyUnavailable
from modbot.lemmy.api import LemmyApi
from modbot.markdown import inert
from modbot.model import Item
from modbot.store import DESTRUCTIVE_KINDS, SENDING, Store, utc_iso

__all__ = ["Executor", "Outcome", "Target"]

log = logging.getLogger(__name__)

HOUR = 3600.0
# An action the rule asked for that modbot cannot carry out here (purge_image of a remote
# image, or without pict-rs access). Not sent, so not counted by the safety valve.
NOT_POSSIBLE = "not_possible"
NOT_POSSIBLE_DETAIL = {
    "needs_pictrs": "needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY; the image "
    "stays in pict-rs (the post is never purged instead)",
    "remote": "remote image: it is not stored in this instance's pict-rs, so there is "
    "nothing to purge here (the post is never purged instead)",
}
_NOT_PURGED = {"needs_pictrs": "modbot has no pict-rs access", "remote": "it is a remote image"}
# An action's state in the store that means "not again": done, or done by another action
# (covered: not counted by the safety valve).
COVERED = "covered"
DONE = ("done", COVERED)
_MESSAGE = "sending private message "  # a notice's claim: this, then the message's marker


@dataclass(frozen=True)
class Target:
    """What an item's actions act on."""

    kind: str  # post | comment | upload
    id: int | str
    url: str = ""
    author_id: int | None = None
    author_name: str = ""
    author_is_admin: bool = False
    community_id: int | None = None
    image_alias: str | None = None  # local pict-rs alias of the image
    image_url: str = ""
    image_original_url: str | None = None  # behind an image_proxy URL
    image_sha256: str | None = None
    delete_token: str | None = None  # an upload's pict-rs delete token
    file_exempt: str | None = None  # why the file must be spared: an exempt item shows it

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def _where(t: Target) -> str:
    """The item for a message: the link to a post or comment (modbot's own, built from
    the instance URL and the id); an upload's URL is the image itself: inert."""
    if t.kind in ("post", "comment") and t.url:
        return t.url
    return inert(t.url or t.image_url)


@dataclass
class Outcome:
    """One action of a decision as the audit records it."""

    action: str
    status: str  # planned | done | failed | skipped | covered | not_possible | queued
    detail: str = ""
    retry: bool = False  # failed for a passing reason: look at the item again next cycle
    valve: bool = False  # held back by the safety valve
    done_at: float | None = None  # when it was sent (done), as the store recorded it

    def as_dict(self) -> dict:
        out = {"action": self.action, "status": self.status, "detail": self.detail}
        if self.done_at is not None:
            out["done_at"] = utc_iso(datetime.fromtimestamp(self.done_at, UTC))
        return out


@dataclass
class _Notice:
    key: str
    message: str
    outcome: Outcome


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
    purge_by_alias: bool = False
    clock: Any = time.time
    _notices: list[_Notice] = field(default_factory=list)
    _planned_destructive: list = field(default_factory=list)  # dry-run: when, last hour
    _would_trip: bool = False  # dry-run: the simulated valve tripped
    _planned: set = field(default_factory=set)  # dry-run: (kind, key) planned this run
    # Runs whose claims are settled by asking Lemmy: those that died while sending (the
    # pipeline names them when it takes the acting lock) and this one (a claim of its
    # own is never in flight when it is looked at: one pipeline acts at a time).
    stale_runs: set[str] = field(default_factory=set)
    # While carrying out the remaining actions of an item a killed run was acting on:
    # that run and any that resumed it before, so what they did for the item shows as
    # done (and when) in its decision rather than as "already done".
    resuming: set[str] = field(default_factory=set)
    _messages: int = 0  # admin messages sent by this run (their markers)
    _item: str | None = None  # the item whose actions are being carried out

    # ------------------------------------------------------------------ entry points
    def execute(self, target: Target, actions: list[Any]) -> list[Outcome]:
        """Carry out (or plan) ``actions`` (rules' ``PlannedAction``s) on ``target``."""
        outcomes: list[Outcome] = []
        self._item = target.key
        admin = target.author_is_admin or (target.author_id in self.admin_ids)
        reported = False
        not_purged = None
        for planned in actions:
            kind = planned.kind
            if kind == "notify_admins" and not_purged:
                # The rule's message may say "purged": say what happened to this image.
                planned = replace(
                    planned,
                    reason=f"{planned.reason or 'an image matched a rule'}"
                    f" [the image was not purged: {not_purged}]",
                )
            if admin and kind != "notify_admins":
                outcomes.append(Outcome(kind, "skipped", "the author is an admin: never acted on"))
                continue
            handler = {
                "remove": self._remove,
                "purge_item": self._purge_item,
                "purge_image": self._purge_image,
                "ban": self._ban,
                "report": self._report,
                "notify_admins": self._notify_admins,
            }.get(kind)
            if handler is None:
                outcomes.append(Outcome(kind, "skipped", f"unknown action {kind!r}"))
                continue
            outcome = handler(target, planned)
            outcomes.append(outcome)
            if kind == "purge_image" and outcome.status == NOT_POSSIBLE:
                not_purged = _NOT_PURGED["needs_pictrs" if target.image_alias else "remote"]
            reported = reported or kind == "report"
            if outcome.valve and not reported and not any(a.kind == "report" for a in actions):
                # Report-only: the moderators still get to see what would have been removed.
                outcomes.append(self._report(target, planned.reason or "modbot"))
                reported = True
        return outcomes

    def flush_notifications(self) -> None:
        """Send the queued admin notifications: one private message per admin."""
        notices, self._notices = self._notices, []
        if not notices:
            return
        admins = sorted(self.admin_ids - {self.bot_person_id})
        if self.dry_run:
            for n in notices:
                n.outcome.status = "planned"
                n.outcome.detail = f"private message to {len(admins)} admin(s)"
            return
        if not admins:
            for n in notices:
                n.outcome.status, n.outcome.detail = "skipped", "no admin to notify"
            return
        # Each message carries a marker; the notices are claimed with it before sending,
        # so after a crash while sending, the bot's sent messages say whether it went.
        self._messages += 1
        marker = f"{self.run_id}/{self._messages}"
        claimed = []
        for n in notices:
            claim = self.store.claim_action(
                "notify", n.key, self.run_id, _MESSAGE + marker, item=n.key
            )
            if claim.outcome == "claimed":
                claimed.append(n)
            else:
                n.outcome.status, n.outcome.detail = "skipped", "admins were notified already"
        if not claimed:
            return
        lines = [f"- {n.message}" for n in claimed]
        content = (
            "modbot needs your attention:\n\n" + "\n".join(lines) + f"\n\n(modbot message {marker})"
        )
        sent, errors = 0, []
        for admin_id in admins:
            try:
                self.client.private_message(admin_id, content)
                sent += 1
            except LemmyError as exc:
                errors.append(str(exc))
        for n in claimed:
            if sent:
                n.outcome.done_at = self.store.record_action(
                    "notify", n.key, "done", f"{sent} admin(s)", self.run_id, item=n.key
                )
                n.outcome.status = "done"
                n.outcome.detail = f"private message to {sent} admin(s)" + (
                    f"; failed for {len(errors)}: {errors[0]}" if errors else ""
                )
            else:
                self.store.record_action(
                    "notify", n.key, "failed", "; ".join(errors)[:500], self.run_id
                )
                n.outcome.status, n.outcome.detail = "failed", "; ".join(errors)[:500]
                n.outcome.retry = True

    # ------------------------------------------------------------------ the valve
    def valve_tripped(self) -> dict | None:
        """The latched valve, or None. Its message to the admins is queued again until
        one was sent (Lemmy may have failed it): report-only must not stay unnoticed."""
        tripped = None if self.dry_run else self.store.valve_tripped()
        if tripped:
            self._notify_valve(tripped)
        return tripped

    def _notify_valve(self, tripped: dict) -> None:
        self._notify(
            "safety-valve:" + tripped["tripped_at"],
            f"SAFETY VALVE tripped: {tripped['reason']}. modbot now only reports. "
            "Check the decisions (`modbot report`), then run "
            "`modbot run --reset-safety-valve`.",
        )

    def _dry_valve_allows(self) -> bool:
        # Simulate: the dry-run report shows where the valve would trip. Per hour, as
        # the real one counts (a dry-run daemon runs for days), and latched as it is.
        limit = self.max_destructive_per_hour
        now = self.clock()
        self._planned_destructive = [t for t in self._planned_destructive if t > now - HOUR]
        if self._would_trip or len(self._planned_destructive) >= limit:
            self._would_trip = True
            return False
        self._planned_destructive.append(now)
        return True

    def _valve_terms(self) -> dict:
        """The live valve, counted in the store as each destructive action is claimed:
        every process on this state counts against the same limit."""
        limit = self.max_destructive_per_hour
        return {
            "valve_limit": limit,
            "valve_since": max(self.clock() - HOUR, self.store.valve_reset_at()),
            "valve_reason": f"more than {limit} destructive actions within an hour",
        }

    def _valve_detail(self) -> str:
        if self.dry_run:
            return (
                f"the safety valve would trip here (more than "
                f"{self.max_destructive_per_hour} destructive actions within an hour): "
                "reported instead"
            )
        return "safety valve tripped: report-only until an admin resets it; reported instead"

    # ------------------------------------------------------------------ plumbing
    def _once(
        self,
        kind: str,
        key: str,
        describe: str,
        send,
        label: str | None = None,
        again: bool = False,
        verify: Callable[[dict], bool | None] | None = None,
    ) -> Outcome:
        """Do ``send()`` unless (kind, key) is done already; record the result.
        ``label``: the action as the rule named it, when it is carried out as another.
        ``again``: what was done has run out (a temporary ban): do it anew.
        ``verify(claim_row)``: asks Lemmy whether the action took effect (True/False;
        None: cannot tell), for a claim a killed process left unsettled."""
        name = label or kind
        if self.dry_run:
            done = self.store.action(kind, key)
            if done and done["status"] in DONE and not again:
                return Outcome(name, "skipped", f"already done: {done['detail'] or describe}")
            if (kind, key) in self._planned:
                return Outcome(name, "skipped", f"already planned: {describe}")
            if kind in DESTRUCTIVE_KINDS and not self._dry_valve_allows():
                return Outcome(name, "skipped", self._valve_detail(), valve=True)
            self._planned.add((kind, key))
            return Outcome(name, "planned", describe)
        valve = self._valve_terms() if kind in DESTRUCTIVE_KINDS else {}
        while True:
            claim = self.store.claim_action(
                kind, key, self.run_id, describe, again=again, item=self._item, **valve
            )
            if claim.outcome == "done":
                return self._already(name, claim.row, describe)
            if claim.outcome == "valve":
                if claim.tripped:
                    log.error(
                        "SAFETY VALVE tripped (%s): report-only until an admin runs "
                        "`modbot run --reset-safety-valve`",
                        claim.tripped["reason"],
                    )
                    self._notify_valve(claim.tripped)
                return Outcome(name, "skipped", self._valve_detail(), valve=True)
            if claim.outcome != SENDING:
                break
            settled = self._settle(kind, key, name, claim.row, verify)
            if settled is not None:
                return settled
            # Lemmy did not do it: the claim is cleared, claim it again and send it.
        try:
            send()
        except LemmyUnavailable as exc:
            log.warning("%s %s failed (will retry next cycle): %s", name, key, exc)
            self.store.record_action(
                kind, key, "failed", str(exc)[:500], self.run_id, item=self._item
            )
            return Outcome(name, "failed", str(exc)[:500], retry=True)
        except LemmyError as exc:
            log.warning("%s %s failed: %s", name, key, exc)
            self.store.record_action(
                kind, key, "failed", str(exc)[:500], self.run_id, item=self._item
            )
            return Outcome(name, "failed", str(exc)[:500])
        at = self.store.record_action(kind, key, "done", describe, self.run_id, item=self._item)
        log.info("%s: %s", name, describe)
        if self.resuming:
            describe += " (after modbot restarted)"
        return Outcome(name, "done", describe, done_at=at)

    def _already(self, name: str, row: dict, describe: str) -> Outcome:
        if row["run_id"] in self.resuming and row.get("item") == self._item:
            # Done for this very decision before the process stopped: it says so, and when.
            return Outcome(name, row["status"], row["detail"] or describe, done_at=row["done_at"])
        return Outcome(name, "skipped", f"already done: {row['detail'] or describe}")

    def _settle(
        self,
        kind: str,
        key: str,
        name: str,
        row: dict,
        verify: Callable[[dict], bool | None] | None,
    ) -> Outcome | None:
        """A claim nobody settled: ask Lemmy whether it took effect. Returns the outcome
        when it did (or when that cannot be known now); None when it did not (the claim
        is cleared: send it)."""
        if row["run_id"] != self.run_id and row["run_id"] not in self.stale_runs:
            return Outcome(
                name,
                "skipped",
                f"being carried out by another modbot process (run {row['run_id']}) on this state",
            )
        try:
            took = verify(row) if verify is not None else None
        except LemmyUnavailable as exc:
            return Outcome(
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

    # ------------------------------------------------------------------ actions
    def _remove(self, t: Target, planned: Any) -> Outcome:
        reason = planned.reason or ""
        if t.kind == "post":
            return self._once(
                "remove",
                t.key,
                f"remove post {t.id}",
                lambda: self.client.remove_post(int(t.id), reason),
                verify=lambda row: self._item_removed(t),
            )
        if t.kind == "comment":
            return self._once(
                "remove",
                t.key,
                f"remove comment {t.id}",
                lambda: self.client.remove_comment(int(t.id), reason),
                verify=lambda row: self._item_removed(t),
            )
        return Outcome(
            "remove", "skipped", "an upload has no post or comment to remove (use purge_image)"
        )

    def _purge_item(self, t: Target, planned: Any) -> Outcome:
        reason = planned.reason or ""
        if t.kind == "post":
            return self._once(
                "purge_item",
                t.key,
                f"purge post {t.id}",
                lambda: self.client.purge_post(int(t.id), reason),
                verify=lambda row: self._read_item(t) is None,
            )
        if t.kind == "comment":
            return self._once(
                "purge_item",
                t.key,
                f"purge comment {t.id}",
                lambda: self.client.purge_comment(int(t.id), reason),
                verify=lambda row: self._read_item(t) is None,
            )
        return Outcome("purge_item", "skipped", "an upload has no post or comment to purge")

    def _purge_image(self, t: Target, planned: Any) -> Outcome:
        if (
            t.image_alias
            and self.store.image_owners(t.image_alias, t.image_sha256) & self.admin_ids
        ):
            # Someone else's item may show an admin's upload or the image of an admin's
            # post (or the same bytes: one file in pict-rs).
            return Outcome(
                "purge_image",
                "skipped",
                "the image is an admin's upload or in an admin's post: never acted on",
            )
        if t.file_exempt:
            return Outcome("purge_image", "skipped", f"the file is spared: {t.file_exempt}")
        if t.image_alias and self.purge_by_alias:
            alias = t.image_alias

            def purge() -> None:
                # pict-rs purged the file, so every alias of it: purging those again
                # would be a repeat (and count against the safety valve).
                for other in self.client.purge_file(alias):
                    if other != alias:
                        self.store.record_action(
                            "purge_image",
                            f"alias:{other}",
                            COVERED,
                            f"purged with alias {alias} (the same file)",
                            self.run_id,
                            item=self._item,
                        )

            return self._once(
                "purge_image",
                f"alias:{alias}",
                f"purge pict-rs file of alias {alias} (every alias of it)",
                purge,
                verify=lambda row: self.client.image_gone(alias),
            )
        if t.kind == "upload" and t.image_alias and t.delete_token:
            # What the uploader could do: delete this alias. pict-rs keeps the file while
            # another alias (the same bytes uploaded again) has it.
            alias, token = t.image_alias, t.delete_token
            return self._once(
                "purge_image",
                f"alias:{alias}",
                f"delete upload {alias} with its delete token",
                lambda: self.client.delete_image(alias, token),
                verify=lambda row: self.client.image_gone(alias),
            )
        # Nothing else purges an image: purging the post instead would delete the post and
        # its comments for good, more than the rule says (purge_item does that).
        cause = "needs_pictrs" if t.image_alias else "remote"
        self._tell_not_possible(cause, t)
        return Outcome("purge_image", NOT_POSSIBLE, NOT_POSSIBLE_DETAIL[cause])

    def _tell_not_possible(self, cause: str, t: Target) -> None:
        """Tell the admins once per cause (ever; the audit lists every image)."""
        where = _where(t)
        if cause == "needs_pictrs":
            message = (
                f"purge_image could not purge the image of {where}: modbot has no "
                "pict-rs access. Set PICTRS_URL and PICTRS_API_KEY (docs/configuration.md); "
                "until then images in posts and comments stay in pict-rs when a rule "
                "says purge_image (the rule's other actions are done). Each is "
                "recorded as not_possible (`modbot report`); this message is sent once."
            )
        else:
            message = (
                f"purge_image cannot purge a remote image ({where}, image "
                f"{inert(t.image_original_url or t.image_url)}): it is stored on "
                "another server, not in this instance's pict-rs. The rule's other "
                "actions are done; each such image is recorded as not_possible "
                "(`modbot report`); this message is sent once."
            )
        self._notify(f"purge_image:{cause}", message)

    def _ban(self, t: Target, planned: Any) -> Outcome:
        params = dict(planned.params or {})
        if t.author_id is None:
            return Outcome("ban", "skipped", "the author is unknown")
        scope = params.get("scope", "site")
        seconds = params.get("duration_seconds")
        remove_data = bool(params.get("remove_data", False))
        reason = planned.reason or ""
        expires = int(self.clock() + seconds) if seconds else None
        length = "permanently" if expires is None else f"for {timedelta(seconds=seconds)}"
        data = ", removing their content" if remove_data else ""
        person = int(t.author_id)
        if scope == "community":
            if t.community_id is None:
                return Outcome("ban", "skipped", "a community ban needs a community")
            cid = int(t.community_id)
            key = f"community:{cid}:person:{person}"
            describe = f"ban {t.author_name or person} from community {cid} {length}{data}"

            def send() -> None:
                self.client.ban_community(
                    person, cid, reason, expires=expires, remove_data=remove_data
                )

            def verify(row: dict) -> bool | None:
                # The item says whether its author is banned from its community.
                item = self._read_item(t)
                return None if item is None else item.author_banned_from_community
        else:
            key = f"site:person:{person}"
            describe = f"ban {t.author_name or person} from the site {length}{data}"

            def send() -> None:
                self.client.ban_site(person, reason, expires=expires, remove_data=remove_data)

            def verify(row: dict) -> bool | None:
                who = self.client.person(person)
                ends = who.ban_expires.timestamp() if who.ban_expires else None
                # A ban that ran out before the claim is the old one, not this one.
                return who.banned and (
                    ends is None if expires is None else ends is not None and ends > row["done_at"]
                )

        def ban() -> None:
            send()
            self.store.set_cursor(f"ban:{key}", json.dumps({"expires": expires, "item": t.key}))

        return self._once(
            "ban", key, describe, ban, again=self._ban_ran_out(key, t.key), verify=verify
        )

    def _ban_ran_out(self, key: str, item_key: str) -> bool:
        """A temporary ban that has run out: a new offence (another item) is banned anew."""
        last = json.loads(self.store.get_cursor(f"ban:{key}") or "{}")
        return (
            last.get("expires") is not None
            and last["expires"] <= self.clock()
            and last.get("item") != item_key
        )

    def _report(self, t: Target, planned: Any) -> Outcome:
        reason = planned if isinstance(planned, str) else (planned.reason or "modbot")
        if t.kind == "post":
            return self._once(
                "report",
                t.key,
                f"report post {t.id}",
                lambda: self.client.report_post(int(t.id), reason),
                verify=lambda row: self._reported(t),
            )
        if t.kind == "comment":
            return self._once(
                "report",
                t.key,
                f"report comment {t.id}",
                lambda: self.client.report_comment(int(t.id), reason),
                verify=lambda row: self._reported(t),
            )
        # Lemmy has no report for an upload: tell the admins instead.
        return self._notify(t.key, f"{reason} (upload {inert(t.image_url)})", action="report")

    def _notify_admins(self, t: Target, planned: Any) -> Outcome:
        message = planned.reason or "an image matched a rule"
        return self._notify(t.key, f"{message} ({_where(t)})")

    def _notify(self, key: str, message: str, action: str = "notify_admins") -> Outcome:
        done = self.store.action("notify", key)
        if done and done["status"] == SENDING and not self.dry_run:
            settled = self._settle("notify", key, action, done, self._message_sent)
            if settled is not None:
                return settled
            done = None
        if done and done["status"] == "done":
            if done["run_id"] in self.resuming and done.get("item") == key:
                return self._already(action, done, "admins were notified")
            return Outcome(action, "skipped", "admins were notified already")
        if any(n.key == key for n in self._notices):
            return Outcome(action, "skipped", "admins are notified once per item")
        outcome = Outcome(
            action, "planned" if self.dry_run else "queued", "private message to the admins"
        )
        self._notices.append(_Notice(key, message, outcome))
        return outcome

    # ------------------------------------------------------------------ did it happen?
    # Asked only for an action a killed process was sending (see ``_settle``).
    def _read_item(self, t: Target) -> Item | None:
        """The item read by id, or None when Lemmy no longer has it (purged)."""
        try:
            if t.kind == "post":
                return self.client.post(int(t.id))
            if t.kind == "comment":
                return self.client.comment(int(t.id))
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            if exc.status == 404 or (exc.error or "").startswith("couldnt_find"):
                return None
            raise
        raise LemmyError(f"{t.kind} {t.id} cannot be read by id")

    def _item_removed(self, t: Target) -> bool:
        item = self._read_item(t)
        # Gone altogether (purged) leaves nothing to remove.
        return item is None or item.removed

    def _reported(self, t: Target) -> bool:
        return self.bot_person_id in self.client.reporters(t.kind, int(t.id))

    def _message_sent(self, row: dict) -> bool | None:
        """Whether the bot's sent messages hold the marker this notice was claimed with."""
        detail = row.get("detail") or ""
        if not detail.startswith(_MESSAGE) or self.bot_person_id is None:
            return None
        marker = f"(modbot message {detail[len(_MESSAGE) :]})"
        for page in range(1, 21):  # newest first; the claim is recent
            messages = self.client.sent_messages(self.bot_person_id, page)
            for m in messages:
                if marker in m.content:
                    return True
                if m.published is not None and m.published.timestamp() < row["done_at"] - 600:
                    return False
            if len(messages) < 50:
                return False
        return None

