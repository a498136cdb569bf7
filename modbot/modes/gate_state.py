"""The upload gate's reads and writes of the state file, kept off its event loop.

The state file is shared: the bot commits each item's decisions and actions in one
transaction, and a sweep, ``modbot undo`` or another gate write too. SQLite lets one
writer in at a time; another waits for the lock. pict-rs fails the upload when the
gate has not answered within 30 s, and every upload waits behind a stalled event
loop, so no answer may wait for that lock:

- Writes (the evidence of a decision, a new verdict for the cache) go to one thread,
  in order, on a connection of their own. An answer waits for its evidence at most
  ``RECORD_WAIT_S`` and never past the gate's budget (its deciding stops a moment
  before, ``gate.RECORD_RESERVE_S``), so normally the record is on disk before pict-rs
  hears the answer; past that the answer goes, and the record is written once the lock frees
  (each write waits ``WRITE_BUSY_S`` for the lock, then tries again, for as long as
  the gate runs). At most ``MAX_PENDING_WRITES`` wait in memory (a few KB each), the
  records of accepted files and the verdicts for the cache only while fewer than half
  that wait; a record beyond them, or one the gate stops before writing, is logged with
  its hash, outcome and rule (the log is then its only record) and counted on
  ``/healthz``.
- Reads (the verdict cache, the files modbot purged) go to another thread, on a
  connection of their own too, so a write waiting for the lock holds no read back. A
  cache read that takes over ``READ_WAIT_S`` is a miss: the file is classified.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from modbot.store import Store

__all__ = ["RECORD_WAIT_S", "GateState"]

log = logging.getLogger(__name__)

RECORD_WAIT_S = 1.0  # an answer waits this long for its evidence to be written
READ_WAIT_S = 2.0  # a verdict cache read slower than this is a miss
WRITE_BUSY_S = 5.0  # one try at a write waits this long for the lock
MAX_PENDING_WRITES = 10_000  # writes waiting for the lock, in memory (~3 KB each)
# an accepted file's record (``spare``) and a verdict for the cache are queued only while
# fewer wait than this: the rest of the queue is kept for the evidence of refusals and
# files without a verdict
MAX_PENDING_SPARE = MAX_PENDING_WRITES // 2
MAX_PENDING_READS = 64  # cache reads queued; more are misses at once
PURGED_REFRESH_S = 2.0  # how stale the list of purged files may be


class GateState:
    """The gate's view of the state file at ``store.path``: the verdict cache
    (``get``/``put``, a ``classify.VerdictCache``), the files modbot purged
    (``purged_file``), and the evidence records (``record``). ``close()`` writes what
    waits (briefly, when the file is locked) and closes its connections."""

    def __init__(self, store: Store) -> None:
        self.writes = Store(store.path, busy_timeout=WRITE_BUSY_S)
        self.reads = Store(store.path)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="modbot-gate-writes")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="modbot-gate-reads")
        self._lock = threading.Lock()
        self.writes_waiting = 0  # queued or being written (for /healthz)
        self.not_written = 0  # records and verdicts given up on (for /healthz)
        self.slow_reads = 0  # cache reads answered as misses (for /healthz)
        self._reads_waiting = 0
        self._locked_since: float | None = None  # monotonic: writes wait for the lock
        self._closing = False  # close() was called
        self._gave_up = False  # closing, a write found the file locked: no more tries
        self.purged: dict[str, dict[str, Any]] = {}
        self._purged_after = 0
        self._purged_at = time.monotonic()
        self._refreshing: Future[None] | None = None
        self._refresh_purged()  # before the first request: a purged file is refused at once

    # -- the verdict cache ----------------------------------------------------------------

    async def get(self, sha256: str, concept_version: str) -> dict[str, Any] | None:
        with self._lock:
            if self._reads_waiting >= MAX_PENDING_READS:
                self.slow_reads += 1
                return None
            self._reads_waiting += 1
        future = self._reader.submit(self._read_verdict, sha256, concept_version)
        future.add_done_callback(self._read_done)  # run, or cancelled while queued
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), READ_WAIT_S)
        except TimeoutError:
            with self._lock:
                self.slow_reads += 1
            log.warning(
                "the verdict cache did not answer within %gs: sha256 %s is classified",
                READ_WAIT_S,
                sha256,
            )
            return None

    def _read_verdict(self, sha256: str, concept_version: str) -> dict[str, Any] | None:
        try:
            return self.reads.get_verdict(sha256, concept_version)
        except sqlite3.Error as exc:  # a miss: the file is classified
            log.warning("the verdict cache could not be read (%s): sha256 %s", exc, sha256)
            return None

    def _read_done(self, _future: Future[Any]) -> None:
        with self._lock:
            self._reads_waiting -= 1

    def put(self, sha256: str, concept_version: str, verdict: dict[str, Any]) -> None:
        """Cache a verdict; nothing waits for it (a verdict not kept is made again)."""
        self._write(
            lambda: self.writes.put_verdict(sha256, concept_version, verdict),
            f"the verdict on sha256 {sha256} (for the cache)",
            # as an accepted file's record: each file classified brings one, and queued up
            # to the whole bound they took the room kept for the evidence of refusals
            MAX_PENDING_SPARE,
        )

    # -- the files modbot purged ---------------------------------------------------------

    async def purged_file(self, sha256: str, wait: float = READ_WAIT_S) -> dict[str, Any] | None:
        """The purge that makes ``sha256`` refused (``Store.purged_files``' row), or None.
        The list is read again when it is due, waited for at most ``wait`` seconds (what
        is left of the gate's budget, at most ``READ_WAIT_S``; then the list in use
        answers, and the read goes on for the next file)."""
        due = time.monotonic() - self._purged_at >= PURGED_REFRESH_S
        if due and (self._refreshing is None or self._refreshing.done()):
            self._purged_at = time.monotonic()
            self._refreshing = self._reader.submit(self._refresh_purged)
        if self._refreshing is not None and not self._refreshing.done():
            timeout = max(0.0, min(wait, READ_WAIT_S))
            await asyncio.wait([asyncio.wrap_future(self._refreshing)], timeout=timeout)
        return self.purged.get(sha256)

    def _refresh_purged(self) -> None:
        try:
            rows, self._purged_after = self.reads.purged_files(self._purged_after)
        except sqlite3.Error as exc:  # read again when next due; the list in use stays
            log.warning("the list of files modbot purged could not be read: %s", exc)
            return
        for row in rows:
            self.purged.setdefault(row["sha256"], row)

    # -- the evidence ----------------------------------------------------------------------

    async def record(
        self, record: dict[str, Any], wait: float = RECORD_WAIT_S, *, spare: bool = False
    ) -> None:
        """Write a decision record; wait for it at most ``wait`` seconds (the gate: what
        is left of its budget, at most ``RECORD_WAIT_S``). ``spare`` (a file accepted):
        not queued once ``MAX_PENDING_SPARE`` writes wait."""
        gate = record.get("gate") or {}
        what = (
            f"the evidence of {gate.get('outcome')} sha256 {record['image'].get('sha256')} "
            f"(rule {record.get('rule')!r}, {gate.get('status')})"
        )
        limit = MAX_PENDING_SPARE if spare else None
        future = self._write(lambda: self.writes.add_decision(record), what, limit)
        if future is None:
            return
        # (asyncio.wait cancels nothing: past the wait, the write goes on after the answer)
        await asyncio.wait([asyncio.wrap_future(future)], timeout=max(0.0, wait))

    def not_recorded(self) -> None:
        """A record the gate could not even hand over (its handling failed before the
        write was queued): counted with those given up on, for /healthz."""
        with self._lock:
            self.not_written += 1

    # -- writing ---------------------------------------------------------------------------

    def _write(
        self, write: Callable[[], object], what: str, limit: int | None = None
    ) -> Future[None] | None:
        limit = MAX_PENDING_WRITES if limit is None else limit
        with self._lock:
            if self._closing or self.writes_waiting >= limit:
                self.not_written += 1
                waiting = self.writes_waiting
            else:
                self.writes_waiting += 1
                waiting = -1
        if waiting >= 0:
            log.error(
                "NOT written to the state file (%s): %s",
                "the gate is stopping" if self._closing else f"{waiting} writes wait for its lock",
                what,
            )
            return None
        return self._writer.submit(self._write_now, write, what)

    def _write_now(self, write: Callable[[], object], what: str) -> None:
        try:
            while True:
                if self._gave_up:
                    raise RuntimeError("the gate stopped while the file was locked")
                try:
                    write()
                except sqlite3.OperationalError as exc:
                    locked = "locked" in str(exc) or "busy" in str(exc)
                    if locked and self._closing:
                        self._gave_up = True
                    elif locked:
                        if self._locked_since is None:
                            self._locked_since = time.monotonic()
                            log.warning(
                                "the state file is locked by another process: the gate "
                                "answers on, and writes its records when the lock frees"
                            )
                        continue
                    raise
                if self._locked_since is not None:
                    log.warning(
                        "the state file's lock freed after %.0fs: the records waiting are written",
                        time.monotonic() - self._locked_since,
                    )
                    self._locked_since = None
                return
        except Exception as exc:
            with self._lock:
                self.not_written += 1
            log.error("NOT written to the state file (%s): %s", exc, what)
        finally:
            with self._lock:
                self.writes_waiting -= 1

    def close(self) -> None:
        """Write what waits, unless the file is locked: then the try under way is the
        last (``WRITE_BUSY_S``), and what is left is logged as not written."""
        self._reader.shutdown(wait=True, cancel_futures=True)
        self._closing = True
        self._writer.shutdown(wait=True)
        self.writes.close()
        self.reads.close()
