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
daemon stopped). Reads the state file only; needs no login and no model. It checks the
live daemon's heartbeat; a dry-run daemon's (`run --dry-run`) when no live daemon ever
ran on this state. With --http URL it checks a `modbot gate` or `modbot worker` instead:
exit 0 when its /healthz answers ok (the compose file's healthchecks use it).
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "healthcheck",
        help="exit 0 if the daemon's last cycle is recent, 1 otherwise",
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
        help="how old the last good cycle may be, e.g. 5m (default: 3 poll intervals)",
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

    return age(text)


def healthcheck(args: argparse.Namespace) -> int:
    if args.http:
        from modbot.modes.gate import http_health

        ok, message = http_health(args.http)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    from modbot.modes.health import health

    path = args.state or os.environ.get("MODBOT_STATE") or "modbot.sqlite3"
    result = health(path, max_age=args.max_age)
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1
