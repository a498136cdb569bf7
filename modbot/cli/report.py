"""`modbot report`: what would the bot do? The window decided again from the record (or
walked again with --rescan), changing nothing, as JSON or HTML."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from modbot.cli.common import Subparsers, age, report_file

HELP = """\
What would the bot do, under the rules as they are now? Writes the decisions of the
window to --out, changing nothing on the instance (a dry run): `.json` ({"summary": ...,
"decisions": [...], "gate": [...]}) for tools, `.html` for a browser (counts by rule and
action, then each decision with links, hashes, scores and what each score means, and for
each flagged one what to do if it is a false positive; never an image).

By default the report is made from the record: the latest decision `run`, `sweep` (or an
earlier report) recorded on each image in the window is decided again under the current
rules.yaml, from its recorded verdict and hashes: nothing is downloaded or classified,
Lemmy is asked only for the login. Images that cannot be decided again that way are
listed with why: a verdict made under another model or concept set (and none since in
the verdict cache), an image never classified, a hash kind a newer hash list needs.
Items no run has looked at yet are not in it. What the upload gate (`modbot gate`)
decided in the window (accepted, refused, or decided without a verdict) is listed apart,
as recorded (hash, size, answer, rule, scores, why): the gate's answer was given at the
upload, so there is nothing to decide again.

--rescan looks at everything posted in the window instead: it walks the window through
Lemmy, downloads and classifies each image (verdicts already in the state file are
reused), as long as a sweep. The posts and comments a run decided in the window that
Lemmy's listings no longer show (a removed post, which Lemmy 0.19 lists to no one, and
its comments) are read by id and decided too; those purged since are counted as gone.
It is also what a report does when nothing is recorded in the window (a new install).
Settings come from the environment, as for `modbot run`. A report takes no lock on the
state file: it runs beside the daemon without waiting for it or disturbing it.

  modbot report --since 7d --out report.html
  modbot report --since 30d --rescan --out month.json
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="what the bot would do over a window (from the record), as a JSON or HTML report",
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
        help="the report file: .json or .html (its folder is made when missing, and "
        "checked writable before the report starts); marked INCOMPLETE when the report "
        "was stopped or failed part-way",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    p.add_argument(
        "--rescan",
        action="store_true",
        help="walk the window through Lemmy, downloading and classifying every image "
        "(default: decide the recorded decisions again)",
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
    done = run_report(settings, policy, since=since, out=args.out, rescan=args.rescan)
    return OK if done else INTERRUPTED
