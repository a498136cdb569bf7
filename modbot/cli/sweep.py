"""`modbot sweep`: a pass over the backlog (older posts, their comments, uploads)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from datetime import UTC, datetime

from modbot.cli.common import (
    INTERRUPTED,
    LOCKED,
    OK,
    USAGE,
    Subparsers,
    add_wait_argument,
    age,
    at_least_one,
    load_config,
    report_file,
)

log = logging.getLogger("modbot.sweep")

# --store's pace and page (modbot.store_source's defaults, not imported: --help stays fast)
FILES_PER_SECOND = 20.0
PAGE_SIZE = 100

HELP = f"""\
Walk the backlog: every post back to --since (default: schedule.sweep_since in the
rules file), each post's comments, the uploads, every community's icon and banner (a
community nobody posted in too) and the site's, classify their images and act by the
rules, as `modbot run` does for new content. Items already looked at are skipped and
an image already in the verdict cache is not classified again, so a sweep after `run`
costs little. Settings come from the environment, as for `modbot run`.

Ctrl-C or SIGTERM finish the batch in hand (up to 50 items) and stop (exit status 130); the next
`modbot sweep` resumes where it stopped. On a terminal a progress bar shows the count
and the rate (no total: Lemmy counts only the instance's own posts and comments, and a
sweep walks the federated ones too); otherwise a progress line is logged every 30 s.
It ends with its summary, its warnings again (`warning: ...`), and what Lemmy's listings
kept from the whole walk, a resumed sweep's earlier part included (`not reached through
Lemmy's listings: ...`; `modbot sweep --store` reaches their files); a sweep that fails
part-way says them too, after what it did.

Without --dry-run a sweep acts, so it needs the state file's lock, as `modbot run` does:
while the daemon runs on the same state, a sweep exits at once with status {LOCKED} (or
waits for it with --wait); let the daemon sweep on `schedule.sweep_cron` instead (and
walk the store, --store, on `schedule.store_sweep_cron`, weekly by default).

With --store the sweep walks every file pict-rs stores instead (GET /internal/hashes:
uploads older than Lemmy's listings reach, thumbnails, avatars and banners, remote
images pict-rs cached, videos), classifies each file once and acts by the rules (`type:
file`, `found_in: store`): purge_image purges the file, remove/report act on the posts
and comments modbot saw showing it, ban bans its uploader (else whoever posted it). It
needs PICTRS_URL and PICTRS_API_KEY, resumes where it stopped, shows a bar with the ETA
(the total is counted first) and paces itself (--files-per-second). It ends with its
summary and its warnings again, a resumed walk's earlier parts' included.

--local / --federated limit a sweep to what was created on this instance, or to what
came by federation (an item by where it was made, a profile image by its person or
community; Lemmy's listings are still read whole, only the items of that origin are
decided). pict-rs records no origin for a file: with --store, --local means the files
Lemmy's media list names a local uploader for, --federated every other file (remote
images pict-rs cached, link thumbnails, and local uploads older than the media list's
newest 5,000). Rules limit themselves with `scope:` (docs/rules.md).

  modbot sweep --dry-run --since 30d --report backlog.html
  modbot sweep --all
  modbot sweep --store --dry-run --report store.html
"""


def add_parser(subparsers: Subparsers) -> None:
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
    window.add_argument(
        "--store",
        action="store_true",
        help="every file in pict-rs' store instead (needs PICTRS_URL, PICTRS_API_KEY)",
    )
    origin = p.add_mutually_exclusive_group()
    origin.add_argument(
        "--local",
        action="store_const",
        const="local",
        dest="origin",
        help="only what was created on this instance (posts, comments, uploads, the "
        "profile images of its people and communities); --store: files with a local "
        "uploader in Lemmy's media list",
    )
    origin.add_argument(
        "--federated",
        action="store_const",
        const="federated",
        dest="origin",
        help="only what came by federation; --store: every file without a local uploader "
        "known (cached remote images, link thumbnails, uploads older than the media list)",
    )
    p.add_argument(
        "--files-per-second",
        metavar="N",
        type=_rate,
        help=f"--store: at most N new files a second on average (default "
        f"{FILES_PER_SECOND:g}; 0: no cap)",
    )
    p.add_argument(
        "--page-size",
        metavar="N",
        type=at_least_one("files per request"),
        help=f"--store: files per request to pict-rs' /internal/hashes (default {PAGE_SIZE})",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and record, but send no request that changes anything",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        type=report_file,
        help="write this sweep's decisions to FILE (.json or .html; its folder is made "
        "when missing, and checked writable before the sweep starts), those of the runs "
        "that walked a resumed sweep's earlier parts too (the daemon's slices of it "
        "included); marked INCOMPLETE when the sweep was stopped or failed",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    add_wait_argument(p)
    p.set_defaults(func=sweep)


def _rate(text: str) -> float:
    """argparse type for --files-per-second: a number, 0 or more (0: no cap)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < math.inf:  # also not nan
        raise argparse.ArgumentTypeError(
            f"expected files a second, 0 or more (0: no cap), got {text!r}"
        )
    return value


# ---------------------------------------------------------------------- the command


def sweep(args: argparse.Namespace) -> int:
    if not args.store:
        given = [
            name
            for name, value in (
                ("--files-per-second", args.files_per_second),
                ("--page-size", args.page_size),
            )
            if value is not None
        ]
        if given:  # a walk through Lemmy's listings has no such knob: say so
            print(
                f"modbot sweep: {' and '.join(given)} pace the walk through pict-rs' store: "
                "add --store, or drop them",
                file=sys.stderr,
            )
            return USAGE
    loaded = load_config(args, "sweep")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    if args.report:
        from modbot.modes.report import check_report_path

        # a --report that cannot be written, said now (ReportError: one line, exit 1),
        # not after the whole walk: hours of the backlog or the store, then no report
        check_report_path(args.report)
    if args.store:
        from modbot.modes.store_sweep import store_sweep

        done = store_sweep(
            settings,
            policy,
            dry_run=args.dry_run,
            report=args.report,
            lock_wait=args.wait,
            files_per_second=(
                FILES_PER_SECOND if args.files_per_second is None else args.files_per_second
            ),
            page_size=args.page_size or PAGE_SIZE,
            origin=args.origin or "all",
        )
        return OK if done else INTERRUPTED
    window = None if args.all else args.since or policy.schedule.sweep_since
    since = datetime.now(UTC) - window if window else None
    from modbot.modes.sweep import sweep as run_sweep

    complete = run_sweep(
        settings,
        policy,
        since=since,
        dry_run=args.dry_run,
        report=args.report,
        lock_wait=args.wait,
        origin=args.origin or "all",
    )
    return OK if complete else INTERRUPTED
