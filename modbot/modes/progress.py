"""How a long command (sweep, report) shows progress and stops cleanly on a signal."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("modbot.sweep")


def stop_retries(client: object, stop: threading.Event) -> None:
    """A stop ends a request's wait to be retried (Lemmy or pict-rs down): a sweep
    stops at once, not after the backoffs of each request in hand."""
    from modbot.lemmy.transport import Transport

    if isinstance(client, Transport):
        client.stop = stop


def once_each(*warnings: Iterable[str]) -> list[str]:
    """A walk's warnings, its earlier parts' first, each once."""
    return list(dict.fromkeys(w for said in warnings for w in said))


def say_warnings(warnings: Iterable[str]) -> None:
    """The warnings again at a sweep's end: the log's lines scrolled away hours ago."""
    for warning in warnings:
        print(f"warning: {warning}")


# What comes of a stop, by command: a sweep resumes where it stopped; a report never
# resumes (each starts its window afresh), it writes what it has, marked incomplete.
_AFTER_STOP = {
    "report": "the report is written with what was done so far, marked INCOMPLETE "
    "(Ctrl-C again to abort: no report is written)",
}
_RESUMES = "it resumes next time (Ctrl-C again to abort)"


class StopOnSignal:
    """SIGINT/SIGTERM set `event` (the pipeline ends after the batch in hand); a second
    Ctrl-C aborts at once. Restores the previous handlers on exit. `after`: what the
    operator is told comes of the stop (default: by `what`; a sweep resumes)."""

    def __init__(self, what: str, *, after: str | None = None) -> None:
        self.event = threading.Event()
        self.what = what
        self.after = after or _AFTER_STOP.get(what, _RESUMES)
        self._old: dict[int, Any] = {}

    def __enter__(self) -> threading.Event:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self.event

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.event.set()
        print(f"\n{self.what}: stopping after the batch in hand; {self.after}", file=sys.stderr)

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Progress:
    """`progress(done, total)` for `Pipeline.sweep`: a tqdm bar with rate and ETA on a
    terminal; otherwise a plain log line at most every `every_s` seconds, its rate and
    ETA measured from the first report (what ran before it, reading the media list or
    counting the store, would make the rate too low and the ETA far too long); and when
    no batch was done for `every_s`, a line that says so (``tick``)."""

    def __init__(
        self,
        label: str,
        *,
        tty: bool | None = None,
        every_s: float = 30.0,
        out: Callable[[str], None] | None = None,
        unit: str = "items",  # what `done` counts: items, or the store's files
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.unit = label, unit
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.every_s = every_s
        self.out = out or (lambda line: log.info("%s", line))
        self._clock = clock
        self.start = clock()
        self._last = self.start
        self._first: tuple[float, int] | None = None  # the first report: (when, done)
        self._reported = self.start  # the last report
        self._lock = threading.Lock()  # the watch's thread and the caller's
        self._closed = threading.Event()
        self._bar: Any = None
        self.done = 0
        if not self.tty and every_s > 0:
            threading.Thread(target=self._watch, name=f"{label} progress", daemon=True).start()
        if self.tty:  # from the start, so that the rate and ETA count the first batch
            from tqdm import tqdm

            self._bar = tqdm(
                total=None, desc=label, unit=f" {unit}", file=sys.stderr, dynamic_ncols=True
            )

    def __call__(self, done: int, total: int | None) -> None:
        self.done = done
        if self.tty:
            self._tqdm(done, total)
            return
        now = self._clock()
        with self._lock:
            self._reported = now
            if self._first is None:
                self._first = (now, done)
            if now - self._last < self.every_s:
                return
            self._last = now
        self.out(self._line(done, total, now))

    def _watch(self) -> None:
        while not self._closed.wait(self.every_s):
            self.tick()

    def tick(self) -> None:
        """A line when no batch was done for `every_s` (a thread calls it that often):
        a long read before the first batch (the media list, counting the store, a slow
        Lemmy) would otherwise leave the log silent for minutes, as a hung process."""
        now = self._clock()
        with self._lock:
            if self._closed.is_set() or min(now - self._last, now - self._reported) < self.every_s:
                return
            self._last = now
            first, reported = self._first, self._reported
        if first is None:
            self.out(
                f"{self.label}: no {self.unit} done yet, {_clock(now - self.start)} since it started"
            )
        else:
            self.out(
                f"{self.label}: {self.done} {self.unit}, none more in the last "
                f"{_clock(now - reported)}"
            )

    def _tqdm(self, done: int, total: int | None) -> None:
        if self._bar is None:
            return
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def line(self, done: int, total: int | None) -> str:
        return self._line(done, total, self._clock())

    def _line(self, done: int, total: int | None, now: float) -> str:
        since, before = self._first or (now, done)
        # none yet at the first report: one point measures no rate
        rate = (done - before) / (now - since) if now > since else None
        said = f"{self.label}: {done}"
        if total:
            said += f"/{total} {self.unit} ({100 * min(done / total, 1):.0f}%)"
        else:
            said += f" {self.unit}"
        if rate is None:
            return said
        said += f", {rate:.1f} {self.unit}/s"
        if total and rate > 0:
            said += f", ETA {_clock(max(total - done, 0) / rate)}"
        return said

    def close(self) -> None:
        self._closed.set()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
