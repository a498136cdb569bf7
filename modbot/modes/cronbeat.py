"""The heartbeat of `modbot run --once` (cron, a systemd timer) and the health check that
understands it beside the daemon's.

Each `run --once` records in the state file when it last succeeded, the success before
it, the times between its last few successes, its last error and the interval it is
started at (`run --once --every 10m`: the last one given, a run by hand without it does
not forget cron's; else the median of those times, at least a minute). `modbot
healthcheck` reads whichever of the daemon's heartbeat and this one was written last (a
dry run's only when no live one was ever recorded): a cron setup is healthy while its
last good run is younger than 3 intervals (or `--max-age`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modbot.model import utc_iso
from modbot.modes.health import read_heartbeat
from modbot.store import Store

__all__ = ["HEALTHY_INTERVALS", "ONCE_CURSOR", "health", "once_cursor", "record_once"]

log = logging.getLogger(__name__)

ONCE_CURSOR = "once:heartbeat"
HEALTHY_INTERVALS = 3  # as for the daemon: a missed run or two is no alarm
# Without --every, the interval is the median of the times between the last GAPS_KEPT
# good runs: one `run --once` by hand seconds after cron's is an outlier, not cron's
# interval (the last gap alone made the limit seconds: unhealthy until cron's next run).
GAPS_KEPT = 9
# ... and never under a minute, cron's shortest interval: the first two runs, by hand
# seconds apart while setting up, give no limit of seconds either.
MIN_INTERVAL = timedelta(minutes=1)


def once_cursor(dry_run: bool) -> str:
    """A live `run --once`'s heartbeat, or a dry run's own."""
    return f"dry-run:{ONCE_CURSOR}" if dry_run else ONCE_CURSOR


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def record_once(
    store: Store,
    *,
    run_id: str,
    dry_run: bool,
    summary: str = "",
    error: str = "",
    every: timedelta | None = None,
    now: datetime | None = None,
) -> None:
    """Record one `run --once`: a success (``error`` empty) or a failure."""
    now = now or datetime.now(UTC)
    cursor = once_cursor(dry_run)
    previous = read_heartbeat(store, cursor) or {}  # an unreadable one is written afresh
    last_ok, before = _when(previous.get("last_ok")), _when(previous.get("previous_ok"))
    gaps = list(previous.get("gaps") or [])
    if not gaps and last_ok is not None and before is not None:  # a beat of an older modbot
        gaps = [max(0.0, (last_ok - before).total_seconds())]
    if not error and last_ok is not None:
        gaps = [*gaps, max(0.0, (now - last_ok).total_seconds())][-GAPS_KEPT:]
    # A run without --every keeps cron's only when it came sooner than that (one by hand
    # between cron's); one as late or later is cron's own, its --every given up: the
    # interval is then the runs' (else the old --every would hold for good).
    kept_every = previous.get("every")
    if (
        not every
        and isinstance(kept_every, (int, float))
        and last_ok is not None
        and (now - last_ok).total_seconds() >= kept_every
    ):
        kept_every = None
    beat = {
        "run_id": run_id,
        "dry_run": dry_run,
        "runs": int(previous.get("runs") or 0) + 1,
        # a run by hand, without --every, does not make cron's interval unknown
        "every": every.total_seconds() if every else kept_every,
        "gaps": gaps,
        "last_ok": previous.get("last_ok") if error else utc_iso(now),
        "previous_ok": previous.get("last_ok") if not error else previous.get("previous_ok"),
        "last_summary": summary or previous.get("last_summary", ""),
        "last_error": error or None,
        "last_error_at": utc_iso(now) if error else previous.get("last_error_at"),
    }
    try:
        store.set_cursor(cursor, json.dumps(beat))
    except sqlite3.Error as exc:  # a locked or full disk must not hide the run's own outcome
        log.warning("could not record the heartbeat of run --once: %s", exc)


def _latest(beat: dict, *keys: str) -> datetime | None:
    moments = [_when(beat.get(k)) for k in keys]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def _seconds(value: timedelta) -> str:
    return f"{max(0, int(value.total_seconds()))}s"


def health(
    state_path: str | Path, *, max_age: timedelta | None = None, now: datetime | None = None
) -> tuple[bool, str]:
    """(healthy, why) from the daemon's heartbeat or `run --once`'s, whichever is newer:
    the live ones; the dry runs' only when no live daemon or `run --once` ever ran."""
    from modbot.errors import StateError
    from modbot.modes.health import (
        HEARTBEAT_CURSOR,
        HeartbeatUnreadable,
        StateCursors,
        daemon_cursor,
        heartbeat,
    )
    from modbot.modes.health import health as daemon_health

    path = Path(state_path)
    if path.exists():
        dry = daemon_cursor(HEARTBEAT_CURSOR, dry_run=True)
        names = (HEARTBEAT_CURSOR, once_cursor(False), dry, once_cursor(True))
        try:
            cursors = StateCursors(path, names)  # read only: the check changes nothing
            # A dry run beside the live bot must not stand in for it: the dry runs'
            # heartbeats count only where no live one (daemon or cron) was recorded.
            daemon = heartbeat(cursors, HEARTBEAT_CURSOR)
            once = heartbeat(cursors, once_cursor(False))
            if daemon is None and once is None:
                daemon, once = heartbeat(cursors, dry), heartbeat(cursors, once_cursor(True))
        except StateError as exc:
            return False, str(exc)
        except HeartbeatUnreadable as exc:
            return False, f"{path}: {exc}"
    else:
        daemon = once = None
    if once is not None:
        daemon_at = _latest(daemon, "last_ok", "last_error_at", "stopped_at") if daemon else None
        once_at = _latest(once, "last_ok", "last_error_at")
        if daemon_at is None or (once_at is not None and once_at >= daemon_at):
            return _once_health(once, max_age, now or datetime.now(UTC))
    result = daemon_health(path, max_age=max_age, now=now)
    message = result.message
    if not result.ok and daemon is None:
        message += " (for `modbot run --once` from cron: no run recorded yet either)"
    return result.ok, message


