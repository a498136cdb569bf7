"""`modbot sweep`: a pass over the backlog (older posts, their comments, uploads)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

log = logging.getLogger("modbot.sweep")

INTERRUPTED = 130  # like a shell's exit status after Ctrl-C

HELP = """\
Walk the backlog: every post back to --since (default: schedule.sweep_since in the
rules file), each post's comments, and the uploads, classify their images and act by
the rules, as `modbot run` does for new content. Items already looked at are skipped and
an image already in the verdict cache is not classified again, so a sweep after `run`
costs little. Settings come from the environment, as for `modbot run`.

Ctrl-C or SIGTERM finish the batch in hand (up to 50 items) and stop (exit status 130); the next
`modbot sweep` resumes where it stopped. On a terminal a progress bar shows the rate
and, with --all, the ETA; otherwise a progress line is logged every 30 seconds.

  modbot sweep --dry-run --since 30d --report backlog.html
  modbot sweep --all
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="scan the backlog (posts, comments, uploads) back to --since",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    window = p.add_mutually_exclusive_group()
    window.add_argument("--since", metavar="AGE", type=age,
                        help="how far back, e.g. 30d, 12h, 2w (default: schedule.sweep_since)")
    window.add_argument("--all", action="store_true", help="the whole history of the instance")
    p.add_argument("--dry-run", action="store_true",
                   help="decide and record, but send no request that changes anything")
    p.add_argument("--report", metavar="FILE", type=report_file,
                   help="write this sweep's decisions to FILE (.json or .html)")
    p.add_argument("--rules", metavar="FILE",
                   help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)")
    p.set_defaults(func=sweep)


def age(text: str) -> timedelta:
    """argparse type for `--since 30d`."""
    from modbot.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---------------------------------------------------------------------- shared by commands


def report_file(text: str) -> str:
    """argparse type for a report path: refuse a wrong extension before a long run."""
    if not text.lower().endswith((".json", ".html", ".htm")):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a report is .json or .html; name the file accordingly")
    return text


def load_config(args, command: str) -> tuple[Any, Any] | int:
    """(settings, policy) from the environment and the rules file, or an exit status
    after saying what is wrong."""
    from modbot.rules import PolicyError, load_policy, resolve_rules_path
    from modbot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"modbot {command}: {exc}", file=sys.stderr)
        return 1
    rules_path = resolve_rules_path(getattr(args, "rules", None))
    try:
        policy = load_policy(rules_path)
    except PolicyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"modbot {command}: {rules_path} is not valid; not starting (see `modbot "
              f"check-rules {rules_path}`)", file=sys.stderr)
        return 1
    for warning in policy.warnings:
        log.warning("%s", warning)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # One line per request is noise at the default level (-v shows them).
        for name in ("httpx", "httpcore", "pythorhead"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return settings, policy


class StopOnSignal:
    """SIGINT/SIGTERM set `event` (the pipeline ends after the batch in hand); a second
    Ctrl-C aborts at once. Restores the previous handlers on exit."""

    def __init__(self, what: str) -> None:
        self.event = threading.Event()
        self.what = what
        self._old: dict[int, Any] = {}

    def __enter__(self) -> threading.Event:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self.event

    def _handle(self, signum: int, frame: Any) -> None:
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.event.set()
        print(f"\n{self.what}: stopping after the batch in hand (Ctrl-C again to abort; "
              "it resumes next time)", file=sys.stderr)

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Progress:
    """`progress(done, total)` for `Pipeline.sweep`: a tqdm bar with rate and ETA on a
    terminal; otherwise a plain log line at most every `every_s` seconds."""

    def __init__(self, label: str, *, tty: bool | None = None, every_s: float = 30.0,
                 out: Callable[[str], None] | None = None) -> None:
        self.label = label
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.every_s = every_s
        self.out = out or (lambda line: log.info("%s", line))
        self.start = time.monotonic()
        self._last = self.start
        self._bar: Any = None
        self.done = 0
        if self.tty:  # from the start, so that the rate and ETA count the first batch
            from tqdm import tqdm

            self._bar = tqdm(total=None, desc=label, unit=" items", file=sys.stderr,
                             dynamic_ncols=True)

    def __call__(self, done: int, total: int | None) -> None:
        self.done = done
        if self.tty:
            self._tqdm(done, total)
            return
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.out(self.line(done, total))

    def _tqdm(self, done: int, total: int | None) -> None:
        if self._bar is None:
            return
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def line(self, done: int, total: int | None) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = done / elapsed
        if total:
            eta = f", ETA {_clock(max(total - done, 0) / rate)}" if rate > 0 else ""
            return (f"{self.label}: {done}/{total} items ({100 * min(done / total, 1):.0f}%), "
                    f"{rate:.1f} items/s{eta}")
        return f"{self.label}: {done} items, {rate:.1f} items/s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def write_run_report(pipeline, path, *, since: datetime | None = None,
                     title: str | None = None, **options: Any) -> str:
    from modbot.report import write_report

    written = write_report(
        path, pipeline.store.decisions(run_id=pipeline.run_id), since=since,
        dry_run=pipeline.dry_run, title=title or f"modbot report: run {pipeline.run_id}",
        **options,
    )
    return str(written)


# ---------------------------------------------------------------------- the command


def sweep(args) -> int:
    loaded = load_config(args, "sweep")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    if args.all:
        window = None
    else:
        window = args.since or policy.schedule.sweep_since
    since = datetime.now(timezone.utc) - window if window else None
    return run_sweep(settings, policy, since=since, dry_run=args.dry_run, report=args.report)


def run_sweep(settings, policy, *, since: datetime | None, dry_run: bool,
              report: str | None) -> int:
    from classifier.model import ModelError
    from modbot.lemmy import LemmyError
    from modbot.pipeline import Pipeline

    mode = "dry-run" if dry_run else "live"
    where = f"back to {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"
    try:
        with Pipeline(settings, policy, dry_run=dry_run) as pipeline, \
                StopOnSignal("sweep") as stop:
            resuming = pipeline.source.sweep_in_progress()
            log.info("sweep (%s, run %s) %s%s", mode, pipeline.run_id, where,
                     "; resuming the interrupted sweep" if resuming else "")
            progress = Progress("sweep")
            try:
                stats = pipeline.sweep(since, progress=progress, stop=stop)
            finally:
                progress.close()
            interrupted = stop.is_set() and pipeline.source.sweep_in_progress()
            state = "interrupted (run it again to resume)" if interrupted else "done"
            print(f"sweep {pipeline.run_id} ({mode}) {state}: {stats.summary()}")
            if report:
                print(f"report: {write_run_report(pipeline, report, since=since)}")
            return INTERRUPTED if interrupted else 0
    except ModelError as exc:
        print(f"modbot sweep: the classifier cannot start: {exc}", file=sys.stderr)
        return 1
    except LemmyError as exc:
        print(f"modbot sweep: {exc}", file=sys.stderr)
        return 1
