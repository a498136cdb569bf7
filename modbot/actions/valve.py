"""The safety valve: when more than ``max_destructive_per_hour`` removals, purges and bans
would be done within an hour, the bot switches to report-only (latched in the store
until ``modbot run --reset-safety-valve``) and tells the admins once.

Live, it is counted in the store as each destructive action is claimed, so every
process on the state counts against the same limit. A dry run simulates it, per hour
and latched as the real one (a dry-run daemon runs for days), so its report shows
where the valve would trip. The limit and the clock are the executor's, read at each
action (a caller may change them between cycles).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from modbot.store import Store

log = logging.getLogger(__name__)

__all__ = ["HOUR", "Valve"]

HOUR = 3600.0


class Valve:
    def __init__(self, store: Store, *, dry_run: bool) -> None:
        self.store, self.dry_run = store, dry_run
        self._planned: list[float] = []  # dry run: destructive actions planned, last hour
        self._would_trip = False  # dry run: the simulated valve tripped
        self._future_said: float | None = None  # the reset time in the future, said once

    def tripped(self) -> dict[str, Any] | None:
        """The latched valve (``tripped_at``, ``reason``), or None (always in a dry run)."""
        return None if self.dry_run else self.store.valve_tripped()

    def window(self, limit: int, now: float) -> tuple[bool, int]:
        """For monitoring: (tripped, destructive actions counted in the window now); in a
        dry run, the simulated valve's."""
        if self.dry_run:
            return self._would_trip, sum(1 for t in self._planned if t > now - HOUR)
        since = self.terms(limit, now)["valve_since"]
        return self.store.valve_tripped() is not None, self.store.destructive_done_since(since)

    def dry_run_allows(self, limit: int, now: float) -> bool:
        """One more destructive action planned in a dry run: within the limit?"""
        self._planned = [t for t in self._planned if t > now - HOUR]
        if self._would_trip or len(self._planned) >= limit:
            self._would_trip = True
            return False
        self._planned.append(now)
        return True

    def terms(self, limit: int, now: float) -> dict[str, Any]:
        """What ``Store.claim_action`` counts a destructive action's claim against."""
        return {
            "valve_limit": limit,
            "valve_since": self._since(now),
            "valve_reason": f"more than {limit} destructive actions within an hour",
        }

    def _since(self, now: float) -> float:
        """The last hour, or less since an admin reset the valve. A reset recorded while
        the clock was ahead (corrected since) lies in the future: when it was is not
        known, so the whole hour counts (from it, nothing would, and the valve could
        not trip until the clock caught up)."""
        reset = self.store.valve_reset_at()
        if reset <= now:
            return max(now - HOUR, reset)
        if self._future_said != reset:
            self._future_said = reset
            log.warning(
                "the safety valve's last reset is recorded at %s UTC, in the future (the "
                "clock was ahead when it was reset): the whole last hour counts, the actions "
                "before that reset too; reset it again (`modbot run --reset-safety-valve`) "
                "if it trips on them",
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(reset)),
            )
        return now - HOUR

    def detail(self, limit: int) -> str:
        """What an action held back by the valve records."""
        if self.dry_run:
            return (
                f"the safety valve would trip here (more than {limit} destructive "
                "actions within an hour): reported instead"
            )
        return "safety valve tripped: report-only until an admin resets it; reported instead"
