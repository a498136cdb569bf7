"""Is the daemon alive? What ``modbot healthcheck`` (Docker's HEALTHCHECK) answers, from
the heartbeat the daemon writes into the state file after each cycle."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modbot.audit import read_only_connection
from modbot.config.words import cut
from modbot.errors import StateError
from modbot.store import Store, database_problem

log = logging.getLogger(__name__)

__all__ = [
    "HEARTBEAT_CURSOR",
    "SWEEP_REQUEST_CURSOR",
    "Health",
    "HeartbeatUnreadable",
    "StateCursors",
    "daemon_cursor",
    "from_the_future",
    "health",
    "heartbeat",
    "http_health",
    "read_heartbeat",
]

HEARTBEAT_CURSOR = "daemon:heartbeat"
SWEEP_REQUEST_CURSOR = "daemon:sweep_request"
HEALTHY_INTERVALS = 3  # the last good cycle may be this many poll intervals old
# A heartbeat this far ahead of this machine's clock was not written by a daemon on it
# now: a clock that jumped, or a state file copied from a machine ahead of this one.
# Taken as fresh, it would keep a dead daemon "healthy" until that moment comes.
FUTURE_SKEW = timedelta(minutes=1)
# A gate's or worker's /healthz answers a few hundred bytes. Past this, whatever answers
# is not one: reading on would hold its whole answer (without end, maybe) in memory.
HEALTHZ_MAX_BYTES = 1 * 2**20
# What of a /healthz's `problem` is printed: a gate's names every classifier worker's
# reason (each bounded: classifier.remote.MAX_SAID_CHARS in all)
PROBLEM_MAX_CHARS = 8000


def daemon_cursor(name: str, dry_run: bool) -> str:
    """The live daemon's cursor ``name``, or the dry-run daemon's own."""
    return f"dry-run:{name}" if dry_run else name


class Health:
    """What ``modbot healthcheck`` found: ``ok`` and a sentence saying why."""

    def __init__(self, ok: bool, message: str) -> None:
        self.ok, self.message = ok, message

    def __repr__(self) -> str:
        return f"Health(ok={self.ok}, message={self.message!r})"


class HeartbeatUnreadable(ValueError):
    """A heartbeat in the state file that is not one modbot wrote (edited by hand, or by
    another version): the message says which and what to do."""


# the moments and intervals a heartbeat holds (`modbot run` and `run --once`)
_MOMENTS = ("last_ok", "previous_ok", "last_error_at", "stopped_at")
_INTERVALS = ("poll_every", "every")


class StateCursors:
    """Cursors of a state file read on a read-only connection, for the health checks:
    they change nothing in it (no schema written, no journal mode switched, no file's
    mode changed), whatever file ``--state`` names. Raises ``StateError``."""

    def __init__(self, path: Path, names: Iterable[str]) -> None:
        names = tuple(names)
        self.values: dict[str, str] = {}
        if path.is_file() and path.stat().st_size == 0:
            return  # a state being made this very moment: nothing recorded yet
        try:
            db = read_only_connection(path)
        except sqlite3.Error as exc:
            raise StateError(database_problem(path, exc)) from None
        try:
            marks = ", ".join("?" * len(names))
            rows = db.execute(
                f"SELECT name, value FROM cursors WHERE name IN ({marks})", names
            ).fetchall()
        except sqlite3.Error as exc:
            raise StateError(database_problem(path, exc)) from None
        finally:
            db.close()
        self.values = {str(name): str(value) for name, value in rows}

    def get_cursor(self, name: str) -> str | None:
        return self.values.get(name)


def heartbeat(store: Store | StateCursors, cursor: str = HEARTBEAT_CURSOR) -> dict | None:
    """The heartbeat at ``cursor`` (None: none recorded), its moments and intervals
    checked; raises ``HeartbeatUnreadable``."""
    value = store.get_cursor(cursor)
    if not value:
        return None
    try:
        beat = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise HeartbeatUnreadable(_unreadable(cursor, f"not JSON: {exc}")) from None
    if not isinstance(beat, dict):
        raise HeartbeatUnreadable(_unreadable(cursor, "not a JSON object"))
    for key in _MOMENTS:
        moment = beat.get(key)
        if moment is None:
            continue
        try:
            when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            when = None
        if when is None or when.tzinfo is None:
            raise HeartbeatUnreadable(_unreadable(cursor, f"{key} is not a UTC time: {moment!r}"))
    for key in _INTERVALS:
        seconds = beat.get(key)
        if seconds is not None and not _is_seconds(seconds):
            raise HeartbeatUnreadable(_unreadable(cursor, f"{key} is not seconds: {seconds!r}"))
    gaps = beat.get("gaps")  # run --once's: the times between its last good runs
    if gaps is not None and not (
        isinstance(gaps, list) and all(_is_seconds(g) for g in gaps) and len(gaps) <= 100
    ):
        raise HeartbeatUnreadable(_unreadable(cursor, f"gaps is not a list of seconds: {gaps!r}"))
    return beat


def _is_seconds(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value < 1e9


def _unreadable(cursor: str, why: str) -> str:
    return (
        f"the heartbeat {cursor!r} in the state file is unreadable ({why}); it was not "
        "written by this version of modbot. The next good cycle of `modbot run` (or the "
        "next `run --once`) writes it afresh"
    )


def read_heartbeat(store: Store, cursor: str = HEARTBEAT_CURSOR) -> dict | None:
    """The heartbeat at ``cursor`` for the daemon that writes the next one: an unreadable
    one counts as none (and is written afresh), with a warning."""
    try:
        return heartbeat(store, cursor)
    except HeartbeatUnreadable as exc:
        log.warning("%s", exc)
        return None


def health(
    state_path: str | Path, *, max_age: timedelta | None = None, now: datetime | None = None
) -> Health:
    """Healthy when the daemon's last good cycle is recent: younger than ``max_age``,
    by default ``HEALTHY_INTERVALS`` poll intervals (as the daemon recorded them). The
    live daemon's heartbeat; a dry-run daemon's when no live daemon ever ran."""
    path = Path(state_path)
    if not path.exists():
        return Health(
            False,
            f"no state file at {path}: the daemon has not run a cycle yet "
            "(or MODBOT_STATE points elsewhere)",
        )
    dry = daemon_cursor(HEARTBEAT_CURSOR, dry_run=True)
    try:
        cursors = StateCursors(path, (HEARTBEAT_CURSOR, dry))
        beat = heartbeat(cursors) or heartbeat(cursors, dry)
    except StateError as exc:
        return Health(False, str(exc))
    except HeartbeatUnreadable as exc:
        return Health(False, f"{path}: {exc}")
    if not beat:
        return Health(False, f"{path}: no daemon cycle recorded yet")
    if beat.get("stopped_at"):
        return Health(False, f"the daemon stopped at {beat['stopped_at']}")
    now = now or datetime.now(UTC)
    limit = (
        max_age
        if max_age is not None  # timedelta(0) is an age too, not "none given"
        else timedelta(seconds=HEALTHY_INTERVALS * float(beat.get("poll_every") or 60))
    )
    last_ok = beat.get("last_ok")
    if not last_ok:
        return Health(False, f"no cycle has succeeded yet; last error: {beat.get('last_error')}")
    age = now - datetime.fromisoformat(last_ok.replace("Z", "+00:00"))
    future = from_the_future("the last good cycle", last_ok, age)
    if future:
        return Health(False, future)
    if age > limit:
        why = f"; last error: {beat['last_error']}" if beat.get("last_error") else ""
        return Health(
            False, f"the last good cycle was {_seconds(age)} ago (limit {_seconds(limit)}){why}"
        )
    return Health(
        True,
        f"ok: last good cycle {_seconds(age)} ago ({beat.get('cycles')} "
        f"cycles, run {beat.get('run_id')})",
    )


def from_the_future(what: str, when: str, age: timedelta) -> str | None:
    """Why a heartbeat recorded ahead of this machine's clock proves nothing, or None."""
    if age >= -FUTURE_SKEW:
        return None
    return (
        f"{what} is recorded at {when}, {_seconds(-age)} after this machine's time: the "
        "clock of this machine or of the machine that wrote the state file is wrong (set "
        "both by NTP); nothing says the bot is alive now"
    )


