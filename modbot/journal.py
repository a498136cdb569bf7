"""The write-ahead journal of acting, and carrying on from it after a crash.

Before an item's first action is sent, its decisions and the actions they plan (the
target, the actions, the repeats) go into the journal; the transaction that records
the item deletes its entry. An entry still there at the next start is an item a run was
acting on when it stopped (``kill -9``, a crash, a cycle that failed): ``recover``
carries out each decision's remaining actions through the executor in *resuming* mode
(those done are not repeated and show as done, with when; one that was being sent is
looked up on Lemmy first), then hands the decisions on to be recorded. An entry in a
format this modbot does not know, or with a field it does not know (a newer modbot wrote
it, then was downgraded) stops it before it acts: the entry is kept for a modbot that
can carry it on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from modbot.actions.executor import Executor
from modbot.errors import StateError
from modbot.model import ActionOutcome, Decision, Item, PlannedAction, Target
from modbot.store import Store

__all__ = ["JOURNAL_VERSION", "ActionPlan", "recover", "write_ahead"]

log = logging.getLogger(__name__)

JOURNAL_VERSION = 2  # entries carry the planned actions and their target


@dataclass
class ActionPlan:
    """What one decision's actions are, as the journal keeps them."""

    target: Target
    actions: list[PlannedAction]
    repeats: list[ActionOutcome]  # recorded as they are: "already decided for another image"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": asdict(self.target),
            "actions": [asdict(a) for a in self.actions],
            "repeats": [o.as_dict() for o in self.repeats],
        }


def write_ahead(
    store: Store, item: Item, run_id: str, decisions: list[tuple[Decision, ActionPlan | None]]
) -> None:
    """The item's decisions and their plans, before the first action is sent."""
    store.journal_put(
        item.key,
        run_id,
        {
            "version": JOURNAL_VERSION,
            "runs": [run_id],
            "item": {"kind": item.kind, "id": item.id, "updated": item.updated},
            "records": [
                {**d.to_dict(), "plan": None if plan is None else plan.to_dict()}
                for d, plan in decisions
            ],
        },
    )


def recover(
    store: Store,
    executor: Executor,
    run_id: str,
    finish: Callable[[Item, list[Decision]], None],
) -> None:
    """Carry on every item of the journal (see the module docstring); ``finish(item,
    decisions)`` records them. Live only, under the acting lock, at the start of a cycle
    (nothing is in flight then). Raises StateError, before anything is done, when an
    entry is in a format this modbot does not know, or holds a field it does not know."""
    entries = store.journal_entries()
    # Every entry is read whole first: one this modbot cannot read is refused before
    # anything is sent, whether its version is unknown or, with the same version, it
    # holds a field this modbot does not know (a newer modbot's, after a downgrade).
    read = [
        (key, stopped, entry, _read_entry(store, key, stopped, entry))
        for key, stopped, entry in entries
    ]
    for key, stopped, entry, parts in read:
        if parts is None:
            # Written by an older modbot: decisions without their plan.
            log.warning("%s: the last run stopped while acting on it; recorded as interrupted", key)
            with store.transaction():
                for record in entry:
                    store.add_decision(record)
                store.journal_delete(key)
            continue
        log.warning("%s: run %s stopped while acting on it; carrying on", key, stopped)
        meta = entry["item"]
        item = Item(meta["kind"], meta["id"], None, meta.get("updated") or "")
        runs = list(entry.get("runs") or [stopped])
        if run_id not in runs:  # should this run die too, the next knows it acted
            runs.append(run_id)
            store.journal_put(key, stopped, {**entry, "runs": runs})
        decisions = []
        executor.resuming = set(runs)
        try:
            for decision, plan in parts:
                decisions.append(decision)
                if plan is None:
                    continue
                target, actions, repeats = plan
                outcomes = executor.execute(target, actions) if actions else []
                decision.actions = outcomes + repeats
                decision.resumed_by = run_id
        finally:
            executor.resuming = set()
        finish(item, decisions)


_Plan = tuple[Target, list[PlannedAction], list[ActionOutcome]]


def _read_entry(
    store: Store, key: str, stopped: str, entry: Any
) -> list[tuple[Decision, _Plan | None]] | None:
    """The decisions of a journal entry and their plans (None: an older modbot's list
    of records, without plans). ``StateError`` for an entry this modbot cannot read."""
    if isinstance(entry, list):
        return None
    version = entry.get("version") if isinstance(entry, dict) else None
    problem = None
    if version == JOURNAL_VERSION:
        try:
            return [_read_record(record) for record in json.loads(json.dumps(entry["records"]))]
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            problem = f"its journal entry holds what this modbot does not know ({exc})"
    # Dropping it would lose the item's decision and the rest of its actions.
    problem = problem or (
        f"its journal entry is in a format this modbot does not know (version {version}; "
        f"this one reads {JOURNAL_VERSION})"
    )
    raise StateError(
        f"{store.path}: run {stopped} stopped while acting on {key}, and {problem}: a "
        "newer modbot wrote it. Nothing is done, and the entry is kept: upgrade modbot "
        "again to the version that wrote it (or later), which carries the item on. To "
        "give the item up instead, delete the row item_key = "
        f"'{key}' from the state file's journal table."
    )


def _read_record(record: dict[str, Any]) -> tuple[Decision, _Plan | None]:
    plan = record.pop("plan", None)
    decision = Decision.from_dict(record)
    if not plan:
        return decision, None
    return decision, (
        Target(**plan["target"]),
        [PlannedAction(**a) for a in plan["actions"]],
        [ActionOutcome(o["action"], o["status"], o.get("detail", "")) for o in plan["repeats"]],
    )
