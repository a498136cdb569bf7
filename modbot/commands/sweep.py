"""`modbot sweep`: a pass over the backlog (older posts, their comments, uploads)."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

from modbot.commands.setup import (
    INTERRUPTED,
    LOCKED,
    add_wait_argument,
    age,
    exit_status,
    load_config,
    report_file,
    write_run_report,
)
from modbot.progress import Progress, StopOnSignal

log = logging.getLogger("modbot.sweep")

HELP = f"""\
Walk the backlog: every post back to --since (default: schedule.sweep_since in the
rules file), each post's comments, and the uploads, classify their images and act by
the rules, as `modbot run` does for new content. Items already looked at are skipped and
an image already in the verdict cache is not classified again, so a sweep after `run`
costs little. Settings come from the environment, as for `modbot run`.

Ctrl-C or SIGTERM finish the batch in hand (up to 50 items) and stop (exit status 130); the next
`modbot sweep` resumes where it stopped. On a terminal a progress bar shows the rate
and, with --all, the ETA; otherwise a progress line is logged every 30 seconds.

Without --dry-run a sweep acts, so it needs the state file's lock, as `modbot run` does:
while the daemon runs on the same state, a sweep exits at once with status {LOCKED} (or
waits for it with --wait); let the daemon sweep on `schedule.sweep_cron` instead.

  modbot sweep --dry-run --since 30d --report backlog.html
  modbot sweep --all
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="scan the backlog (posts, comments, uploads) back to --since",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    window = p.add_mutually_exclusive_group()
    window.add_argument(
        "--since",
        metavar="AGE",
        type=age,
        help="how far back, e.g. 30d, 12h, 2w (default: schedule.sweep_since)",
    )
    window.add_argument("--all", action="store_true", help="the whole history of the instance")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and record, but send no request that changes anything",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        type=report_file,
        help="write this sweep's decisions to FILE (.json or .html)",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    add_wait_argument(p)
    p.set_defaults(func=sweep)


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
    since = datetime.now(UTC) - window if window else None
    return run_sweep(
        settings, policy, since=since, dry_run=args.dry_run, report=args.report, lock_wait=args.wait
    )


def run_sweep(
    settings,
    policy,
    *,
    since: datetime | None,
    dry_run: bool,
    report: str | None,
    lock_wait: float | None = 0.0,
) -> int:
    return exit_status("sweep", lambda: _sweep(settings, policy, since, dry_run, report, lock_wait))


def _sweep(
    settings,
    policy,
    since: datetime | None,
    dry_run: bool,
    report: str | None,
    lock_wait: float | None,
) -> int:
    from modbot.doctor import connect_first
    from modbot.pipeline import Pipeline

    mode = "dry-run" if dry_run else "live"
    where = f"back to {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"
    with (
        Pipeline(settings, policy, dry_run=dry_run, lock_wait=lock_wait) as pipeline,
        StopOnSignal("sweep") as stop,
    ):
        connect_first(pipeline)
        resuming = pipeline.source.sweep_in_progress()
        log.info(
            "sweep (%s, run %s) %s%s",
            mode,
            pipeline.run_id,
            where,
            "; resuming the interrupted sweep" if resuming else "",
        )
        with Progress("sweep") as progress:
            stats = pipeline.sweep(since, progress=progress, stop=stop)
        interrupted = stop.is_set() and pipeline.source.sweep_in_progress()
        state = "interrupted (run it again to resume)" if interrupted else "done"
        print(f"sweep {pipeline.run_id} ({mode}) {state}: {stats.summary()}")
        if report:
            print(f"report: {write_run_report(pipeline, report, since=since)}")
        return INTERRUPTED if interrupted else 0