def _seconds(value: timedelta) -> str:
    return f"{max(0, int(value.total_seconds()))}s"


class _NotRead(Exception):
    """A /healthz answer not read to its end: too large, or too slow."""


def http_health(url: str, timeout: float = 10.0) -> tuple[bool, str]:
    """What a ``/healthz`` (the gate's or a worker's) says: ok, and a line for a human
    (``modbot healthcheck --http URL``, Docker's healthcheck). Its answer is read up to
    ``HEALTHZ_MAX_BYTES``, the whole exchange within ``timeout`` seconds (httpx's own
    timeout is per read: an answer dripping a byte at a time would never trip it)."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    try:
        # A proxy in the environment (HTTP_PROXY, set in every container by Docker's
        # client configuration) cannot reach this host's loopback: asked directly.
        # httpx would send it there even with NO_PROXY=127.0.0.0/8 (it reads no range).
        direct = _loopback(httpx.URL(url).host)
        with httpx.stream("GET", url, timeout=timeout, trust_env=not direct) as answer:
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > HEALTHZ_MAX_BYTES:
                    raise _NotRead(
                        f"an answer larger than {HEALTHZ_MAX_BYTES // 1024} KiB, far more "
                        "than a /healthz of modbot's sends; not read further: is the URL a "
                        "gate's or a worker's /healthz?"
                    )
                if time.monotonic() > deadline:
                    raise _NotRead(f"not complete within {timeout:g}s")
                chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks))
        except RecursionError:  # nested thousands deep: not JSON the parser can read
            raise ValueError("JSON nested too deep to parse") from None
        except ValueError:
            # an answer, but no /healthz's: a wrong port (the daemon's metrics, Lemmy)
            raise _NotRead(
                f"HTTP {answer.status_code}, not JSON: not what a gate's or a worker's "
                "/healthz answers; is the URL one? (the bot's own health: `modbot "
                "healthcheck` without --http)"
            ) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return False, f"{url}: no answer ({type(exc).__name__}: {exc})"
    except _NotRead as exc:
        return False, f"{url}: no answer ({exc})"
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("ok") is not True:
        # the gate's or worker's own `problem`, whole (it says what failed and what to look
        # at); else the answer, cut where marked. Not the first 300 characters of the
        # JSON, which cut the problem before its advice
        problem = body.get("problem") if isinstance(body, dict) else None
        said = problem if isinstance(problem, str) and problem else str(body)
        bound = PROBLEM_MAX_CHARS if said is problem else 300
        said = cut(said, bound)
        return False, f"{url}: HTTP {answer.status_code}, not ok: {said}"
    figures = ", ".join(
        f"{k} {body[k]}"
        for k in ("classifier", "model", "device", "requests", "rejected", "queue_depth")
        if k in body
    )
    return True, f"{url}: ok ({figures})"


def _loopback(host: str) -> bool:
    """Whether ``host`` (a URL's) is this host's loopback: localhost, 127.0.0.0/8, ::1."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
