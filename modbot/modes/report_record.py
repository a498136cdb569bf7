"""``modbot report`` from the record: the window's recorded decisions decided again under
the current rules, without downloading or classifying anything, and without paging
through Lemmy (the login only, for the admins' ids and the dry-run executor).

Each recorded image (the latest decision on it: ``Store.window_decisions``) becomes a
``Subject`` again from its record (the item's facts, its verdict, its hashes), then a
``Plan`` (``Policy.decide``) and the actions a dry run would plan (``Executor``, dry
run: nothing is sent, ever). An image is **not decided again** (listed, with why) when:

- its verdict was made under another concept version (the model or the concepts
  changed) and the verdict cache has none under the current one;
- it was never classified (no classifier answered, or it failed) and the verdict cache
  has no verdict on its file since;
- the policy's hash lists need a kind of hash its record does not have (a list of a
  new kind; the image would have to be downloaded).

``modbot report --rescan`` (``modbot.modes.report.report``) is the old way: a dry run
walking the window through Lemmy, downloading and classifying. It is also what a
report does when nothing at all is recorded in the window (a new install).

An image whose file modbot purged is "purged" (not checked) in the decisions made
after the purge, as the run recorded them; the decision that purged it is decided again
(its actions "already done", its undo).

The subscribed feeds are the copies kept in the state file, as a run loads them (nothing
is fetched): a feed's list matches as it did in the run, and a ``use: classified``
feed's verdict on a file replaces the recorded one, as a run asks the feeds first.

Each record is decided as of its decision time (``decided_at``): an account's age
(``author: {account_age}``) is what it was when the bot decided the item, as the run
counted it, not its age when the report is made; the dry run's simulated safety valve
counts its destructive actions then too (within the hour before it, as the run did).

Records from before modbot kept the item's facts (``RecordedItem.published`` ...
``author_is_admin``) decide with those unknown: a rule on them (``author: {local,
account_age, bot_account, moderator}``, ``community: {local}``, ``scope``) does not
match, and the item's window is its decision time, not its publication.

An item is decided whole, so an image whose latest decision is not of the look that
found its item last (the run, and the item's version it saw: ``item.version``, in the
same run too) is one that look no longer found (edited out of a post, an avatar
replaced): left out, and counted (``no_longer_shown``), as a fresh look would not decide
it. So is every image of an item a later look found with no image at all (a look
records one decision per image, none then): the item's "seen" mark, in the scope of the
record's run, holds another version, marked after the record (``Store.seen_mark``).

An exempt item spares its file for every other decision on that file, as in the run
(``Plan.spares_file``): an upload or stored file of it is exempt, and another post's or
comment's purge of it is not done. The run's own notes of such files
(``Store.exempt_file``, in the scope of the record's run: live, or a dry run's) are asked
first: the run spares a file for ever after an exempt item showing it was decided, in
the window or before it. Then the window is read twice: first for the files its exempt
items show under the current rules (kept in a temporary SQLite file, not in memory),
then decided. All of it, not only the decisions sharing a file with an upload of the
window: an upload is decided when it is first listed, often before the post that shows it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from modbot.model import ActionOutcome, PlannedAction, Target, parse_time, utc_iso
from modbot.modes.report import REPORT_SCOPE
from modbot.record import fetch_failure_facts, recorded_at, recorded_subject
from modbot.rules import Subject
from modbot.subscriptions import load_kept, peer_verdict

if TYPE_CHECKING:
    from modbot.config.policy import Policy
    from modbot.pipeline import Pipeline

__all__ = ["NEVER_CLASSIFIED", "Redecider", "in_window", "what_next"]

log = logging.getLogger("modbot.report")

# the scopes whose exempt-file notes a record's run read: a live run's, or a dry run's
# (`run --dry-run`, a dry-run sweep; `report --rescan` notes in the report's own scope)
_SCOPES = {False: ("live",), True: ("dry-run", REPORT_SCOPE)}

# the scopes whose "seen" marks a record's run kept: a live run's, or a dry run's (a
# `report --rescan` keeps none)
_SEEN_SCOPES = {False: ("live",), True: ("dry-run",)}

# skip reasons of an image whose file was fetched but got no verdict
NEVER_CLASSIFIED = frozenset({"classifier_unavailable", "classifier_error", "unchecked"})

# what a record not decided again keeps under `recorded`, as its run decided it
_RECORDED = (
    "rule",
    "actions",
    "labels",
    "scores",
    "hash_match",
    "exempt",
    "matched",
    "skipped",
    "skipped_detail",
    "unreadable",
)


class Redecider:
    """Decides the recorded decisions of a window again, one at a time, with
    ``pipeline``'s policy, store and (dry-run) executor. ``concept_version``: the
    classifier's current one (None: unknown; the recorded verdicts are then used as
    they are)."""

    def __init__(self, pipeline: Pipeline, *, concept_version: str | None) -> None:
        assert pipeline.dry_run, "a report never acts"
        self.pipeline = pipeline
        self.policy = pipeline.policy
        self.store = pipeline.store
        self.executor = pipeline.executor
        self.concept_version = concept_version
        self.run_id = pipeline.run_id
        # The subscribed feeds as the run decides with them: their copies kept in the
        # state file (a run loads them at its start), nothing fetched. Not loaded, a
        # feed's list matched nothing and no peer's verdict was found.
        load_kept(self.store, self.policy)
        self.spared = _Spared()  # file key -> why an exempt item spares it
        self.latest = _LatestLook()  # item -> the run of its newest decision
        self.no_longer_shown = 0  # images a later look at their item did not find
        self.redecided = 0
        self.not_redecided = 0
        self.without_facts = 0  # records from before the item's facts were recorded
        self._item: str | None = None
        self._done_for_item: set[str] = set()

    # ------------------------------------------------------------------ the window
    def window(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        """The report's records, oldest first."""
        bound = utc_iso(since) if since is not None else None
        # every exempt item decided in the window spares its file, as the run noted it
        # when it decided the item (made before `since` too: a post read again)
        for row_id, record in self.store.window_decisions(bound):
            self._note_spared(row_id, record)
            self.latest.note(_item_key(record), _look(record))  # oldest first
        for row_id, record in self.store.window_decisions(bound):
            if not in_window(record, since):
                continue
            # An item is decided whole: an image whose latest decision is not of the
            # look that found its item last (the run, and the item's version it saw) is
            # one that look did not find (edited out of a post, a new avatar), in
            # another run or the same one. A fresh look would not decide it.
            if self.latest.look(_item_key(record)) != _look(record) or self._looked_since(record):
                self.no_longer_shown += 1
                continue
            yield self.decide(row_id, record)

    def _looked_since(self, record: dict[str, Any]) -> bool:
        """Whether a later look at the record's item, by a run of its kind (live, dry
        run), saw the item at another version and recorded nothing: it found no image
        at all (every image edited out). Only the item's "seen" mark says so: a look
        records one decision per image found, none for an item without one. A mark of
        another version made before the record (a look left to be tried again marks
        nothing) is an earlier look's; one made within the record's second is not told
        apart from it and taken as earlier."""
        item = record.get("item") or {}
        version, decided = item.get("version"), recorded_at(record)
        if version is None or decided is None:
            return False  # a record from before modbot kept the item's version
        for scope in _SEEN_SCOPES[bool(record.get("dry_run"))]:
            mark = self.store.seen_mark(scope, str(item.get("kind")), item.get("id"))
            if mark is not None and mark[0] != version and mark[1] >= decided.timestamp() + 1:
                return True
        return False

    def _note_spared(self, row_id: int, record: dict[str, Any]) -> None:
        """Before anything is decided: which files an exempt item of the window spares."""
        item = record.get("item") or {}
        keys = _file_keys(record)
        if not keys:
            return
        subject, _why, _fresh = self._subject(record)
        if subject is None or subject.skipped:
            return
        plan = self.policy.decide(subject, recorded_at(record))
        if plan.spares_file:
            kind, item_id = item.get("kind"), item.get("id")
            why = f"the same file is shown by {kind} {item_id}, exempt: {plan.spares_file}"
            self.spared.note(keys, why)

    # ------------------------------------------------------------------ one record
    def decide(self, row_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """The record decided again (or said why not), as the report shows it."""
        item = record.get("item") or {}
        origin = {
            "decision": row_id,
            "run_id": record.get("run_id"),
            "dry_run": record.get("dry_run"),
            "decided_at": record.get("decided_at"),
            # whether that decision itself did an action (its undo undoes something)
            "acted": _did_act(record),
        }
        out: dict[str, Any] = {**record, "run_id": self.run_id, "dry_run": True}
        out["redecided_from"] = origin
        if "published" not in item and "author_local" not in item:
            self.without_facts += 1
        item_key = f"{item.get('kind')}:{item.get('id')}"
        if item_key != self._item:
            self._item, self._done_for_item = item_key, set()
        if record.get("image") is None:  # an item that could not be read: nothing to decide
            out["actions"] = []
            self.redecided += 1
            return out
        subject, why_not, fresh = self._subject(record)
        if fresh is not None:  # decided on another verdict than the record's: say whose
            out.update(
                model=fresh.get("model"),
                concept_version=fresh.get("concept_version"),
                random_weights=bool(fresh.get("random_weights")),
            )
        if subject is None:
            self.not_redecided += 1
            # What the record decided is kept apart, under `recorded`: the report counts
            # what it decided, and an old verdict's label, exemption or skip is none of
            # that (the summary counted them with no row of the page showing them).
            recorded = {k: record[k] for k in _RECORDED if record.get(k) is not None}
            recorded.update(rule=record.get("rule"), actions=record.get("actions") or [])
            for key in _RECORDED:
                out.pop(key, None)
            out.update(
                not_redecided=why_not,
                rule=None,
                actions=[],
                labels=[],
                scores={},
                hash_match=None,
                skipped=None,
                recorded=recorded,
            )
            return out
        self.redecided += 1
        out.update(
            scores=dict(subject.scores),
            labels=list(subject.labels),
            unreadable=subject.unreadable,
            skipped=subject.skipped,
            rule=None,
            hash_match=None,
            actions=[],
        )
        for key in ("exempt", "matched"):
            out.pop(key, None)
        if subject.skipped and (
            subject.skipped == "purged" or not self.policy.acts_on_skips or not item
        ):
            return out  # only rules about skips match an image not checked
        spared = self._noted(record) or self.spared.first(_file_keys(record))
        own = f"the same file is shown by {item.get('kind')} {item.get('id')},"
        if spared and spared.startswith(own):
            spared = None  # its own exemption, not another item's
        subject.file_exempt = spared
        plan = self.policy.decide(subject, recorded_at(record))
        image = dict(out["image"])
        image["hashes"] = {**(image.get("hashes") or {}), **plan.hashes}
        out.update(
            image=image,
            rule=plan.rule,
            hash_match=dict(plan.hash_lists) or None,
            exempt=plan.exempt,
            matched=[asdict(m) for m in plan.matched],
        )
        out["actions"] = [a.as_dict() for a in self._act(record, plan.actions, spared)]
        return out

    def _act(
        self, record: dict[str, Any], planned: list[PlannedAction], spared: str | None
    ) -> list[ActionOutcome]:
        """What the dry-run executor plans (one remove/ban/report per item)."""
        item, image = record.get("item") or {}, record.get("image") or {}
        real: list[PlannedAction] = []
        repeats: list[ActionOutcome] = []
        for action in planned:
            key = action.kind
            if action.kind in ("purge_image", "delete_image"):
                key = f"{action.kind}:{image.get('url')}"
            if key in self._done_for_item:
                repeats.append(
                    ActionOutcome(
                        action.kind, "skipped", "already decided for another image of this item"
                    )
                )
                continue
            self._done_for_item.add(key)
            real.append(action)
        if not real:
            return repeats
        shown_by = tuple(
            (str(k), int(i), None if a is None else int(a))
            for k, i, a in item.get("shown_by") or ()
        )
        target = Target(
            kind=str(item.get("kind")),
            id=item["id"] if isinstance(item.get("id"), (int, str)) else "?",
            url=item.get("url"),
            author_id=item.get("author_id"),
            author_name=item.get("author") or "",
            author_is_admin=bool(item.get("author_is_admin")),
            community_id=item.get("community_id"),
            image_alias=image.get("alias"),
            image_url=image.get("url") or "",
            image_original_url=image.get("original_url"),
            image_sha256=image.get("sha256"),
            file_exempt=spared,
            uploader_exempt=self.pipeline.uploader_exempt(image.get("alias"), real),
            shown_by=shown_by,
            author_role=item.get("author_role"),
        )
        # The dry run's simulated safety valve counts the record at its decision time,
        # as the run counted it: a window's removals are not all made within this hour.
        decided = recorded_at(record)
        clock = self.executor.clock
        if decided is not None:
            self.executor.clock = decided.timestamp
        try:
            return self.executor.execute(target, real) + repeats
        finally:
            self.executor.clock = clock

    def _noted(self, record: dict[str, Any]) -> str | None:
        """Why the run spares the record's file, by its own notes (``exempt_files``): an
        exempt item showing it, noted when a run of the record's kind (live, dry run)
        decided that item, in the window or before it. The run spares the file by the
        first note for ever after, so the report does too, and names the same item."""
        item, image = record.get("item") or {}, record.get("image") or {}
        alias = image.get("alias") or (item.get("id") if item.get("kind") == "upload" else None)
        sha256 = image.get("sha256")
        if not sha256 and not alias:
            return None
        key = f"{item.get('kind')}:{item.get('id')}"
        for scope in _SCOPES[bool(record.get("dry_run"))]:
            found = self.store.exempt_file(scope, sha256, alias, other_than=key)
            if found is not None:
                kind, _, item_id = str(found["item_key"]).partition(":")
                return f"the same file is shown by {kind} {item_id}, exempt: {found['why']}"
        return None

    def _subject(self, record: dict[str, Any]) -> tuple[Subject | None, str, dict[str, Any] | None]:
        """The image as the rules see it, from its record; (None, why, _) when it cannot
        be. The third: the verdict it is decided on when that is not the record's (a
        subscribed feed's, or the one cached under the current concept version)."""
        image = record.get("image") or {}
        skipped = record.get("skipped")
        sha256 = image.get("sha256")
        verdict: dict[str, Any] | None = {
            "scores": record.get("scores") or {},
            "labels": record.get("labels") or [],
            "unreadable": record.get("unreadable"),
        }
        version = record.get("concept_version")
        fresh = self._peer(record)
        if fresh is not None:  # a run asks the feeds before the classifier, as here
            verdict, skipped = fresh, None
        elif skipped in NEVER_CLASSIFIED:
            verdict = fresh = self._cached(sha256)
            if verdict is None:
                return None, f"never classified ({skipped}): no verdict on its file since", None
            skipped = None
        elif not skipped and self.concept_version and version != self.concept_version:
            verdict = fresh = self._cached(sha256)
            if verdict is None:
                return None, self._not_current(record), None
        alias = image.get("alias")
        if not skipped and alias and self.store.image_purged(alias) and not _purged_it(record):
            skipped = "purged"  # before this decision: the run did not look at it either
        hashes = dict(image.get("hashes") or {})
        if sha256:
            hashes.setdefault("sha256", sha256)
        if not skipped:
            assert verdict is not None
            decoded = set(self.policy.decoded_hash_kinds)
            # a kind the run could not take of this file (recorded with why) is decided
            # without, as the run was: not one a newer list needs
            not_taken = image.get("hashes_not_taken") or {}
            missing = [
                kind
                for kind in self.policy.hash_kinds
                if kind not in hashes
                and kind not in not_taken
                and not (verdict.get("unreadable") and kind in decoded)
            ]
            if missing:
                return (
                    None,
                    f"its {', '.join(missing)} hash was not recorded (a hash list of that "
                    "kind is newer than the decision)",
                    None,
                )
        return (
            recorded_subject(
                record,
                verdict,
                admin_ids=self.executor.admin_ids,
                skipped=skipped,
                **_recorded_fetch_failure(record, skipped),
                sha256=sha256,
                hashes=hashes,
            ),
            "",
            fresh,
        )

    def _peer(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The verdict a ``use: classified`` feed gives the record's file now, when the
        file was read (a run asks the feeds once it has the file's hashes); else None."""
        image = record.get("image") or {}
        sha256 = image.get("sha256")
        skipped = record.get("skipped")
        if not self.policy.feeds or not sha256 or (skipped and skipped not in NEVER_CLASSIFIED):
            return None
        # the rules of the record's side alone (a gate's file, or one of Lemmy's items)
        incoming = (record.get("item") or {}).get("kind") == "incoming"
        hashes = {**(image.get("hashes") or {}), "sha256": sha256}
        return peer_verdict(self.policy, hashes, incoming=incoming)

    def _not_current(self, record: dict[str, Any]) -> str:
        """Why a verdict of another concept version is not decided again."""
        model = str(record.get("model") or "")
        if model.startswith("feed ") and not record.get("concept_version"):
            return (
                f"its verdict was the subscribed {model}'s, which gives none on its file "
                "now, and the classifier has no verdict on its file (under concept version "
                f"{self.concept_version})"
            )
        version = record.get("concept_version")
        return (
            f"classified under concept version {version or 'unknown'}, the "
            f"classifier's is now {self.concept_version} (its model or concepts "
            "changed) and no verdict on its file was made since"
        )

    def _cached(self, sha256: str | None) -> dict[str, Any] | None:
        if not sha256 or not self.concept_version:
            return None
        return self.store.get_verdict(sha256, self.concept_version)


def _did_act(record: dict[str, Any]) -> bool:
    """Whether the recorded decision itself did one of its actions (not a dry run's,
    not one found done already)."""
    return not record.get("dry_run") and any(
        a.get("status") in ("done", "covered") for a in record.get("actions") or []
    )


def _purged_it(record: dict[str, Any]) -> bool:
    """Whether the record's own decision purged its image (the image was there when it
    was decided, and is decided again as it was)."""
    return any(
        a.get("action") == "purge_image"
        and (
            a.get("status") in ("done", "covered")
            or str(a.get("detail") or "").startswith("already done")
        )
        for a in record.get("actions") or []
    )


def _recorded_fetch_failure(record: dict[str, Any], skipped: str | None) -> dict[str, Any]:
    """The Subject's facts of a failed download, from the record, as the run had them."""
    image = record.get("image") or {}
    return fetch_failure_facts(
        copy_url=image.get("checked_url"),
        original_failed=image.get("original_failed"),
        original_detail=image.get("original_failed_detail"),
        skipped=skipped,
        skipped_detail=record.get("skipped_detail"),
    )


def in_window(record: dict[str, Any], since: datetime | None) -> bool:
    """An item made since ``since`` (its record's decision time when it has no
    publication time: recorded before modbot kept it)."""
    if since is None:
        return True
    published = parse_time((record.get("item") or {}).get("published"))
    if published is None:
        return True  # decided since `since` (the query's bound) and nothing more known
    return published >= (since if since.tzinfo else since.replace(tzinfo=UTC))


class _Spared:
    """File key (``sha256:…``, ``alias:…``) -> why an exempt item spares the file, in a
    temporary SQLite file: a window may hold many exempt items (a moderator's posts)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("CREATE TABLE spared (n INTEGER PRIMARY KEY, key TEXT UNIQUE, why TEXT)")

    def note(self, keys: Iterable[str], why: str) -> None:
        """The first item noted for a file is the one named."""
        self._db.executemany(
            "INSERT OR IGNORE INTO spared (key, why) VALUES (?, ?)", [(k, why) for k in keys]
        )

    def first(self, keys: Iterable[str]) -> str | None:
        """Why the file of ``keys`` is spared (by the first of them noted), or None."""
        for key in keys:
            row = self._db.execute("SELECT why FROM spared WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return str(row[0])
        return None


class _LatestLook:
    """Item key -> the look of its newest decision in the window (``_look``), in a
    temporary SQLite file (a window holds as many items as it holds)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("CREATE TABLE latest (item TEXT PRIMARY KEY, look TEXT)")

    def note(self, item: str, look: str) -> None:
        """A decision of ``item`` by the look ``look``, newer than those noted before."""
        self._db.execute("INSERT OR REPLACE INTO latest VALUES (?, ?)", (item, look))

    def look(self, item: str) -> str | None:
        row = self._db.execute("SELECT look FROM latest WHERE item = ?", (item,)).fetchone()
        return None if row is None else row[0]


def _look(record: dict[str, Any]) -> str:
    """Which look at its item made the record: its run and the item's version it saw
    (``item.version``; a record from before modbot kept it: its run alone)."""
    version = (record.get("item") or {}).get("version")
    return json.dumps([record.get("run_id"), version])


def _item_key(record: dict[str, Any]) -> str:
    item = record.get("item") or {}
    return f"{item.get('kind')}:{item.get('id')}"


def _file_keys(record: dict[str, Any]) -> list[str]:
    image = record.get("image") or {}
    item = record.get("item") or {}
    keys = []
    if image.get("sha256"):
        keys.append(f"sha256:{image['sha256']}")
    alias = image.get("alias") or (item.get("id") if item.get("kind") == "upload" else None)
    if alias:
        keys.append(f"alias:{alias}")
    return keys


# --------------------------------------------------------------------------- what next


def what_next(policy: Policy, record: dict[str, Any]) -> str | None:
    """For a flagged decision: how to act on a false positive, with the exact line to
    add (None for a decision nothing matched)."""
    if not (record.get("rule") or record.get("actions")) or record.get("not_redecided"):
        return None
    image = record.get("image") or {}
    hashes = {**(image.get("hashes") or {})}
    sha256 = image.get("sha256")
    if sha256:
        hashes.setdefault("sha256", sha256)
    steps: list[str] = []
    on_lists = record.get("hash_match") or {}
    blocking = [n for n in on_lists if n not in policy.allow_lists]
    feeds = getattr(policy, "feeds", None) or {}
    for name in blocking:
        if name in feeds:  # the publisher's list, not the admin's to edit
            publisher = feeds[name].settings.publisher
            steps.append(
                f"the subscribed feed {name!r} ({publisher}) lists it: tell its admins "
                "(the allow-list below spares it here meanwhile)"
            )
            continue
        hash_list = policy.hash_lists.get(name)
        kind = getattr(hash_list, "kind", None)
        value = hashes.get(kind) if kind else None
        path = getattr(hash_list, "path", None)
        if value and path is not None:
            line = _list_line(hash_list, value)
            steps.append(f"remove the line {line} from {path} (hash list {name!r})")
        else:
            steps.append(f"remove this image's entry from the hash list {name!r}")
    allow = _allow_line(policy, hashes)
    if allow:
        steps.append(allow)
    elif not sha256:
        steps.append("no hash of this image was taken: exempt its author or community instead")
    actions = record.get("actions") or []
    acted = any(
        a.get("status") == "done" or str(a.get("detail") or "").startswith("already done")
        for a in actions
    )
    # `modbot undo ID` undoes what decision ID itself did: a dry run's decision, or one
    # that found it done already, did nothing; then the item's decisions are named
    origin = record.get("redecided_from")
    if origin:
        decision = origin.get("decision") if origin.get("acted") else None
    else:
        decision = record.get("decision_id") if _did_act(record) else None
    item = record.get("item") or {}
    if acted and decision is not None:
        steps.append(f"undo what was done: modbot undo {decision} --yes")
    elif acted and item.get("kind") is not None and item.get("id") is not None:
        steps.append(f"undo what was done: modbot undo --item {item['kind']}:{item['id']} --yes")
    if not steps:
        return None
    return "If this is a false positive: " + "; then ".join(steps) + "."


def _list_line(hash_list: Any, value: str) -> str:
    """`value` as a line of the list's file: a python-threatexchange file skips a bare
    hash, it reads `<signal type> <hash>`."""
    if getattr(hash_list, "format", "plain") == "threatexchange":
        from modbot.threatexchange_files import SIGNAL_TYPES

        signal = next((t for t, k in SIGNAL_TYPES.items() if k == hash_list.kind), None)
        if signal is not None:
            return f"{signal} {value}"
    return value


def _allow_line(policy: Policy, hashes: dict[str, str]) -> str | None:
    """The allow-list line to add: to an allow-list of a kind the image has a hash of,
    else the rules.yaml lines of a new sha256 allow-list."""
    for name in policy.allow_lists:
        hash_list = policy.hash_lists.get(name)
        kind = getattr(hash_list, "kind", None)
        path = getattr(hash_list, "path", None)
        if kind and path is not None and hashes.get(kind):
            line = _list_line(hash_list, hashes[kind])
            return f"add the line {line} to {path} (allow-list {name!r}, kind {kind})"
    sha256 = hashes.get("sha256")
    if not sha256:
        return None
    return (
        "add an allow-list to rules.yaml: under hash_lists: "
        "`known-good: {kind: sha256, file: hashes/known-good.sha256}` and known-good to "
        f"exempt.hash_lists, then the line {sha256} to hashes/known-good.sha256"
    )
