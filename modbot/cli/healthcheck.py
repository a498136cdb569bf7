"""`modbot healthcheck`: is the daemon alive? (Docker's HEALTHCHECK runs this.)"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from modbot.cli.common import Subparsers

HELP = """\
Exit 0 when the daemon (`modbot run`) recorded a good cycle recently in the state file
(MODBOT_STATE, default ./modbot.sqlite3): by default within 3 poll intervals. Otherwise
exit 1 and say why (no cycle yet, the last good cycle too old and the last error, or the
daemon stopped). Reads the state file only (also on a read-only mount: a container's
volume mounted `:ro`); needs no login and no model. It checks the
live daemon's heartbeat; a dry-run daemon's (`run --dry-run`) when no live daemon ever
ran on this state. With --http URL it checks a `modbot gate` or `modbot worker` instead:
exit 0 when its /healthz answers ok (the compose file's healthchecks use it), else
exit 1 and print the `problem` it says (what failed, what to look at); --max-age and
--state are not taken with it (the state file's options: exit 2); an answer
over 1 MiB, or not complete within 10s, is none. A loopback URL (127.0.0.1, ::1,
localhost) is asked directly, never through a proxy the environment names (HTTP_PROXY).

Run from cron or a systemd timer (`modbot run --once`), each run records its own
heartbeat, and the check reads whichever was written last: healthy while the last good
run is younger than 3 intervals, the interval being `run --once --every AGE` (say what
the timer does; a run by hand without --every, sooner than that, keeps it) or else the
median time between its last 10 good runs, at least a minute (a run by hand seconds
after cron's does not make it seconds); after the first run alone it is healthy and says
the interval is not known yet. --max-age overrides both.
A dry run's heartbeat (`run --dry-run`, with or without --once) counts only when no live
daemon or `run --once` ever ran: a dry run beside the live bot never makes it healthy.
A last good cycle recorded more than a minute after this machine's time is unhealthy
too: a clock is wrong, and such a heartbeat says nothing about the bot now.
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "healthcheck",
        help="exit 0 if the daemon's (or run --once's) last good cycle is recent, 1 otherwise",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        help="the state file (default: $MODBOT_STATE, else ./modbot.sqlite3)",
    )
    p.add_argument(
        "--max-age",
        metavar="AGE",
        type=_age,
        help="how old the last good cycle (or `run --once`) may be, e.g. 5m (default: 3 poll "
        "intervals; 3 cron intervals for `run --once`; at least 1s)",
    )
    p.add_argument(
        "--http",
        metavar="URL",
        help="check a `modbot gate` or `modbot worker` instead: its /healthz URL, e.g. "
        "http://127.0.0.1:8096/healthz (exit 0 when it answers ok)",
    )
    p.set_defaults(func=healthcheck)


def _age(text: str) -> timedelta:
    from modbot.cli.common import age

    value = age(text)
    if value < timedelta(seconds=1):  # 0.0000001s: every heartbeat is older than that
        raise argparse.ArgumentTypeError(
            f"{text!r} is under a second: the check would fail at nearly every run; give the age "
            "the last good cycle may have, e.g. 5m"
        )
    return value


def healthcheck(args: argparse.Namespace) -> int:
    if args.http:
        from modbot.cli.common import USAGE
        from modbot.modes.health import http_health

        given = [o for o, v in (("--max-age", args.max_age), ("--state", args.state)) if v]
        if given:  # taken silently, they would do nothing: a /healthz has no heartbeat
            print(
                f"modbot healthcheck: {' and '.join(given)} {'are' if len(given) > 1 else 'is'} "
                "for the state file's heartbeat (`modbot run`), not for --http, which asks a "
                "gate's or worker's /healthz whether it is ok now: drop "
                f"{'them' if len(given) > 1 else 'it'}",
                file=sys.stderr,
            )
            return USAGE

        ok, message = http_health(args.http)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    from modbot.modes.cronbeat import health

    path = args.state or os.environ.get("MODBOT_STATE") or "modbot.sqlite3"
    ok, message = health(path, max_age=args.max_age)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
