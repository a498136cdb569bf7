"""Undoing what the bot did (``modbot undo``): restore removed posts and comments, lift
bans, for decisions chosen from the audit (``modbot.audit``).

What can be undone: ``remove`` (the post or comment is restored; a stored file's, each
post and comment showing it) and ``ban`` (lifted, the uploader's of ``uploader: true``
too; with ``restore_data`` Lemmy 1.0 also restores every post and comment of the
person, which the ban's ``remove_data`` removed; refused on 0.19, whose unban with
``remove_data`` removes them). What cannot, listed as not undone with why: a
purge (``purge_item``, ``purge_image``: Lemmy and pict-rs keep no copy), a deleted alias
(``delete_image``), a report (it stays for the moderators: resolve it in Lemmy), a
private message; nor the removal of a post or comment the bot purged since
(``purge_item`` done, by this decision or another): Lemmy has nothing to restore.

Each undo is an action like the bot's own: claimed in the store under its key
(``restore`` + ``post:12``, ``unban`` + ``site:person:7``) before it is sent, recorded
``done`` once Lemmy confirmed it, never sent twice; a claim a killed ``modbot undo``
left is settled by asking Lemmy (is the post still removed? the person still banned?).
Undo processes take a lock of their own (``MODBOT_STATE.undo.lock``), not the daemon's,
so an admin can undo while the daemon runs: what the daemon did since the plan was made
is read from the store again in the unban's claim, one transaction with it (a ban it
claimed or placed anew for another item, after the bot's ran out, is another
decision's: not lifted; and the daemon's ban claim sees the unban claimed and waits for
it: never both sent). What was undone is recorded in the audit: one record per
decision, ``undo_of`` its id, with the undo's actions.

A ban is lifted only while it is the bot's: not once it ran out, not when the bot
banned the person anew for another item (that decision's ban), not when Lemmy shows a
site ban other than the bot's (an admin banned them since) or none (nor a community
ban its item shows lifted, or its modlog: "already unbanned by hand", ``BY_HAND``:
recorded done, nothing sent, the bot's ban counted as lifted; so is the modlog's
unban by the bot itself that the state has no record of, restored from a backup:
``BY_THE_BOT``); and only for all
the decisions that asked for it: a later one, not undone, whose ban found the person
banned already ("already done", another offence: not about the same file) keeps it
(``_asked_too``: its ban's claim keeps the item with the ban, in the claim's
transaction, so also one whose decision is being recorded right then); undoing it with
the first lifts it, recorded for both. Nor while the daemon's ban claimed anew for
another item is unsettled (being sent, or the daemon was killed sending it: its start
settles it).

Before an undo is sent (and in the preview), Lemmy's modlog is asked who acted last on
the post, comment or person: the undo is sent only while the newest line is the bot's
own removal or ban (or there is none: no one is shown acting after the bot). A moderator or admin who acted after the bot (restored the post and
removed it again, lifted the ban and banned again) made their own decision: it is left
as it is, said and recorded, nothing sent (no failure); so is a post or comment whose
author another moderator or admin banned (from the site, or its community) after the
bot's removal, on Lemmy 0.19 (any ban line of theirs since, also one lifted since or
followed by the bot's own ban): its ban with remove_data writes no line per post and does
not say whether it removed theirs (1.0's writes one on each post and comment of the
person, the item's newest: read as their removal, or restore; also when the bot's own
later ban wrote a newer one over it). A restore or unban since means
it is undone already: nothing sent. When the modlog cannot be read, or Lemmy hides who
acted from the bot's account, nothing is undone blind: that undo fails, said why (run it
again once the modlog can be read, or with ``modlog=False``: ``--no-modlog-check``).

A post or comment gone from Lemmy (purged by an admin, deleted by its author) cannot be
restored: recorded ``not_possible`` with why, listed as cannot undo, never tried again.

An undone removal stays "done" for the bot: it never removes that item again. An undone
ban counts as one that ran out: another offence (another item) bans anew.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from modbot.actions.executor import Executor
from modbot.actions.handlers import NOT_POSSIBLE
from modbot.audit import AuditFilter, Records, Row, item_key
from modbot.errors import LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.lemmy.api import LemmyApi, ModlogEntry
from modbot.model import ActionOutcome, Item, utc_iso
from modbot.statelock import StateLock
from modbot.store import SENDING, Store

__all__ = [
    "UNDO_KINDS",
    "Checks",
    "Step",
    "UndoPlan",
    "carry_out",
    "content_restore_refused",
    "found_done",
    "plan_undo",
    "undo_lock",
]

#: The store's action kinds of an undo, and the bot's action each one undoes.
UNDO_KINDS = {"restore": "remove", "unban": "ban"}

#: How the executor records an action found done already (a ban of a person the bot
#: had banned already for another decision: ``Executor._already``).
ALREADY = "already done"

#: The outcome of an undo not tried: Lemmy was unavailable for one before it.
NOT_TRIED = "not_tried"

#: How an unban is said and recorded that Lemmy shows done already by someone else (an
#: admin or moderator in lemmy-ui): nothing sent, the bot's ban counted as lifted.
BY_HAND = "already unbanned by hand"

#: How an unban is said and recorded whose newest modlog line is the bot's own unban that
#: the state file has no record of (restored from a backup taken before that undo).
BY_THE_BOT = "already unbanned by the bot"

#: What both start with: an unban found done, recorded so, the bot's ban counted lifted.
LIFTED = "already unbanned"

#: Why an unban that restores the person's content is refused on Lemmy 0.19 (API v3).
NO_CONTENT_RESTORE = (
    "--restore-content: Lemmy 0.19 cannot restore a person's content when lifting a ban: "
    "its unban with remove_data removes all their posts and comments instead (the "
    "restore was in 0.19.6's betas only). Nothing was sent: run the same command without "
    "--restore-content (the ban is lifted, the posts and comments its remove_data "
    "removed stay removed: restore those that should come back in Lemmy)"
)

NOT_UNDONE = {
    "purge_item": "a purge deletes for good: Lemmy keeps no copy, nothing can bring it back",
    "purge_image": "a purge deletes the file for good: pict-rs keeps no copy",
    "delete_image": "a deleted alias is gone for good: pict-rs keeps no copy of it",
    "report": "a report stays: resolve it in Lemmy (the moderators may have seen it)",
    "notify_admins": "a private message cannot be taken back",
}


@dataclass
class Step:
    """One undo: ``kind`` (``restore``/``unban``) on ``target``, for these decisions."""

    kind: str
    target: str
    describe: str
    decisions: list[int]
    restore_data: bool = False  # the ban removed their content (remove_data)
    person_id: int | None = None
    community_id: int | None = None  # a community ban's; a restore's item's (the modlog)
    item: str | None = None  # the decision's item (post:12): how a community ban is read
    done_before: dict | None = None  # the store's row when this undo was done already
    # decisions whose ban found the person banned by the bot already ("already done"):
    # they asked for the ban another decision placed
    asked: list[int] = field(default_factory=list)


class AuditRead:
    """The decisions since a ban that found a ban of the bot's in place ("already
    done"), read from the audit once for a plan (``_asked_in_audit``: for an item whose
    decision is not found by its file's SHA-256, and for a ban placed before its claims
    kept the items that asked for it). That read is of every decision since the ban:
    done before the undos are sent, outside any transaction (the daemon writes beside
    it), never once per ban nor in an unban's claim; the claim reads only the decisions
    recorded since (``catch_up``: by id, a few)."""

    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self.say = say
        self.since: str | None = None  # the earliest decided_at read
        self.last_id = 0  # the newest decision when it was read
        self.asking: dict[int, dict] = {}  # id -> record, of those with an "already done" ban
        self.undone: set[int] = set()  # the decisions an undo record is about

    def _keep(self, row_id: int, record: dict) -> None:
        if record.get("undo_of") is not None:
            self.undone.add(int(record["undo_of"]))
        elif any(
            a.get("action") == "ban" and ALREADY in (a.get("detail") or "")
            for a in record.get("actions") or []
        ):
            self.asking[row_id] = record

    def cover(self, store: Store, since: str) -> None:
        """Read the decisions recorded since ``since`` (``decided_at``), unless read."""
        if self.since is not None and self.since <= since:
            return
        records = Records(store.path)
        try:
            if self.since is None:
                newest = list(records.rows(AuditFilter(everything=True), limit=1))
                self.last_id = newest[0].id if newest else 0
                self.undone.update(int(r.record["undo_of"]) for r in records.undo_rows())
            if self.say is not None:
                self.say(
                    f"reading the decisions recorded since {since} for the other offences "
                    "that asked for a ban (an item without a SHA-256 asked for it, or the "
                    "ban is older than the marks its claims keep): once, a while on a "
                    "large audit"
                )
            which = AuditFilter(since=since, until=self.since, action="ban")
            for row in records.rows(which, up_to=self.last_id):
                self._keep(row.id, row.record)
        finally:
            records.close()
        self.since = since

    def catch_up(self, store: Store) -> None:
        """Read the decisions recorded since ``cover`` read (by id: only those)."""
        if self.since is None:
            return
        while batch := store.decisions_after(self.last_id):
            for row_id, record in batch:
                self._keep(row_id, record)
            self.last_id = batch[-1][0]


@dataclass
class UndoPlan:
    """What ``plan_undo`` found: the steps, and what stays as it is with why."""

    steps: list[Step] = field(default_factory=list)
    not_undone: list[tuple[int, str, str]] = field(default_factory=list)  # (id, action, why)
    rows: dict[int, Row] = field(default_factory=dict)
    audit: AuditRead = field(default_factory=AuditRead)


def undo_lock(store: Store) -> StateLock:
    """The lock undo processes share (``MODBOT_STATE.undo.lock``): one undo at a time,
    beside the daemon (which never sends an undo's actions)."""
    # the state's real path: one state named through a symlink gets one undo lock
    return StateLock(Path(f"{Path(store.path).resolve()}.undo"))


_BAN = re.compile(r"\bban (\S+) from (?:the site|community \d+) ")
_UPLOADER = re.compile(r"\(as uploader of (\S+)\)")
_REMOVED = re.compile(r"\bremove (post|comment) (\d+)\b")


def _ban_parts(detail: str) -> list[str]:
    """The bans of a ban action's detail, one part each (``ban: {uploader: true}``: the
    author's and the uploader's, either one "already done: ...")."""
    return [p for p in detail.split("; ") if _BAN.search(p + " ")] or [detail]


def _ban_targets(
    store: Store, record: dict, detail: str
) -> list[tuple[str, int, int | None] | None]:
    """Each ban's key in the store, from the decision (its author) and the action's
    detail (``ban NAME from community 3 ...`` or ``... from the site ...``). A
    ``ban: {uploader: true}`` is two, one detail each; the uploader's says ``(as uploader
    of ALIAS)``, whose person the store knows. An "already done: ..." part says the ban
    as the decision that placed it wrote it: the uploader's, as that decision's author,
    is told by its name (the uploader of the decision's image). None for a ban whose
    person is not known."""
    item = record.get("item") or {}
    found: list[tuple[str, int, int | None] | None] = []
    for part in _ban_parts(detail):
        uploader = _UPLOADER.search(part)
        named = _BAN.search(part + " ")
        alias = (record.get("image") or {}).get("alias")
        if uploader:
            row = store.uploader(uploader.group(1))
            person = None if row is None else row.get("person_id")
        elif (
            named is not None
            and named.group(1) not in (item.get("author"), str(item.get("author_id")))
            and alias
            and (row := store.uploader(alias)) is not None
            and named.group(1) in (row.get("actor_id"), str(row.get("person_id")))
        ):
            person = row.get("person_id")
        else:
            person = item.get("author_id")
        if person is None:
            found.append(None)
            continue
        match = re.search(r" from community (\d+) ", part + " ")
        if match:
            community = int(match.group(1))
            found.append((f"community:{community}:person:{person}", int(person), community))
        else:
            found.append((f"site:person:{person}", int(person), None))
    return found


def _removed_items(store: Store, record: dict, detail: str) -> list[str]:
    """The posts and comments a ``remove`` took down: the decision's item, or for a stored
    file (``type: file``) each post and comment showing it that the store has removed by
    the bot (``_keep_only_theirs`` leaves out another decision's). The record's
    ``shown_by`` lists them all; its detail (``remove post 12; ...``, read for a record
    without it) is cut at 1,000 characters, some 50 posts, the last id maybe in half."""
    item = record.get("item") or {}
    if item.get("kind") in ("post", "comment"):
        key = item_key(record)
        assert key is not None
        return [key]
    shown = item.get("shown_by")
    if not shown:
        return [f"{kind}:{number}" for kind, number in _REMOVED.findall(detail)]
    keys = dict.fromkeys(f"{entry[0]}:{entry[1]}" for entry in shown if len(entry) >= 2)
    return [key for key in keys if (store.action("remove", key) or {}).get("status") == "done"]


def _undone(store: Store, kind: str, target: str) -> dict | None:
    """The store's row of this undo when it is done and later than the action it undoes
    (a ban done again after an undo is undone anew)."""
    row = store.action(kind, target)
    if not row or row["status"] != "done":
        return None
    original = store.action(UNDO_KINDS[kind], target)
    if original and original["status"] == "done" and original["done_at"] > row["done_at"]:
        return None
    return row


def plan_undo(
    store: Store, rows: Iterable[Row], say: Callable[[str], None] | None = None
) -> UndoPlan:
    """The undos of the actions these decisions did (dry-run decisions did none).
    ``say(text)``: told before the audit is read for a ban's other offences (slow on a
    large audit: ``AuditRead``)."""
    plan = UndoPlan(audit=AuditRead(say))
    by_key: dict[tuple[str, str], Step] = {}
    for row in rows:
        record = row.record
        if record.get("undo_of") is not None or record.get("dry_run"):
            continue
        item = record.get("item") or {}
        for action in record.get("actions") or []:
            name, status = action.get("action"), action.get("status")
            detail = action.get("detail") or ""
            # a ban that found the person banned already asks for that ban: as a whole,
            # or as one part of an uploader's ban whose other part was done
            done = status in ("done", "covered")
            parts = _ban_parts(detail) if name == "ban" else []
            # a stored file's removal went to each post showing it: failed on one, it is
            # recorded failed as a whole, and the others may be removed (the store says)
            # (so is `ban: {uploader: true}`, the author's and the uploader's, one of them
            # done: its part of the detail says the ban, the store that it was placed)
            partly = status == "failed" and (
                (name == "remove" and bool(item.get("shown_by"))) or name == "ban"
            )
            if not done and not partly and not any(p.startswith(ALREADY) for p in parts):
                continue
            steps: list[Step] = []
            asks: set[int] = set()  # (the ids of the steps of parts that asked)
            if name == "remove":
                own = item_key(record)
                for key in _removed_items(store, record, detail):
                    kind, _, number = key.partition(":")
                    # its community, when known: Lemmy 1.0 shows a community moderator
                    # (a bot that is no admin) who acted only on a read that names it
                    community = item.get("community_id") if key == own else None
                    steps.append(
                        Step(
                            "restore",
                            key,
                            f"restore {kind} {number}",
                            [],
                            community_id=community if isinstance(community, int) else None,
                            item=key,
                        )
                    )
                if not steps and not partly:
                    why = f"a {item.get('kind')} is no post or comment to restore"
                    plan.not_undone.append((row.id, detail or name, why))
            elif name == "ban":
                for part, found in zip(parts, _ban_targets(store, record, detail), strict=True):
                    if not done and not part.startswith(ALREADY):
                        placed = (
                            found is not None
                            and _BAN.search(part + " ") is not None
                            and (store.action("ban", found[0]) or {}).get("status") == "done"
                        )
                        if not placed:
                            continue  # (beside a part that asked or was placed: one that failed)
                    if found is None:
                        why = "the banned person is not recorded"
                        plan.not_undone.append((row.id, detail, why))
                        continue
                    key, person, community = found
                    where = "the site" if community is None else f"community {community}"
                    who = item.get("author") or f"person {person}"
                    if person != item.get("author_id"):
                        who = f"person {person} (the uploader)"
                    steps.append(
                        Step(
                            "unban",
                            key,
                            f"lift the ban of {who} from {where}",
                            [],
                            restore_data="removing their content" in detail,
                            person_id=person,
                            community_id=community,
                            item=item_key(record),
                        )
                    )
                    if part.startswith(ALREADY):
                        asks.add(id(steps[-1]))
            elif name in NOT_UNDONE:
                plan.not_undone.append((row.id, detail or name, NOT_UNDONE[name]))
                continue
            else:
                plan.not_undone.append((row.id, detail or name, f"modbot cannot undo {name}"))
                continue
            for step in steps:
                existing = by_key.get((step.kind, step.target))
                if existing is None:
                    step.done_before = _undone(store, step.kind, step.target)
                    by_key[(step.kind, step.target)] = existing = step
                    plan.steps.append(step)
                if row.id not in existing.decisions:
                    existing.decisions.append(row.id)
                if id(step) in asks and row.id not in existing.asked:
                    existing.asked.append(row.id)
                plan.rows[row.id] = row
    _keep_only_theirs(store, plan)
    return plan


def _ban_cursor(store: Store, target: str) -> dict:
    """The bot's last ban of ``target`` as the ban handler keeps it: its end (epoch
    seconds, None: permanent) and the item it was placed for."""
    try:
        found = json.loads(store.get_cursor(f"ban:{target}") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _keep_only_theirs(store: Store, plan: UndoPlan, now: float | None = None) -> None:
    """Leave out the undos of what these decisions did not do: a removal the bot did
    for another item (a stored file's decision lists the posts showing it, also one the
    post's own decision, for another image, had removed already); a ban that ran out (a
    ban Lemmy shows now was placed by someone else), or that the bot placed anew for
    another item since (that decision's ban, not these)."""
    now = time.time() if now is None else now
    kept: list[Step] = []
    for step in plan.steps:
        why = None
        items = {item_key(plan.rows[d].record) for d in step.decisions}
        if step.kind == "restore" and step.done_before is None:
            removed_for = (store.action("remove", step.target) or {}).get("item")
            purged = store.action("purge_item", step.target) or {}
            found = store.action("restore", step.target) or {}
            if found.get("status") == NOT_POSSIBLE:
                why = (
                    f"{found.get('detail')} (found by undo run {found.get('run_id')}: not "
                    "tried again)"
                )
            elif purged.get("status") in ("done", "covered"):
                by = purged.get("item")
                why = (
                    f"{step.target.replace(':', ' ')} was purged for good (purge_item"
                    f"{'' if not by or by in items else f', for {by}'}): Lemmy keeps no "
                    "copy, nothing to restore"
                )
            elif removed_for and removed_for not in items:
                why = (
                    f"the bot removed it for {removed_for}, another decision's: not "
                    "restored (undo that decision to restore it)"
                )
        if step.kind == "unban" and step.done_before is None:
            why = _ban_not_theirs(
                store, step.target, items, now, chosen=plan.rows, audit=plan.audit
            )
            if why is not None and set(step.asked) >= set(step.decisions):
                placed = _ban_cursor(store, step.target).get("item") or (
                    store.action("ban", step.target) or {}
                ).get("item")
                if placed and placed not in items and not why.startswith("the bot's ban ran"):
                    why = (
                        "the person was banned already when this decision asked for a ban "
                        f'(recorded "already done"): the ban is the bot\'s ban for {placed}, '
                        "another decision's; it stays while that decision does (undo both "
                        "together to lift it)"
                    )
        if why is None:
            kept.append(step)
            continue
        for decision in step.decisions:
            plan.not_undone.append((decision, step.describe, why))
    plan.steps = kept


def _ban_not_theirs(
    store: Store,
    target: str,
    items: set[str | None],
    now: float | None = None,
    *,
    chosen: dict[int, Row] | None = None,
    audit: AuditRead | None = None,
) -> str | None:
    """Why the bot's ban of ``target`` is not the ban of the decisions of ``items`` (none
    to lift): it ran out, or the bot banned the person anew since for another item
    (another decision's ban), or (``chosen``: the decisions being undone) a later
    decision not being undone asked for it too (``_asked_too``). None: it is theirs."""
    now = time.time() if now is None else now
    last = _ban_cursor(store, target)
    original = store.action("ban", target) or {}
    if original.get("status") == SENDING and original.get("item") not in items:
        # the daemon claimed a ban anew and is sending it, or was killed sending it: a
        # claim only its (re)start settles (did Lemmy get it?); till then it may be
        # that decision's ban, and that decision is not recorded yet
        return (
            f"the bot's ban of the person anew for {original.get('item')}, another "
            f"decision's, was claimed at {_iso(original['done_at'])} and is not settled: "
            "the daemon is sending it now, or was stopped while sending it (killed), and "
            "only its start settles it. Not lifted: start the daemon if it is not running "
            "(modbot run), then run this undo again (a ban placed anew is that decision's: "
            "undo it to lift it)"
        )
    placed_for = last.get("item") or original.get("item")
    expires = last.get("expires")
    if placed_for and placed_for not in items:
        return (
            "the bot's ban for this decision ran out; the ban since is the bot's ban "
            f"for {placed_for}, another decision's: not lifted (undo that decision "
            "to lift it)"
        )
    if isinstance(expires, int | float) and expires <= now:
        return (
            f"the bot's ban ran out at {_iso(expires)}: nothing of it to lift (any ban "
            "Lemmy shows now is someone else's, and stays)"
        )
    if chosen is None:
        return None
    asked = _asked_too(store, target, original, chosen, audit)
    said: list[str] = []
    others = asked.found
    if others:
        listed = ", ".join(f"#{d} ({item})" for d, item in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        ids = " ".join(f"{d}" for d in sorted(set(chosen) | {d for d, _ in others})[:12])
        one = len(others) == 1
        said.append(
            f"{'decision' if one else 'decisions'} {listed}{more} asked for this ban too "
            f"(the person was banned already when {'it' if one else 'they'} decided: "
            f'recorded "already done") and {"is" if one else "are"} not undone: the ban '
            f"stays for {'it' if one else 'them'} (undo them together to lift it: modbot "
            f"undo {ids})"
        )
    if asked.pending:
        said.append(
            f"{', '.join(asked.pending[:5])} asked for this ban too just now (the person "
            "was banned already: the daemon is recording that decision): the ban stays "
            "for it (run modbot undo again in a moment: it names that decision, to undo "
            "with this one)"
        )
    return "; ".join(said) or None


def _file(record: dict) -> str | None:
    """The file a decision was about: its SHA-256, else its alias or URL."""
    image = record.get("image") or {}
    return image.get("sha256") or image.get("alias") or image.get("url")


def _asks(store: Store, record: dict, target: str) -> bool:
    """Whether the decision's ban of ``target`` found the bot's ban in place ("already
    done"): as a whole, or as one part of an uploader's ban (the other part done)."""
    for action in record.get("actions") or []:
        detail = action.get("detail") or ""
        if action.get("action") != "ban" or ALREADY not in detail:
            continue
        for part, found in zip(
            _ban_parts(detail), _ban_targets(store, record, detail), strict=True
        ):
            if part.startswith(ALREADY) and found is not None and found[0] == target:
                return True
    return False


@dataclass
class Asked:
    """What ``_asked_too`` found: (id, item) of each decision that asked for the ban too,
    and the items that asked whose decisions are being recorded right now."""

    found: list[tuple[int, str | None]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)


def _asked_too(
    store: Store,
    target: str,
    ban: dict,
    chosen: dict[int, Row],
    audit: AuditRead | None = None,
) -> Asked:
    """The decisions outside ``chosen`` and not undone (no undo record: one whose every
    undo was left as it is, not possible or failed counts as undone, the admin having
    asked to undo it; --help says so) whose ban of
    ``target`` found the bot's ban ``ban`` (its store row) in place, recorded "already
    done": they ask for that ban too, and undoing the decision that placed it alone
    would leave their offence unpunished. One about a file a chosen decision was about
    (the upload of the post's image, the same file posted again) is the same offence,
    undone with it: not counted. Found from the items the ban's claims kept (the ban's
    cursor, "asked": written in the claim's transaction, so also an item whose decision
    is being recorded now: ``pending``), each one's decisions read by its file's SHA-256
    (indexed); a ban placed before these were kept, or an item without a SHA-256, is
    looked for in every decision since the ban (one without a SHA-256 not found there
    is ``pending`` too while the daemon's journal holds it) (``_asked_in_audit``, read once for the
    plan: ``audit``)."""
    if ban.get("status") not in ("done", "covered"):
        return Asked()
    files = {_file(row.record) for row in chosen.values()} - {None}
    last = _ban_cursor(store, target)
    marks = last.get("asked")
    read_audit = not isinstance(marks, dict) or bool(last.get("read_audit"))
    found: dict[int, str | None] = {}
    pending: list[str] = []
    journal: set[str] | None = None
    unhashed: list[str] = []  # items that asked with no SHA-256: found in the audit
    for item, mark in (marks if isinstance(marks, dict) else {}).items():
        sha = mark.get("sha256") if isinstance(mark, dict) else None
        if not isinstance(sha, str):
            read_audit = True
            unhashed.append(item)
            continue
        rows = store.decision_records(sha256=sha)
        asking = [
            (d, r)
            for d, r in rows
            if item_key(r) == item and r.get("undo_of") is None and _asks(store, r, target)
        ]
        if not asking:
            # its decision not recorded yet: the daemon is recording it (its journal
            # entry says so), else there is none (nothing asks)
            if journal is None:
                journal = {key for key, _, _ in store.journal_entries()}
            if item in journal:
                pending.append(item)
            continue
        decision, record = asking[-1]
        if decision in chosen or _file(record) in files:
            continue
        if any(r.get("undo_of") == decision for _, r in rows):
            continue
        found[decision] = item
    if read_audit:
        audit = AuditRead() if audit is None else audit
        found.update(_asked_in_audit(store, target, ban, chosen, files, audit))
        # one whose decision is not recorded yet: the daemon is recording it (as above)
        recorded = {item_key(r) for r in audit.asking.values() if _asks(store, r, target)}
        waiting = [item for item in unhashed if item not in recorded]
        if waiting:
            journal = {key for key, _, _ in store.journal_entries()}
            pending += [item for item in waiting if item in journal]
    return Asked(sorted(found.items()), pending)


def _asked_in_audit(
    store: Store,
    target: str,
    ban: dict,
    chosen: dict[int, Row],
    files: set[str | None],
    audit: AuditRead | None = None,
) -> dict[int, str | None]:
    """``_asked_too`` from the decisions since the ban that found a ban in place (and
    every undo record): for an item without a SHA-256, and for a ban placed before its
    claims kept the items that asked for it. ``audit``: the plan's read, made once
    (else read now)."""
    since = utc_iso(datetime.fromtimestamp(int(ban["done_at"]), UTC))
    audit = AuditRead() if audit is None else audit
    audit.cover(store, since)
    audit.catch_up(store)
    found: dict[int, str | None] = {}
    for row_id, record in audit.asking.items():
        if row_id in chosen or row_id in audit.undone or str(record.get("decided_at")) < since:
            continue
        if _file(record) in files:
            continue
        if _asks(store, record, target):
            found[row_id] = item_key(record)
    return found


def _gone(exc: LemmyError) -> bool:
    return exc.status == 404 or (exc.error or "").startswith("couldnt_find")


def content_restore_refused(client: LemmyApi, plan: UndoPlan, restore_data: bool) -> str | None:
    """Why ``restore_data`` (``--restore-content``) cannot be done for this plan with
    ``client``, or None. Lemmy 0.19's ``BanPerson`` / ``BanFromCommunity`` with
    ``remove_data`` calls ``remove_user_data`` whether ``ban`` is true or false (the
    restore of #4845 was reverted before 0.19.6): an unban asking to restore would
    remove everything of theirs."""
    wanted = restore_data and any(step.kind == "unban" and step.restore_data for step in plan.steps)
    return NO_CONTENT_RESTORE if wanted and client.api_version == "v3" else None


def _sender(
    client: LemmyApi, step: Step, reason: str, restore_data: bool
) -> tuple[Callable[[], None], Callable[[], str | None]]:
    """The undo's request, and what the executor asks when Lemmy refused it: why it
    cannot be done at all (a post or comment gone, or deleted by its author), or None."""
    kind_id = step.target.split(":")
    refused: list[LemmyError] = []

    def send() -> None:
        try:
            if step.kind == "restore" and kind_id[0] == "post":
                client.restore_post(int(kind_id[1]), reason)
            elif step.kind == "restore":
                client.restore_comment(int(kind_id[1]), reason)
            elif step.community_id is not None:
                assert step.person_id is not None
                client.unban_community(
                    step.person_id,
                    step.community_id,
                    reason,
                    restore_data=restore_data and step.restore_data,
                )
            else:
                assert step.person_id is not None
                client.unban_site(
                    step.person_id, reason, restore_data=restore_data and step.restore_data
                )
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            refused.append(exc)
            raise

    def why() -> str | None:
        if step.kind != "restore" or not refused:
            return None
        if _gone(refused[-1]):
            return _no_longer(step.target)
        if _deleted(client, step.target):
            return (
                f"{step.target.replace(':', ' ')} was deleted by its author since: Lemmy "
                f"restores no deleted {kind_id[0]} (only its author can undelete it); it "
                "stays removed"
            )
        return None

    return send, why


def _no_longer(target: str) -> str:
    return (
        f"{target.replace(':', ' ')} is no longer on Lemmy (purged, or deleted with its "
        "community or author): nothing to restore"
    )


def _deleted(client: LemmyApi, key: str) -> bool:
    """Whether the post or comment ``key`` is deleted by its author (0.19.4+ and 1.0
    refuse to remove or restore a deleted comment). False when that cannot be read."""
    kind, _, number = key.partition(":")
    try:
        item = client.post(int(number)) if kind == "post" else client.comment(int(number))
    except LemmyError:
        return False
    return item.deleted


def _verifier(client: LemmyApi, step: Step) -> Callable[[dict], bool | None]:
    """Whether Lemmy shows the undo done (for a claim a killed undo left)."""

    def read_item(key: str) -> object | None:
        kind, _, number = key.partition(":")
        try:
            if kind == "post":
                return client.post(int(number))
            if kind == "comment":
                return client.comment(int(number))
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            if _gone(exc):
                return None
            raise
        return None

    def verify(row: dict) -> bool | None:
        if step.kind == "restore":
            item = read_item(step.target)
            return None if item is None else not getattr(item, "removed", True)
        if step.community_id is None:
            assert step.person_id is not None
            return not client.person(step.person_id).banned
        item = read_item(step.item or "")
        return None if item is None else not getattr(item, "author_banned_from_community", True)

    return verify


def _ends(epoch: float | None) -> str:
    return "permanently" if epoch is None else f"until {_iso(epoch)}"


def _banned_since(client: LemmyApi, store: Store, step: Step) -> ActionOutcome | None:
    """Why an unban is not sent, from what Lemmy shows of the person now: not banned (the
    ban was lifted already, by hand: ``BY_HAND``), or banned otherwise than the bot
    banned them (an admin banned them since: their ban is not the bot's to lift). None:
    send it. Of a community ban only whether it is in place is read, and only of the
    item's author (Lemmy shows no community ban's end, and shows it on their items)."""
    if step.person_id is None:
        return None
    if step.community_id is not None:
        return _community_ban_lifted(client, step)
    last = _ban_cursor(store, step.target)
    try:
        person = client.person(step.person_id)
    except (LemmyUnavailable, LemmyLoginError) as exc:
        return ActionOutcome(
            "unban",
            "failed",
            f"cannot read whether person {step.person_id} is banned: {exc}",
            retry=True,
        )
    except LemmyError as exc:
        if _gone(exc):
            return ActionOutcome(
                "unban", "skipped", f"person {step.person_id} is no longer on Lemmy: nothing sent"
            )
        return ActionOutcome(
            "unban", "failed", f"cannot read whether person {step.person_id} is banned: {exc}"
        )
    if not person.banned:
        return ActionOutcome(
            "unban",
            "skipped",
            f"{BY_HAND}: Lemmy shows person {step.person_id} not banned (lifted already): "
            "nothing sent",
        )
    if "expires" not in last:  # how the bot banned them is not known: cannot compare
        return None
    expires = last["expires"]
    ends = person.ban_expires.timestamp() if person.ban_expires else None
    same = (ends is None) if expires is None else ends is not None and abs(ends - expires) <= 5
    if same:
        return None
    return ActionOutcome(
        "unban",
        "skipped",
        f"not lifted: Lemmy shows person {step.person_id} banned {_ends(ends)}, the bot "
        f"banned them {_ends(expires)}: banned again since, by someone else (lift that ban "
        "in Lemmy if it is meant to go)",
    )


def _community_ban_lifted(client: LemmyApi, step: Step) -> ActionOutcome | None:
    """``BY_HAND`` when the decision's item shows its author, the person, no longer banned
    from its community; None when they are, or it cannot be told (the person is the
    uploader, the item is gone or cannot be read: the modlog is asked next)."""
    kind, _, number = (step.item or "").partition(":")
    if kind not in ("post", "comment"):
        return None
    try:
        item = client.post(int(number)) if kind == "post" else client.comment(int(number))
    except (LemmyUnavailable, LemmyLoginError) as exc:
        why = f"cannot read whether person {step.person_id} is banned: {exc}"
        return ActionOutcome("unban", "failed", why, retry=True)
    except LemmyError:
        return None
    if item.author is None or item.author.id != step.person_id:
        return None
    if item.author_banned_from_community:
        return None
    return ActionOutcome(
        "unban",
        "skipped",
        f"{BY_HAND}: Lemmy shows person {step.person_id} not banned from community "
        f"{step.community_id} (lifted already): nothing sent",
    )


def _said(entry: ModlogEntry) -> tuple[str, str]:
    """Who acted and when, as a line of the modlog says it."""
    who = entry.moderator or f"person {entry.moderator_id}"
    return f"{'admin' if entry.action == 'ban' else 'moderator'} {who}", utc_iso(entry.when)


class Checks:
    """What Lemmy shows before an undo is sent (``why_not``): the ban as Lemmy shows it
    (``_banned_since``), and who acted last in Lemmy's modlog (skipped with
    ``modlog=False``). Reads only: the preview asks the same."""

    def __init__(self, client: LemmyApi, store: Store, *, modlog: bool = True) -> None:
        self.client, self.store, self.modlog = client, store, modlog
        self._me: int | None = None

    def bot_id(self) -> int:
        """The bot account's person id (the modlog names it for the bot's own actions)."""
        if self._me is None:
            self._me = self.client.own_person_id()
        return self._me

    def why_not(self, step: Step) -> ActionOutcome | None:
        """Why ``step`` is not sent now (an ``ActionOutcome``: skipped, not_possible, or
        failed with why; ``retry`` when Lemmy is passing), or None: send it."""
        if step.kind == "unban":
            kept = _banned_since(self.client, self.store, step)
            if kept is not None:
                return kept
        if not self.modlog:
            # the modlog's restore line is not read: whether it is still removed is
            return self._restored_already(step) if step.kind == "restore" else None
        return self._acted_since(step)

    def _read_item(self, kind: str, number: int) -> Item:
        """The post or comment an undo step names, as Lemmy shows it now."""
        return self.client.post(number) if kind == "post" else self.client.comment(number)

    def _restored_already(self, step: Step) -> ActionOutcome | None:
        """Skipped when Lemmy shows the post or comment not removed (a moderator restored
        it by hand): a restore sent again would write a needless line in the modlog.
        None: send it (also when it cannot be read as gone or refused: the restore's
        refusal says why)."""
        kind, _, number = step.target.partition(":")
        what = step.target.replace(":", " ")
        try:
            item = self._read_item(kind, int(number))
        except (LemmyUnavailable, LemmyLoginError) as exc:
            why = f"cannot read whether {what} is still removed: {exc}"
            return ActionOutcome(step.kind, "failed", why, retry=True)
        except LemmyError:
            return None
        if item.removed:
            return None
        return ActionOutcome(
            step.kind,
            "skipped",
            f"already restored by hand: Lemmy shows {what} not removed: nothing sent",
        )

    def _acted_since(self, step: Step) -> ActionOutcome | None:
        what = step.target.replace(":", " ")
        if step.kind == "restore":
            kind, _, number = step.target.partition(":")
            action, target, community = f"remove_{kind}", int(number), step.community_id
            verb = "restored"
        else:
            assert step.person_id is not None
            action = "ban" if step.community_id is None else "community_ban"
            target, community, verb = step.person_id, step.community_id, "lifted"
            what = f"person {step.person_id}" + (
                "" if community is None else f" in community {community}"
            )
        blind = (
            f"not {verb}, so as not to undo what a moderator may have done since the bot "
            "(run the same command again once the modlog can be read, or with "
            "--no-modlog-check to undo without asking: check the modlog yourself first)"
        )
        try:
            me = self.bot_id()
            entry = self.client.last_mod_action(action, target, community_id=community)
            if entry is not None and entry.moderator_id is None:
                # A login Lemmy dropped meanwhile reads on as anonymous, to whom 1.0 hides
                # who acted: check it (logs in again when dropped), then read once more
                self.client.check_session()
                entry = self.client.last_mod_action(action, target, community_id=community)
        except (LemmyUnavailable, LemmyLoginError) as exc:
            why = f"cannot read Lemmy's modlog for {what}: {exc}"
            return ActionOutcome(step.kind, "failed", why, retry=True)
        except LemmyError as exc:
            why = f"cannot read Lemmy's modlog for {what} ({exc}): {blind}"
            return ActionOutcome(step.kind, "failed", why)
        if entry is None:
            try:
                gone = step.kind == "restore" and self._gone(step.target)
            except LemmyUnavailable as exc:
                why = f"cannot read whether {what} is still on Lemmy: {exc}"
                return ActionOutcome(step.kind, "failed", why, retry=True)
            if gone:
                return ActionOutcome(step.kind, NOT_POSSIBLE, _no_longer(step.target))
            # No line at all (not even the bot's): no one is shown acting after the bot,
            # and the store says the bot did it; but a ban may have removed it since
            if step.kind == "restore":
                done_at = (self.store.action("remove", step.target) or {}).get("done_at")
                since = None if done_at is None else datetime.fromtimestamp(done_at, UTC)
                return self._author_banned_since(step, since)
            return None
        if entry.moderator_id is None:
            why = (
                f"Lemmy's modlog hides who acted last on {what} from the bot's account (an "
                f"admin sees it): {blind}"
            )
            return ActionOutcome(step.kind, "failed", why)
        who, when = _said(entry)
        if entry.revert:
            done = "restored it" if step.kind == "restore" else "lifted the ban"
            # an unban: the bot's ban is lifted, to be recorded so (else its next offence
            # finds the ban "already done"); also the bot's own unban the state has no
            # record of (restored from a backup taken before that undo)
            lifted = ""
            if step.kind == "unban":
                lifted = f"{BY_HAND}: " if entry.moderator_id != me else f"{BY_THE_BOT}: "
            unknown = (
                ", which the state file has no record of (restored from a backup?)"
                if step.kind == "unban" and entry.moderator_id == me
                else ""
            )
            return ActionOutcome(
                step.kind,
                "skipped",
                f"{lifted}{who} {done} already, at {when} ({what}){unknown}: nothing sent",
            )
        if entry.moderator_id == me:
            if step.kind == "restore":
                return self._author_banned_since(step, entry.when)
            return None
        if step.kind == "restore":
            why = (
                f"{who} removed {what} again at {when}, after the bot: their own decision, "
                "left as it is (restore it in Lemmy if it is meant to come back)"
            )
        else:
            ends = "permanently" if entry.expires is None else f"until {utc_iso(entry.expires)}"
            why = (
                f"{who} banned {what} again at {when} ({ends}), after the bot: their own "
                "ban, left as it is (lift it in Lemmy if it is meant to go)"
            )
        return ActionOutcome(step.kind, "skipped", why)

    def _author_banned_since(self, step: Step, since: datetime | None) -> ActionOutcome | None:
        """Why a restore is not sent: a moderator or admin banned the item's author (from
        the site, or from the item's community) after the bot removed it (``since``),
        whatever came after (an unban, a ban by the bot). Lemmy 0.19's ban with "remove
        their content" writes no modlog line per post or comment and its line does not
        say whether it removed any: the ban is taken as their decision about everything
        of that person (1.0: ``_removed_again_before_the_bots``). None: send it."""
        if self.client.api_version == "v4":
            # 1.0 writes a line of its own for each post and comment of the person a ban
            # removes (or restores) the content of, already removed ones too: the item's
            # own lines say it; a ban that left the content is no reason
            return self._removed_again_before_the_bots(step)
        kind, _, number = step.target.partition(":")
        what = step.target.replace(":", " ")
        try:
            item = self._read_item(kind, int(number))
            if item.author is None:
                return None
            author = item.author.id
            community = item.community.id if item.community is not None else None
            bans: list[tuple[str, int | None, str]] = [("ban", None, "from the site")]
            if community is not None:
                bans.append(("community_ban", community, f"in community {community}"))
            # every ban line since, not the newest: an unban (which restores nothing on
            # 0.19) or the bot's own later ban would hide an admin's ban that removed it
            found = [
                (entry, where)
                for action, where_id, where in bans
                for entry in self.client.mod_actions_since(
                    action, author, since, community_id=where_id
                )
            ]
        except (LemmyUnavailable, LemmyLoginError) as exc:
            why = f"cannot read who banned the author of {what}: {exc}"
            return ActionOutcome(step.kind, "failed", why, retry=True)
        except LemmyError as exc:
            if _gone(exc):
                return None  # the restore's refusal says it is gone
            why = (
                f"cannot read Lemmy's modlog of the bans of the author of {what} ({exc}): not "
                "restored, so as not to undo a ban's removal of their content (run the same "
                "command again once it can be read, or with --no-modlog-check)"
            )
            return ActionOutcome(step.kind, "failed", why)
        me = self.bot_id()
        for entry, where in found:
            if entry.revert or entry.moderator_id == me:
                continue
            if since is not None and entry.when <= since:
                continue
            who = _who_acted(entry)
            why = (
                f"{who} banned its author (person {author}) {where} at "
                f"{utc_iso(entry.when)}, after the bot removed {what}: a ban can remove all "
                "their posts and comments (Lemmy 0.19's modlog does not say whether it did), "
                "their own decision, left as it is (restore it in Lemmy if it is meant to "
                "come back)"
            )
            return ActionOutcome(step.kind, "skipped", why)
        return None

    def _removed_again_before_the_bots(self, step: Step) -> ActionOutcome | None:
        """1.0: why a restore is not sent though the item's newest line is the bot's:
        someone else removed it (a ban of theirs with its content) after the bot's own
        removal, and a ban by the bot with its content since wrote a newer line on it
        (``bulk``). None: send it."""
        kind, _, number = step.target.partition(":")
        what = step.target.replace(":", " ")
        try:
            lines = self.client.mod_actions_since(
                f"remove_{kind}", int(number), None, community_id=step.community_id
            )
            me = self.bot_id()
        except (LemmyUnavailable, LemmyLoginError) as exc:
            why = f"cannot read Lemmy's modlog for {what}: {exc}"
            return ActionOutcome(step.kind, "failed", why, retry=True)
        except LemmyError as exc:
            why = (
                f"cannot read Lemmy's modlog for {what} ({exc}): not restored, so as not to "
                "undo what a moderator may have done since the bot (run the same command "
                "again once it can be read, or with --no-modlog-check)"
            )
            return ActionOutcome(step.kind, "failed", why)
        for entry in lines:  # newest first, down to the bot's own removal
            if entry.moderator_id == me and not entry.revert and not entry.bulk:
                return None
            if entry.revert or entry.moderator_id == me:
                continue
            who = _who_acted(entry)
            why = (
                f"{who} removed {what} again at {utc_iso(entry.when)}, after the bot (the "
                "bot's newer line is its own ban's): their own decision, left as it is "
                "(restore it in Lemmy if it is meant to come back)"
            )
            return ActionOutcome(step.kind, "skipped", why)
        return None

    def _gone(self, key: str) -> bool:
        kind, _, number = key.partition(":")
        try:
            if kind == "post":
                self.client.post(int(number))
            else:
                self.client.comment(int(number))
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            return _gone(exc)
        return False


def _who_acted(entry: ModlogEntry) -> str:
    """Who wrote a modlog line, as the bot's account may see it."""
    if entry.moderator_id is not None:
        return _said(entry)[0]
    return "a moderator or admin (Lemmy hides who from the bot's account)"


def _recorded(store: Store) -> set[tuple]:
    """What the audit holds of undos already: (decision id, undo kind, target) of each one
    done, and (decision id, undo kind, target, status, detail) of each other finding
    (left as it is, not possible), so that a rerun does not record it again."""
    found: set[tuple] = set()
    records = Records(store.path)
    try:
        undos = [row.record for row in records.undo_rows()]
    finally:
        records.close()
    for record in undos:
        for action in record.get("actions") or []:
            key = (int(record["undo_of"]), action.get("action"), action.get("target"))
            if action.get("status") == "done":
                found.add(key)
            else:
                found.add((*key, action.get("status"), action.get("detail")))
    return found


def carry_out(
    client: LemmyApi,
    store: Store,
    plan: UndoPlan,
    *,
    run_id: str,
    reason: str,
    restore_data: bool = False,
    modlog: bool = True,
    on_result: Callable[[Step, ActionOutcome], None] | None = None,
) -> list[tuple[Step, ActionOutcome]]:
    """Send the plan's undos (each once, ever) and record them in the audit. Call it
    holding ``undo_lock(store)``: a claim of an undo kind another run left is then one a
    killed undo left. ``on_result(step, outcome)``: called as each one is settled. Once
    Lemmy is unavailable (or refuses the login) the rest are not tried (``not_tried``):
    the same command again finishes them. ``modlog=False``: Lemmy's modlog is not asked
    who acted last (``Checks``). ``ValueError`` before anything is sent when
    ``restore_data`` cannot be done (``content_restore_refused``)."""
    cannot = content_restore_refused(client, plan, restore_data)
    if cannot is not None:
        raise ValueError(cannot)
    checks = Checks(client, store, modlog=modlog)
    ex = Executor(client, store, run_id=run_id, dry_run=False)
    ex.stale_runs = {r["run_id"] for r in store.claims_left() if r["kind"] in UNDO_KINDS}
    recorded = _recorded(store)
    results: list[tuple[Step, ActionOutcome]] = []
    stopped: ActionOutcome | None = None

    def settled(step: Step, outcome: ActionOutcome) -> None:
        results.append((step, outcome))
        if on_result is not None:
            on_result(step, outcome)

    for step in plan.steps:
        if stopped is not None:
            settled(step, ActionOutcome(step.kind, NOT_TRIED, f"not tried: {stopped.detail}"))
            continue
        original, before, again = _rows(store, step)
        ex.current_item = step.item
        # Lemmy is asked only before a new undo: not for one done already (its record may
        # be left to write) nor one a killed undo left in flight; nor for one whose last
        # attempt failed that Lemmy shows done (its answer was lost): the executor records
        # it done, not someone else's doing, and the bot's ban as lifted.
        status = (before or {}).get("status")
        if (
            status != SENDING
            and (status != "done" or again)
            and not (status == "failed" and _shown_done(client, step, before or {}))
        ):
            kept = checks.why_not(step)
            if kept is not None and kept.detail.startswith(LIFTED):
                kept = _lifted_by_hand(store, plan, step, kept, run_id)
            if kept is not None:
                if kept.status == NOT_POSSIBLE:  # for good: a rerun does not ask again
                    store.record_action(
                        step.kind, step.target, NOT_POSSIBLE, kept.detail, run_id, item=step.item
                    )
                settled(step, kept)
                stopped = kept if kept.retry else None
                continue
        send, refused = _sender(client, step, reason, restore_data)
        held: list[ActionOutcome] = []

        def theirs(step: Step = step, held: list[ActionOutcome] = held) -> ActionOutcome | None:
            # The daemon acts beside undo (its own lock): since the plan was made (and
            # while Lemmy was asked) its ban may have run out and the daemon banned the
            # person anew for another item. That ban is another decision's: asked again
            # in the unban's claim, one transaction with it, so that the daemon's ban
            # claim comes either before it (seen here) or after (the ban handler sees
            # the unban claimed and defers its ban to its next cycle).
            items = {item_key(plan.rows[d].record) for d in step.decisions}
            why = _ban_not_theirs(store, step.target, items, chosen=plan.rows, audit=plan.audit)
            if why is None:
                return None
            held.append(ActionOutcome(step.kind, "skipped", f"not lifted: {why}"))
            return held[-1]

        outcome = ex.once(
            step.kind,
            step.target,
            step.describe,
            send,
            verify=_verifier(client, step),
            again=again,
            refused=refused,
            held=theirs if step.kind == "unban" else None,
        )
        if held:
            settled(step, outcome)
            continue
        row = store.action(step.kind, step.target)
        if (
            outcome.status == "skipped"
            and row
            and row["status"] == "done"
            and row["run_id"] != run_id
            and any((d, step.kind, step.target) not in recorded for d in step.decisions)
        ):
            # Done by an undo killed before it wrote its record: record it now.
            outcome = ActionOutcome(
                step.kind,
                "done",
                f"{row['detail']} (by run {row['run_id']}, which stopped before recording it)",
                done_at=row["done_at"],
            )
        if step.kind == "unban" and row and row["status"] == "done" and original:
            # An undone ban counts as one that ran out: another offence bans anew.
            store.set_cursor(
                f"ban:{step.target}",
                json.dumps({"expires": int(row["done_at"]), "item": original.get("item")}),
            )
        settled(step, outcome)
        if outcome.retry:  # Lemmy down, rate-limiting past the retries, or no login
            stopped = outcome
    _record(store, plan, results, run_id, recorded)
    return results


def _lifted_by_hand(
    store: Store, plan: UndoPlan, step: Step, found: ActionOutcome, run_id: str
) -> ActionOutcome:
    """Record an unban Lemmy shows done by someone else (``found``, ``BY_HAND``) as this
    undo's, nothing sent: the store's unban done (a rerun says "already undone"), and the
    bot's ban counted as one that ran out, as an unban the bot sent is (left in force,
    the person's next offence would find it "already done" and go unbanned). Checked
    again in the same transaction that the ban is still these decisions' (the daemon
    may have banned anew for another item meanwhile: then ``found`` as it is)."""
    items = {item_key(plan.rows[d].record) for d in step.decisions}
    with store.transaction():
        if _ban_not_theirs(store, step.target, items, chosen=plan.rows, audit=plan.audit):
            return found
        original = store.action("ban", step.target) or {}
        at = store.record_action("unban", step.target, "done", found.detail, run_id, item=step.item)
        store.set_cursor(
            f"ban:{step.target}", json.dumps({"expires": int(at), "item": original.get("item")})
        )
    return ActionOutcome("unban", "done", found.detail, done_at=at)


def _shown_done(client: LemmyApi, step: Step, before: dict) -> bool:
    """Whether Lemmy shows the undo done (the post restored, the person not banned). False
    when that cannot be read: the checks then say why."""
    try:
        return bool(_verifier(client, step)(before))
    except LemmyError:
        return False


def found_done(client: LemmyApi, store: Store, step: Step) -> bool:
    """Whether ``step`` is an undo whose last attempt failed and that Lemmy shows done
    (its answer was lost): ``carry_out`` records it done and sends nothing (what the
    preview says it will do)."""
    _, before, _ = _rows(store, step)
    return before is not None and before["status"] == "failed" and _shown_done(client, step, before)


def _rows(store: Store, step: Step) -> tuple[dict | None, dict | None, bool]:
    """The store's rows of the action ``step`` undoes and of the undo, and whether the
    action was done again after an earlier undo of it (it is undone anew)."""
    original = store.action(UNDO_KINDS[step.kind], step.target)
    before = store.action(step.kind, step.target)
    again = bool(
        before
        and before["status"] == "done"
        and original
        and original["status"] == "done"
        and original["done_at"] > before["done_at"]
    )
    return original, before, again


def _record(
    store: Store,
    plan: UndoPlan,
    results: list[tuple[Step, ActionOutcome]],
    run_id: str,
    recorded: set[tuple],
) -> None:
    """One audit record per decision something was undone (or failed to be, or was left
    as it is, or found not possible) for; a finding recorded before is not recorded
    again."""
    for decision_id, row in plan.rows.items():
        entries = []
        for step, outcome in results:
            if decision_id not in step.decisions:
                continue
            key = (decision_id, step.kind, step.target)
            if outcome.status == "done" and key in recorded:
                continue
            if outcome.status not in ("done", "failed", "skipped", NOT_POSSIBLE):
                continue
            if outcome.status in ("skipped", NOT_POSSIBLE):
                if (*key, outcome.status, outcome.detail) in recorded:
                    continue
                if outcome.detail.startswith("already done"):  # the store's, not news
                    continue
            entries.append(
                {
                    "action": step.kind,
                    "target": step.target,
                    "status": outcome.status,
                    "detail": outcome.detail,
                    "done_at": None if outcome.done_at is None else _iso(outcome.done_at),
                }
            )
        if not entries:
            continue
        record = row.record
        store.add_decision(
            {
                "run_id": run_id,
                "decided_at": utc_iso(),
                "dry_run": False,
                "undo_of": decision_id,
                "item": record.get("item"),
                "image": record.get("image"),
                "rule": record.get("rule"),
                "scores": {},
                "labels": [],
                "actions": entries,
                "skipped": None,
            }
        )


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return utc_iso(datetime.fromtimestamp(epoch, UTC))
