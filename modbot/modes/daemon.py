"""`modbot run` as a daemon: poll on an interval, sweep the backlog and pict-rs' store on
cron schedules.

APScheduler drives the jobs. The poll job runs every ``schedule.poll_every`` (never two
at once; runs missed while one was busy are coalesced into one). The sweep job, on
``schedule.sweep_cron`` (UTC), only *requests* a sweep: the sweep then runs in slices of
about one poll interval after each poll, so new content is never kept waiting behind a
long backlog, and the pipeline is only ever used by one thread. The store sweep job, on
``schedule.store_sweep_cron``, requests the walk of pict-rs' whole store
(``modbot.store_source``, as ``sweep --store`` walks it) in the same way; it needs
pict-rs' internal API (``PICTRS_URL``, ``PICTRS_API_KEY``), and without it the daemon
says at start that it is off. One slice a cycle: the sweep requested first runs to its
end, then the other (never both at once). The requests and the sweeps' positions are in
the state file, so a restart carries on with them.

SIGTERM or Ctrl-C sets a stop event the pipeline checks between items: the batch in
hand is finished and recorded, the scheduler shuts down, the daemon records that it
stopped and returns 0. SIGHUP has the rules file read again at the start of the next
cycle (never in the middle of one): taken whole, or not at all when it is not valid or
changes what the running bot was built with (``Pipeline.reload``). ``watch`` takes
these signals from its first moment (``RunSignals``): SIGTERM or Ctrl-C while it starts
(the lock, the login, the model) ends it there with 0, a SIGHUP then has the rules file
read again before the first cycle, and ``--once`` finishes its batch in hand too. Each
cycle writes a heartbeat into the state file that ``modbot healthcheck`` reads. A dry-run daemon keeps
its heartbeat and sweep request apart (``dry-run:`` cursors), so one running beside the
live daemon on the same state never stands in for its health nor ends its sweep.

With ``--metrics-port`` each cycle also feeds the Prometheus metrics (``modbot.metrics``):
the cycle's counts, its duration, and the state it leaves (safety valve, posts to look at
again, a sweep under way).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from modbot.config.policy import Policy
from modbot.config.settings import Settings
from modbot.errors import LemmyUnavailable, StateLocked
from modbot.lemmy.transport import STOPPING, Held, same_hold, shown_url, sleep_unless_stopped
from modbot.modes.health import (
    HEARTBEAT_CURSOR,
    SWEEP_REQUEST_CURSOR,
    daemon_cursor,
    read_heartbeat,
)
from modbot.modes.sweep import walk_slice
from modbot.store import Store, database_problem, utc_iso

if TYPE_CHECKING:
    from modbot.metrics import Metrics
    from modbot.model import CycleStats, Item

__all__ = [
    "HEARTBEAT_CURSOR",
    "STORE_SWEEP_REQUEST_CURSOR",
    "SWEEP_REQUEST_CURSOR",
    "Daemon",
    "daemon_cursor",
    "failed_part_way",
    "watch",
]

log = logging.getLogger("modbot.daemon")

STORE_SWEEP_REQUEST_CURSOR = "daemon:store_sweep_request"
STORE_SWEEP_OFF = (
    "store sweep off: it reads pict-rs' internal API; set PICTRS_URL and PICTRS_API_KEY "
    "for schedule.store_sweep_cron to walk pict-rs' whole store (docs/configuration.md)"
)
log_run = logging.getLogger("modbot.run")  # the command's own lines, as `modbot run` logs them
# A hold of Lemmy's (the login refused for its rate, a long Retry-After) fails each poll
# until it ends, up to an hour: said in full once (and when it changes), then in a short
# line at most this often (seconds), not its whole explanation at every poll.
HELD_SAID_EVERY = 600.0


class _OverrunPolls(logging.Filter):
    """apscheduler warns each time a poll is due while the last one still runs ("skipped:
    maximum number of running instances reached"): a long poll coalesces the next ones,
    which is normal (README), so that is a modbot DEBUG line instead of a WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances reached" in str(record.msg):
            log.debug("a poll was due while the last one still ran; it waits for the next")
            return False
        return True


_OVERRUN_POLLS = _OverrunPolls()
logging.getLogger("apscheduler.scheduler").addFilter(_OVERRUN_POLLS)


class _Slice(threading.Event):
    """A stop event that is also set once a time budget is spent (a sweep slice)."""

    def __init__(self, stop: threading.Event, seconds: float) -> None:
        super().__init__()
        self._stop = stop
        self._end = time.monotonic() + seconds

    def is_set(self) -> bool:
        return self._stop.is_set() or time.monotonic() >= self._end or super().is_set()

    def only_spent(self) -> bool:
        """Set by the budget alone, not by a signal: the pipeline then records the batch
        it read ahead before it stops, so a slice whose page takes longer than the whole
        budget still moves the sweep on (else every slice read that page again)."""
        return not self._stop.is_set() and not super().is_set()


class StoppedStarting(BaseException):
    """SIGTERM or Ctrl-C while ``modbot run`` starts. Not an ``Exception``: no handler
    on the way takes it for a failure (nor records it as one)."""


class RunSignals:
    """``modbot run``'s signals, from before the lock, the login and the model load
    (minutes for a big model on a CPU) to its end; the handlers it replaced are restored
    on exit. SIGTERM and SIGINT set ``stop``: the pipeline ends after the batch in hand;
    while starting (nothing in hand yet) they end the start at once (``StoppedStarting``).
    SIGHUP sets ``hangup``: the daemon reads the rules file again before its next cycle,
    the first one included; ``--once`` ignores it (each run reads the file as it starts)."""

    def __init__(self, *, once: bool) -> None:
        self.once = once
        self.stop = threading.Event()
        self.hangup = threading.Event()
        self.starting = True
        self._old: dict[int, Any] = {}

    def __enter__(self) -> RunSignals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._stop)
        if hasattr(signal, "SIGHUP"):  # not on Windows
            self._old[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hangup)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _stop(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        self.stop.set()
        if self.starting:
            self.starting = False  # once: a second signal must not break the unwinding
            raise StoppedStarting(name)
        log.info("%s received", name)

    def _hangup(self, signum: int, frame: Any) -> None:
        if self.once:
            log.info("SIGHUP received: ignored (run --once reads the rules file as it starts)")
            return
        if self.starting:
            log.info(
                "SIGHUP received while starting: the rules file is read again before the "
                "first cycle"
            )
        else:
            log.info("SIGHUP received: the rules file is read again before the next cycle")
        self.hangup.set()


class Daemon:
    """Runs ``pipeline`` on ``policy.schedule`` until ``stop`` is set (or a signal);
    ``hangup`` set: the rules file is read again before the next cycle (SIGHUP)."""

    def __init__(
        self,
        pipeline: Any,
        policy: Any,
        *,
        report: str | Path | None = None,
        stop: threading.Event | None = None,
        hangup: threading.Event | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.pipeline = pipeline
        pipeline.feeds_in_background = True  # a cycle never waits on a feed's host
        self.metrics = metrics
        self.policy = policy
        self.store: Store = pipeline.store
        self.report = Path(report) if report else None
        self.stop = stop or threading.Event()
        # a SIGTERM ends a request's retry waits too (Lemmy down: ~15 s of backoff,
        # past a container's stop timeout), not only the cycle after its batch
        client = getattr(pipeline, "client", None)  # (a test's stand-in may have none)
        if client is not None:
            client.stop = self.stop
        self.poll_every = policy.schedule.poll_every.total_seconds()
        self.cycles = 0
        dry_run = bool(pipeline.dry_run)
        self.heartbeat_cursor = daemon_cursor(HEARTBEAT_CURSOR, dry_run)
        self.sweep_request_cursor = daemon_cursor(SWEEP_REQUEST_CURSOR, dry_run)
        self.store_sweep_request_cursor = daemon_cursor(STORE_SWEEP_REQUEST_CURSOR, dry_run)
        # the store sweep lists pict-rs' store through its internal API: without it, none
        settings = getattr(pipeline, "settings", None)
        self.can_sweep_store = bool(settings is not None and settings.can_purge_by_alias)
        # this process has read Lemmy's media list for the store walk in hand (from then
        # on its polls keep the alias -> uploader index up to date)
        self._store_uploaders_read = False
        self._report: Any = None  # modbot.modes.report_stream.ReportBuilder, when asked
        self._report_after = 0  # the last decision row in the report
        # SIGHUP: read the rules file before the next cycle
        self._hangup = hangup or threading.Event()
        self._scheduler: Any = None  # the BackgroundScheduler, while running
        # the hold a failed cycle said last (its end, its code), when it was said in full
        # and when last (in full or short; monotonic)
        self._held_said: tuple[tuple[float, str | None], float, float] | None = None

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> int:
        """Poll and sweep on schedule until ``stop`` is set (by ``RunSignals``, which also
        sets ``hangup``: the signals are theirs, from before the start)."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # "Running job"/"executed successfully" twice a cycle: our own line says more.
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = BackgroundScheduler(
            timezone=UTC,
            # One worker for the pipeline: the poll job is its only user. The cron job
            # only writes a request, on its own worker so it never waits behind a poll.
            executors={"default": ThreadPoolExecutor(1), "cron": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(
            self.cycle,
            IntervalTrigger(seconds=self.poll_every, timezone=UTC),
            id="poll",
            name="poll",
            next_run_time=datetime.now(UTC),
        )
        self._schedule_sweep(scheduler)
        self._log_schedule()
        self._scheduler = scheduler
        scheduler.start()
        try:
            # Not `stop.wait(1.0)`: SIGTERM's handler sets `stop` in this very thread, and
            # one landing while wait() holds the Event's (non-reentrant) lock would block
            # in set() forever. A signal interrupts sleep() with no lock held.
            while not self.stop.is_set():
                time.sleep(0.2)
        finally:
            log.info("stopping: finishing the batch in hand")
            # Jobs see `stop` and return after the batch in hand; wait for that.
            scheduler.shutdown(wait=True)
            self._heartbeat(ok=True, stopped=True)
            self._write_report(force=True)
            log.info("stopped after %d cycles", self.cycles)
        return 0

    def _schedule_sweep(self, scheduler: Any) -> None:
        """The cron jobs that request a sweep, as ``schedule.sweep_cron`` says, and a store
        sweep, as ``schedule.store_sweep_cron`` does (none, or no pict-rs access: none)."""
        from modbot.config.schema import cron_trigger

        schedule = self.policy.schedule
        store_cron = schedule.store_sweep_cron if self.can_sweep_store else None
        for job, cron, request in (
            ("sweep", schedule.sweep_cron, self.request_sweep),
            ("store_sweep", store_cron, self.request_store_sweep),
        ):
            if scheduler.get_job(job) is not None:
                scheduler.remove_job(job)
            if cron:
                scheduler.add_job(
                    request, cron_trigger(cron, UTC), id=job, name=job, executor="cron"
                )

    def _log_schedule(self) -> None:
        schedule = self.policy.schedule
        cron, since = schedule.sweep_cron, schedule.sweep_since
        store_cron = schedule.store_sweep_cron
        if not store_cron:
            store = "no scheduled store sweep"
        elif self.can_sweep_store:
            store = f"store sweep '{store_cron}' UTC"
        else:
            store = STORE_SWEEP_OFF
        log.info(
            "daemon: poll every %ss%s, %s",
            f"{self.poll_every:g}",
            f", sweep '{cron}' UTC back {_describe(since)}" if cron else ", no scheduled sweep",
            store,
        )

    def reload(self) -> bool:
        """Read the rules file (and the hash lists it names) again and act by it from now
        on, as SIGHUP asks. A file that is not valid, or that changes the classifier or
        the connection to Lemmy, is not taken: the log says why and the daemon goes on by
        the rules it has (``Pipeline.reload``, which also names again the rules a
        non-admin account cannot carry out). Returns whether it was taken."""
        from modbot.config.policy import reread_policy

        path = self.policy.path
        policy = reread_policy(path, self.pipeline.reload, lambda p: log.error("%s", p))
        if isinstance(policy, str):
            log.error("rules NOT reloaded: %s; acting by the rules loaded before", policy)
            return False
        for warning in policy.warnings:
            log.warning("%s", warning)
        old, self.policy = self.policy, policy
        if self._report is not None:
            from modbot.modes.report import report_annotation

            self._report.annotate = report_annotation(policy)
        if policy.schedule != old.schedule and self._scheduler is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            poll_every = policy.schedule.poll_every.total_seconds()
            if poll_every != self.poll_every:
                self.poll_every = poll_every
                self._scheduler.reschedule_job(
                    "poll", trigger=IntervalTrigger(seconds=poll_every, timezone=UTC)
                )
            self._schedule_sweep(self._scheduler)
            self._log_schedule()
        _load_kept_feeds(self.store, policy)  # else its summary says "no copy yet" of each
        log.info(
            "rules reloaded from %s: %s",
            path,
            policy.summary(pictrs=self.pipeline.settings.can_purge_by_alias),
        )
        return True

    # ------------------------------------------------------------------ jobs
    def request_sweep(self) -> None:
        """The cron job: ask for a sweep back ``schedule.sweep_since`` from now."""
        if self.store.get_cursor(self.sweep_request_cursor):
            log.info("sweep: the previous sweep has not finished; it carries on")
            return
        window = self.policy.schedule.sweep_since
        since = datetime.now(UTC) - window if window else None
        self.store.set_cursor(
            self.sweep_request_cursor,
            json.dumps({"requested_at": utc_iso(), "since": utc_iso(since) if since else None}),
        )
        log.info("sweep requested (back %s); it runs in slices between polls", _describe(window))

    def request_store_sweep(self) -> None:
        """The store sweep's cron job: ask for a walk of pict-rs' whole store."""
        if self.store.get_cursor(self.store_sweep_request_cursor):
            log.info("store sweep: the previous store sweep has not finished; it carries on")
            return
        self.store.set_cursor(
            self.store_sweep_request_cursor, json.dumps({"requested_at": utc_iso()})
        )
        log.info("store sweep requested; it runs in slices between polls")

    def cycle(self) -> None:
        """The poll job: one poll, then a slice of the requested sweep or store sweep."""
        if self.stop.is_set():
            return
        if self._hangup.is_set():
            self._hangup.clear()
            self.reload()
        self.cycles += 1
        try:
            self._cycle()
        finally:
            # The cycle's warnings were logged as it said them; the pipeline keeps them
            # for a one-shot run's report, which the daemon's has no place for. Kept
            # here, one a cycle (a listing whose paging loops, a feed refused) would grow
            # the daemon's memory without end.
            warnings = getattr(self.pipeline, "warnings", None)
            if isinstance(warnings, list):
                warnings.clear()

    def _cycle(self) -> None:
        started = time.monotonic()
        done: list[CycleStats] = []  # what the cycle finished, counted even if it fails
        before = getattr(self.pipeline, "cycle_stats", None)
        try:
            # the heartbeat after each batch: healthcheck must not call a long poll (a
            # catch-up after downtime) stuck, or Docker restarts it before it ends
            stats = self.pipeline.poll_once(
                stop=self.stop,
                progress=lambda done, total: self._heartbeat(ok=True, summary="polling"),
            )
            line = f"cycle {self.cycles}: {stats.summary()}"
            done.append(stats)
            sweep = self._sweep_slice()
            if sweep:
                line += f" | {sweep[0]}"
                done.append(sweep[1])
        except StateLocked:
            raise  # another process acts on this state now: this one must stop, not retry
        except Exception as exc:  # the daemon lives on; the next cycle tries again
            if self.stop.is_set() and getattr(exc, "error", None) == STOPPING:
                # a request given up to stop (its retries not waited for): no failure
                log.info("cycle %d stopped before its end: %s", self.cycles, exc)
                return
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, sqlite3.Error):  # a full or failing disk: what to do
                error = database_problem(self.store.path, exc)
            # a poll that went well before its sweep slice failed: what it did (its
            # items, its actions taken) is said here, else in no line of the log
            poll = done[0].summary() if done else ""
            said = self._said_held(exc)
            if said is None:
                log.error(
                    "cycle %d failed: %s%s", self.cycles, error, poll and f"; its poll: {poll}"
                )
            elif said or not poll:
                log.log(
                    logging.WARNING if said else logging.DEBUG,
                    "cycle %d failed: %s%s",
                    self.cycles,
                    said or error,
                    poll and f"; its poll: {poll}",
                )
            else:  # what the poll did is said (in no other line), the hold not again
                log.info(
                    "cycle %d failed: Lemmy still holds it back (said above); its poll: %s",
                    self.cycles,
                    poll,
                )
            self._heartbeat(ok=False, error=error, summary=poll and f"cycle {self.cycles}: {poll}")
            # the poll or slice that failed had recorded what it did on its first pages
            # (its actions were taken): counted too, once; a stale one is not this cycle's
            partial = getattr(self.pipeline, "cycle_stats", None)
            if (
                partial is not None
                and partial is not before
                and all(partial is not s for s in done)
            ):
                done.append(partial)
            if self.metrics is not None:
                self.metrics.cycle_failed(time.monotonic() - started, done)
                self._metrics_state()
            return
        if self.metrics is not None:
            self.metrics.cycle_done(time.monotonic() - started, done)
            self._metrics_state()
        log.info("%s", line)
        self._heartbeat(ok=True, summary=line)
        self._write_report()

    def _said_held(self, exc: Exception) -> str | None:
        """How a cycle failed by ``exc`` is said: None, in full (not a hold of Lemmy's, or
        one not said yet); "", not again (the hold said, in full or short, less than
        ``HELD_SAID_EVERY`` ago: at DEBUG); else a short line that it still holds, naming
        when it was said in full."""
        if not isinstance(exc, Held):
            return None
        key, now = (exc.until, exc.error), time.monotonic()
        said = self._held_said
        # the same hold, raised again: its end as this process keeps it, a moment after
        # the first raise's (``same_hold``)
        if said is None or said[0][1] != key[1] or not same_hold(said[0][0], key[0]):
            self._held_said = (key, now, now)
            return None
        if now - said[2] < HELD_SAID_EVERY:
            return ""
        # the full message's time kept apart: each short line names it, not the last one
        self._held_said = (key, said[1], now)
        left = exc.left()
        end = datetime.now(UTC) + timedelta(seconds=left)
        first = datetime.now(UTC) - timedelta(seconds=now - said[1])
        return (
            f"Lemmy still holds it back until {end:%Y-%m-%d %H:%M:%S} UTC (in {left:.0f} s), "
            f"as said in full at {first:%H:%M:%S} UTC; nothing it holds is sent meanwhile"
        )

    def _metrics_state(self) -> None:
        """The state the cycle left, for the metrics (a scrape never reads the store)."""
        assert self.metrics is not None
        from modbot.metrics import ValveState

        executor = self.pipeline.executor
        limit = executor.max_destructive_per_hour
        try:
            tripped, in_window = executor.valve.window(limit, executor.clock())
            self.metrics.state(
                ValveState(tripped, in_window, limit),
                items_waiting=self.pipeline.source.retry_count(),
                sweep_pending=bool(self.store.get_cursor(self.sweep_request_cursor)),
                store_sweep_pending=bool(self.store.get_cursor(self.store_sweep_request_cursor)),
            )
        except Exception as exc:  # a locked state file must not kill the cycle
            log.warning("could not read the state for the metrics: %s", exc)

    def _sweep_slice(self) -> tuple[str, CycleStats] | None:
        """A slice of one requested sweep: the one requested first (the backlog's on a
        tie), so that each runs to its end before the other begins and neither waits
        forever behind the other's next request."""
        if self.stop.is_set():
            return None
        backlog = self.store.get_cursor(self.sweep_request_cursor)
        # a request left from a run with pict-rs access waits until it is given again
        files = self.store.get_cursor(self.store_sweep_request_cursor)
        files = files if self.can_sweep_store else None
        if backlog and files and _requested_at(files) < _requested_at(backlog):
            return self._store_sweep_slice()
        if backlog:
            return self._backlog_slice(backlog)
        if files:
            return self._store_sweep_slice()
        return None

    def _budget(self) -> _Slice:
        # Leave half the interval free so the next poll starts on time (a batch in hand
        # can run past the budget).
        return _Slice(self.stop, max(1.0, self.poll_every * 0.5))

    def _note_walk_part(self, **part: Any) -> None:
        """The slice noted as a part of its walk (``sweep.walk_slice``), for the report of
        the `modbot sweep` that ends the walk; never in place of the slice's own error (a
        hold, a failure), which says what happened: a note that fails is said."""
        try:
            walk_slice(self.pipeline, **part)
        except Exception as exc:
            log.warning(
                "this sweep slice was not noted as a part of its walk (%s): the report of "
                "the sweep that ends the walk leaves its decisions out",
                exc,
            )

    def _backlog_slice(self, request: str) -> tuple[str, CycleStats]:
        since_text = json.loads(request).get("since")
        since = datetime.fromisoformat(since_text.replace("Z", "+00:00")) if since_text else None
        # the slice is a part of the walk: the report of a `modbot sweep` resuming it
        # holds the decisions it records (its row ids: the polls' are not the walk's)
        resumed = self.pipeline.source.sweep_in_progress()
        after = self.store.last_decision_id()
        try:
            stats = self.pipeline.sweep(
                since,
                progress=lambda done, total: self._heartbeat(ok=True, summary="sweeping"),
                stop=self._budget(),
            )
        finally:
            self._note_walk_part(resumed=resumed, after_id=after, ended=self.pipeline.sweep_ended)
        # a slice whose time was up before its first page walked nothing: still requested
        finished = bool(self.pipeline.sweep_ended)
        if finished:
            self.store.set_cursor(self.sweep_request_cursor, None)
        # how far the whole walk went (its slices' figures are their own), as the store
        # sweep's line says it
        walked = self.pipeline.source.sweep_walked()
        state = f"{'finished' if finished else 'in progress'}{f' ({walked})' if walked else ''}"
        return f"sweep {state}: {stats.summary()}", stats

    def _store_sweep_slice(self) -> tuple[str, CycleStats]:
        """A slice of the walk of pict-rs' store, as ``sweep --store`` walks it (the same
        position in the state: a walk ``sweep --store`` left is carried on here)."""
        from modbot.modes.store_sweep import store_source

        source = store_source(
            self.pipeline, read_uploaders=not self._store_uploaders_read, stop=self.stop
        )

        def batches() -> Generator[list[Item], None, None]:
            for batch in source.batches():
                # its first batch comes after the media list was read (or said unreadable)
                self._store_uploaders_read = True
                yield batch

        # the slice is a part of the walk, as a backlog slice is (``_backlog_slice``)
        resumed = source.in_progress()
        after = self.store.last_decision_id()
        try:
            stats = self.pipeline.run_batches(
                batches,
                progress=lambda done, total: self._heartbeat(ok=True, summary="sweeping the store"),
                stop=self._budget(),
            )
        finally:
            self._note_walk_part(
                resumed=resumed, after_id=after, ended=source.ended, walk="store_sweep"
            )
        files = source.walked()  # not "0 of None" when stopped before the store was counted
        if source.ended:  # not when its time was up before its first page
            self.store.set_cursor(self.store_sweep_request_cursor, None)
            self._store_uploaders_read = False  # the next walk reads the media list again
            return f"store sweep finished ({files}): {stats.summary()}", stats
        return f"store sweep in progress ({files}): {stats.summary()}", stats

    # ------------------------------------------------------------------ records
    def waiting(self, why: str | None) -> None:
        """The start waits out a hold of Lemmy's (``why``), or a signal ended that wait
        (None): in the heartbeat, so `modbot healthcheck` says so, not the last run's
        stop or no cycle at all."""
        if why is None:
            self._heartbeat(ok=True, stopped=True)
        else:
            self._heartbeat(ok=False, error=why)

    def _heartbeat(
        self, *, ok: bool, summary: str = "", error: str = "", stopped: bool = False
    ) -> None:
        previous = read_heartbeat(self.store, self.heartbeat_cursor) or {}
        beat = {
            "pid": os.getpid(),
            "run_id": self.pipeline.run_id,
            "dry_run": bool(self.pipeline.dry_run),
            "poll_every": self.poll_every,
            "cycles": self.cycles,
            "last_ok": utc_iso() if ok and not stopped else previous.get("last_ok"),
            "last_summary": summary or previous.get("last_summary", ""),
            "last_error": error or None,
            "last_error_at": utc_iso() if error else previous.get("last_error_at"),
            "stopped_at": utc_iso() if stopped else None,
        }
        try:
            self.store.set_cursor(self.heartbeat_cursor, json.dumps(beat))
        except Exception as exc:  # a locked or full disk must not kill the cycle
            log.warning("could not record the heartbeat: %s", exc)

    def _write_report(self, force: bool = False) -> None:
        """Add the run's decisions recorded since the last cycle to the report and write
        it; a cycle that recorded nothing writes nothing (``force``: write anyway)."""
        if self.report is None:
            return
        from modbot.modes.report import add_run_decisions, report_annotation
        from modbot.modes.report_stream import ReportBuilder

        try:
            if self._report is None:
                self._report = ReportBuilder(
                    self.report,
                    dry_run=self.pipeline.dry_run,
                    title=f"modbot report: run {self.pipeline.run_id}",
                    annotate=report_annotation(self.policy),
                )
            before = self._report_after
            self._report_after = add_run_decisions(
                self._report, self.store, self.pipeline.run_id, before
            )
            if force or self._report_after != before:
                self._report.write()
        except (OSError, sqlite3.Error) as exc:  # a disk full: the report's or its temp files'
            log.warning("could not write the report %s: %s", self.report, exc)
        if force and self._report is not None:  # the daemon is stopping
            self._report.close()
            self._report, self._report_after = None, 0


def _requested_at(request: str) -> str:
    """When a sweep was requested (``utc_iso``: its text sorts as the time does)."""
    return str(json.loads(request).get("requested_at") or "")


def _describe(window: timedelta | None) -> str:
    if window is None:
        return "over everything"
    from modbot.config.units import format_duration

    return format_duration(window)


# ---------------------------------------------------------------------- modbot run


def watch(
    settings: Settings,
    policy: Policy,
    *,
    once: bool,
    dry_run: bool,
    report: str | None,
    lock_wait: float | None,
    every: timedelta | None = None,
    metrics_port: int | None = None,
    metrics_address: str = "127.0.0.1",
) -> int:
    """``modbot run``: the network and the login checked first, then the model (a wrong
    URL or password fails in seconds, a missing model before any other request), then
    one cycle (``once``, recorded for the cron healthcheck) or the daemon until SIGTERM
    or Ctrl-C (the batch in hand ends first), serving its metrics on ``metrics_port``
    (from the start: a port in use fails before the login)."""
    from modbot.doctor import connect_first
    from modbot.pipeline import Pipeline

    mode = "dry-run" if dry_run else "live"
    with RunSignals(once=once) as signals:
        try:
            with _first_pipeline(
                lambda: Pipeline(settings, policy, dry_run=dry_run, lock_wait=lock_wait),
                None if once else signals.stop,
            ) as pipeline:

                def start(waiting: Callable[[str | None], None] | None = None) -> None:
                    # DNS, connection, TLS, the login (reads only) before the model loads;
                    # the account's settings are fixed later.
                    if waiting is None:
                        connect_first(pipeline)  # run --once, from cron: the next run tries
                    else:
                        _past_holds(lambda: connect_first(pipeline), signals.stop, waiting)
                    _load_kept_feeds(pipeline.store, policy)  # the summary names their copies
                    log_run.info(
                        "modbot %s on %s as %s (run %s); %s",
                        mode,
                        shown_url(settings.lemmy_url),  # no proxy login in the log
                        settings.username,
                        pipeline.run_id,
                        policy.summary(pictrs=settings.can_purge_by_alias),
                    )
                    pipeline.engine  # noqa: B018 (loads the model)
                    signals.starting = False  # from here on a signal stops after the batch

                if once:
                    return _once(pipeline, start, signals.stop, mode, report, every)
                metrics: Metrics | None = None
                server = None
                if metrics_port is not None:
                    metrics = _metrics(policy, dry_run)
                    server = metrics.serve(metrics_port, metrics_address)
                try:
                    daemon = Daemon(
                        pipeline,
                        policy,
                        report=report,
                        stop=signals.stop,
                        hangup=signals.hangup,
                        metrics=metrics,
                    )
                    start(daemon.waiting)
                    return daemon.run()
                finally:
                    if server is not None:
                        server.close()
        except StoppedStarting as stopped:  # nothing was in hand: nothing to finish
            log.info("%s received while starting: stopped before the first cycle", stopped)
            return 0


# A Lemmy not answering at the daemon's start (a 5xx, a timeout: starting, or migrating
# its database after an upgrade) is asked again after these, doubling: exiting would
# run into systemd's start limit (5 an hour) and leave the bot down for good.
START_RETRY_FIRST = 30.0
START_RETRY_MAX = 600.0


def _first_pipeline(make: Callable[[], Any], stop: threading.Event | None) -> Any:
    """The run's pipeline; the daemon's (``stop`` given) waits, as its connection check
    does (``_past_holds``), for a Lemmy that does not answer yet: building it asks the
    instance which API it speaks (``connect``), the first request the start makes."""
    return make() if stop is None else _past_holds(make, stop, None)


def _wait_to_start(
    cause: Exception,
    left: float,
    stop: threading.Event,
    waiting: Callable[[str | None], None] | None,
) -> None:
    """Said, then ``left`` seconds slept unless a signal comes (``StoppedStarting``)."""
    when = datetime.now(UTC) + timedelta(seconds=left)
    what = (
        "sending nothing to Lemmy meanwhile" if isinstance(cause, Held) else "then asks Lemmy again"
    )
    why = f"the daemon waits until {when:%Y-%m-%d %H:%M:%S} UTC to start: {cause}"
    log_run.warning(
        "the daemon waits until %s UTC (in %.0f s) to start, %s (SIGTERM or Ctrl-C "
        "ends the wait at once): %s",
        f"{when:%Y-%m-%d %H:%M:%S}",
        left,
        what,
        cause,
    )
    try:
        if waiting is not None:
            waiting(why)  # within: a SIGTERM as it is written is a stop, recorded
        if sleep_unless_stopped(stop, left):
            raise StoppedStarting("a stop") from None
    except StoppedStarting:
        if waiting is not None:
            waiting(None)
        raise


T = TypeVar("T")


def _past_holds(
    attempt: Callable[[], T],
    stop: threading.Event,
    waiting: Callable[[str | None], None] | None,
) -> T:
    """The daemon's start (``attempt``: its connection check, or building its pipeline),
    waiting out a hold of Lemmy's (``Held``: a login refused for its rate, or a read asked
    to wait by a long ``Retry-After``, this process's or kept in the state by an earlier
    one) and a Lemmy not answering yet (``LemmyUnavailable``: nothing listening, 5xx,
    timeouts, after the transport's own retries; asked again in 30 s, doubling up to 10
    minutes) instead of exiting 1: under systemd's ``Restart=`` or Docker's ``restart:
    always`` that exit was a restart loop (systemd's start limit then gave up for good,
    the bot down after Lemmy was back), and a restart makes a hold no shorter. A wrong
    URL or password (``LemmyError``: a malformed URL, a name that does not resolve, TLS,
    the login refused) still fails at once. Said at each wait, with its end; nothing is
    sent meanwhile; SIGTERM or Ctrl-C ends the wait at once (``RunSignals``). `run
    --once` exits instead: from cron, waiting would keep its lock from the next runs.
    ``waiting``: told why it waits (the heartbeat, for `modbot healthcheck`), and None
    when a signal ends the wait."""
    retry = START_RETRY_FIRST
    while True:
        try:
            return attempt()
        except Held as held:
            left = held.left()
            cause: Exception = held
        except LemmyUnavailable as exc:
            left, retry = retry, min(retry * 2, START_RETRY_MAX)
            cause = exc
        _wait_to_start(cause, left, stop, waiting)


def _once(
    pipeline: Any,
    start: Callable[[], None],
    stop: threading.Event,
    mode: str,
    report: str | None,
    every: timedelta | None,
) -> int:
    """``run --once``: one cycle (with the lookback), recorded for the cron healthcheck;
    ``stop`` set (SIGTERM, Ctrl-C) ends it after the batch in hand."""
    from modbot.modes.cronbeat import record_once
    from modbot.modes.report import incomplete_run_report, reported_if_failed, write_run_report

    dry_run = bool(pipeline.dry_run)
    try:
        # failing part-way: what the cycle did first (its items recorded, its actions
        # taken) said, and the decisions it recorded in a report marked incomplete
        with reported_if_failed(
            pipeline,
            f"run {pipeline.run_id} ({mode})",
            report,
            incomplete_run_report(pipeline, report),
            logger=log_run,
        ) as failed:
            pipeline.client.stop = stop  # a SIGTERM ends a request's retry waits too
            start()
            stats = pipeline.poll_once(deep=True, stop=stop)
    except Exception as exc:  # the cron healthcheck says why, then it ends as before
        record_once(
            pipeline.store,
            run_id=pipeline.run_id,
            dry_run=dry_run,
            every=every,
            summary=failed.done,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    record_once(
        pipeline.store,
        run_id=pipeline.run_id,
        dry_run=dry_run,
        every=every,
        summary=stats.summary(),
    )
    log_run.info("cycle: %s", stats.summary())
    print(f"run {pipeline.run_id} ({mode}): {stats.summary()}")
    if report:
        print(f"report: {write_run_report(pipeline, report)}")
    return 0


def _load_kept_feeds(store: Store, policy: Policy) -> None:
    """The subscribed feeds' copies kept in the state (nothing fetched), for the summary
    logged at start and at a reload; a state that cannot be read leaves that to the cycle."""
    if not policy.feeds:
        return
    from modbot.subscriptions import load_kept

    try:
        load_kept(store, policy)
    except Exception as exc:  # the cycle's own refresh says what is wrong
        log.debug("feeds' copies not read for the summary: %s", exc)


def failed_part_way(pipeline: Any, before: CycleStats | None) -> str:
    """What a cycle that just failed had done first (``Pipeline.cycle_stats``: its items
    recorded, its actions taken), as a run's summary says it; "" when it failed before
    its cycle began (the login, the model). ``before``: the stats before the cycle."""
    partial = getattr(pipeline, "cycle_stats", None)
    if partial is None or partial is before:
        return ""
    return f"failed; done and recorded before: {partial.summary()}"


def _metrics(policy: Policy, dry_run: bool) -> Metrics:
    """The daemon's metrics, their labels known from the start (0 until counted)."""
    from modbot.actions.kinds import ACTIONS
    from modbot.config.schema import SKIP_REASONS
    from modbot.metrics import Metrics

    return Metrics(
        dry_run=dry_run,
        labels=sorted(policy.labels),
        actions=[kind for kind in ACTIONS if kind != "reject"],  # the gate's only
        skip_reasons=SKIP_REASONS,
    )