def _once_health(beat: dict, max_age: timedelta | None, now: datetime) -> tuple[bool, str]:
    from modbot.modes.health import from_the_future

    last_ok, previous = _when(beat.get("last_ok")), _when(beat.get("previous_ok"))
    error = beat.get("last_error")
    mode = "run --dry-run --once" if beat.get("dry_run") else "run --once"
    if last_ok is None:
        return False, f"no `modbot {mode}` has succeeded yet; last error: {error}"
    age = now - last_ok
    future = from_the_future(f"the last good `modbot {mode}`", beat["last_ok"], age)
    if future:
        return False, future
    if max_age is not None:
        limit, rule = max_age, "--max-age"
    elif beat.get("every"):
        limit = timedelta(seconds=HEALTHY_INTERVALS * float(beat["every"]))
        rule = f"{HEALTHY_INTERVALS} x --every"
    elif beat.get("gaps") or previous is not None:
        gaps = beat.get("gaps") or []
        if not gaps and previous is not None:  # a beat an older modbot wrote
            gaps = [max(0.0, (last_ok - previous).total_seconds())]
        typical = timedelta(seconds=sorted(gaps)[len(gaps) // 2])  # the median (upper)
        if len(gaps) == 1:
            rule = f"{HEALTHY_INTERVALS} x the time between its last two runs"
        else:
            rule = f"{HEALTHY_INTERVALS} x the median time between its last {len(gaps) + 1} runs"
        if typical < MIN_INTERVAL:
            rule = (
                f"{HEALTHY_INTERVALS} x a minute, cron's shortest interval: {rule} is "
                f"{_seconds(HEALTHY_INTERVALS * typical)} (runs by hand?); give "
                "`run --once --every` the interval cron starts it at"
            )
            typical = MIN_INTERVAL
        limit = HEALTHY_INTERVALS * typical
    else:
        return True, (
            f"ok: the first `modbot {mode}` succeeded {_seconds(age)} ago; its interval is "
            "not known yet (give `run --once --every 10m`, or `healthcheck --max-age`)"
        )
    why = f"; last error: {error}" if error else ""
    if age > limit:
        return False, (
            f"the last good `modbot {mode}` was {_seconds(age)} ago (limit "
            f"{_seconds(limit)}: {rule}){why}"
        )
    return True, (
        f"ok: last good `modbot {mode}` {_seconds(age)} ago (limit {_seconds(limit)}: "
        f"{rule}; {beat.get('runs')} runs, run {beat.get('run_id')}){why}"
    )
