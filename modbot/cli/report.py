"""`modbot report`: what would the bot do? A dry run over a window, as JSON or HTML."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from modbot.cli.common import Subparsers, age, report_file

HELP = """\
Look at everything posted in the window (posts, their comments, uploads), classify the
images and decide by the rules, changing nothing on the instance (a dry run), then write
the decisions to --out: `.json` ({"summary": ..., "decisions": [...]}) for tools, `.html`
for a browser (counts by rule and action, then each decision with links, hashes and
scores; never an image). Every item in the window is looked at, also those `run` or
`sweep` already saw; verdicts already in the state file are reused. Settings come from
the environment, as for `modbot run`. A report takes no lock on the state file: it runs
beside the daemon without waiting for it or disturbing it.

  modbot report --since 7d --out report.html
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="dry run over a window, written as a JSON or HTML report",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--since",
        metavar="AGE",
        type=age,
        default=age("7d"),
        help="how far back, e.g. 7d, 12h, 2w (default 7d)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        type=report_file,
        required=True,
        help="the report file: .json or .html",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from modbot.cli.common import INTERRUPTED, OK, load_config
    from modbot.modes.report import report as run_report

    loaded = load_config(args, "report")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    since = datetime.now(UTC) - args.since
    return OK if run_report(settings, policy, since=since, out=args.out) else INTERRUPTED
