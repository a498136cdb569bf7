"""`modbot report`: what would the bot do? A dry run over a window, as JSON or HTML."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime

from modbot.commands.setup import age, report_file

log = logging.getLogger("modbot.report")

REPORT_SCOPE = "report"  # a report walks the window on its own, apart from run and sweep

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


def add_parser(subparsers) -> None:
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


def report(args) -> int:
    from modbot.commands.setup import load_config

    loaded = load_config(args, "report")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    since = datetime.now(UTC) - args.since
    return run_report(settings, policy, since=since, out=args.out)


def run_report(
    settings,
    policy,
    *,
    since: datetime | None,
    out: str,
    engine=None,
    title: str | None = None,
    random_weights: bool | None = None,
) -> int:
    from modbot.commands.setup import exit_status

    return exit_status(
        "report", lambda: _report(settings, policy, since, out, engine, title, random_weights)
    )


def _report(
    settings,
    policy,
    since: datetime | None,
    out: str,
    engine,
    title: str | None,
    random_weights: bool | None,
) -> int:
    from modbot.commands.setup import INTERRUPTED, write_run_report
    from modbot.doctor import connect_first
    from modbot.pipeline import Pipeline
    from modbot.progress import Progress, StopOnSignal

    with (
        Pipeline(
            settings,
            policy,
            dry_run=True,
            scope=REPORT_SCOPE,
            remember_seen=False,
            engine=engine,
        ) as pipeline,
        StopOnSignal("report") as stop,
    ):
        connect_first(pipeline)
        # Its own sweep position: a report never resumes (or disturbs) a sweep.
        pipeline.source.forget_sweep()
        window = f"since {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"
        log.info("report (dry run, run %s) %s", pipeline.run_id, window)
        with Progress("report") as progress:
            stats = pipeline.sweep(since, progress=progress, stop=stop)
        interrupted = stop.is_set()
        written = write_run_report(
            pipeline,
            out,
            since=since,
            random_weights=random_weights,
            title=title or f"modbot report {window}",
            extra={"complete": not interrupted, "warnings": list(pipeline.warnings)},
        )
        state = "INCOMPLETE (interrupted)" if interrupted else "done"
        print(f"report {pipeline.run_id} {state}: {stats.summary()}")
        print(f"report: {written}")
        return INTERRUPTED if interrupted else 0
