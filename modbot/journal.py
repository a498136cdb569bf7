"""The write-ahead journal of acting, and carrying on from it after a crash.

Before an item's first action is sent, its decisions and the actions they plan (the
target, the actions, the repeats) go into the journal; the transaction that records
the item deletes its entry. An entry still there at the next start is an item a run was
acting on when it stopped (``kill -9``, a crash, a cycle that failed): ``recover``
carries out each decision's remaining actions through the executor in *resuming* mode
(those done are not repeated and show as done, with when; one that was being sent is
looked up on Lemmy first), then hands the decisions on to be recorded. An entry in a
format this modbot does not know (a newer modbot wrote it, then was downgraded) stops it
before it acts: the entry is kept for a modbot that can carry it on.
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
    entry is in a format this modbot does not know."""
    entries = store.journal_entries()
    for key, stopped, entry in entries:
        if not isinstance(entry, list) and not (
            isinstance(entry, dict) and entry.get("version") == JOURNAL_VERSION
        ):
            # Dropping it would lose the item's decision and the rest of its actions.
            version = entry.get("version") if isinstance(entry, dict) else None
            raise StateError(
                f"{store.path}: run {stopped} stopped while acting on {key}, and its journal "
                f"entry is in a format this modbot does not know (version {version}; this "
                f"one reads {JOURNAL_VERSION}): a newer modbot wrote it. Nothing is done, and "
                "the entry is kept: upgrade modbot again to the version that wrote it (or "
                "later), which carries the item on. To give the item up instead, delete "
                f"the row item_key = '{key}' from the state file's journal table."
            )
    for key, stopped, entry in entries:
        if isinstance(entry, list):
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
        records = json.loads(json.dumps(entry["records"]))
        runs = list(entry.get("runs") or [stopped])
        if run_id not in runs:  # should this run die too, the next knows it acted
            runs.append(run_id)
            store.journal_put(key, stopped, {**entry, "runs": runs})
        decisions = []
        executor.resuming = set(runs)
        try:
            for record in records:
                plan = record.pop("plan", None)
                decision = Decision.from_dict(record)
                decisions.append(decision)
                if not plan:
                    continue
                actions = [PlannedAction(**a) for a in plan["actions"]]
                outcomes = executor.execute(Target(**plan["target"]), actions) if actions else []
                decision.actions = outcomes + [
                    ActionOutcome(o["action"], o["status"], o.get("detail", ""))
                    for o in plan["repeats"]
                ]
                decision.resumed_by = run_id
        finally:
            executor.resuming = set()
        finish(item, decisions)
