"""The `modbot` command line. `modbot --help` and `modbot COMMAND --help` are the manual.

One module per subcommand (``add_parser(subparsers)``), all importing cheaply (no torch
at module level: `modbot --help` and `modbot check-rules` must not pay for a model);
what they share, and the one mapping of errors to exit statuses, is ``common``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from datetime import UTC, datetime

from modbot import __version__

# Order is the order `modbot --help` lists them in.
NAMES = [
    "init",
    "run",
    "sweep",
    "report",
    "demo",
    "check_rules",
    "classify",
    "hashing",
    "worker",
    "gate",
    "healthcheck",
    "doctor",
    "audit",
    "undo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modbot",
        description=(
            "Automoderator for Lemmy: looks at every image on your instance, classifies it "
            "with a CLIP safety model and acts by the rules in rules.yaml. Start with "
            "`modbot demo`, then `modbot report --since 7d --out report.html` on your "
            "instance before letting `modbot run` act."
        ),
    )
    parser.add_argument("--version", action="version", version=f"modbot {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors in the log"
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read settings (KEY=value lines, as in .env.example) from FILE; default: "
        "$MODBOT_ENV_FILE, else ./.env when there is one. Variables already set in the "
        "environment win over the file's; --env-file /dev/null reads none",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or as one JSON object a line (time, level, "
        "logger, message; error with its traceback), for a log collector",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in NAMES:
        importlib.import_module(f"modbot.cli.{name}").add_parser(subparsers)
    for command in subparsers.choices.values():
        _global_options(command)
    return parser


def _global_options(command: argparse.ArgumentParser) -> None:
    """-v, -q and --env-file after the command too (`modbot check-rules -v`): given there,
    they set what the same option before the command sets; not given, they leave it."""
    group = command.add_argument_group("options of every command")
    group.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug log output"
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="only warnings and errors in the log",
    )
    group.add_argument(
        "--env-file", metavar="FILE", default=argparse.SUPPRESS, help="as `modbot --env-file`"
    )
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="as `modbot --log-format`",
    )


class JsonLines(logging.Formatter):
    """One JSON object a line: what a log collector (Loki, journald's JSON, ELK) parses
    without a pattern. The message is the same text the plain format shows."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(verbosity: int, log_format: str = "text") -> None:
    # INFO by default: one line per cycle is how an admin sees the bot is alive.
    level = logging.WARNING if verbosity < 0 else (logging.INFO, logging.DEBUG)[min(verbosity, 1)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level, handlers=[handler])
    # One line per HTTP request is noise at the default level, for every command (-v
    # shows them).
    for name in ("httpx", "httpcore", "pythorhead"):
        logging.getLogger(name).setLevel(
            logging.WARNING if level > logging.DEBUG else logging.NOTSET
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(-1 if args.quiet else args.verbose, args.log_format)
    from modbot.cli.common import exit_status
    from modbot.config.settings import load_env_file
    from modbot.errors import SettingsError

    # init writes a .env (--force over a broken one): it reads none
    if args.command != "init":
        try:
            load_env_file(args.env_file)
        except SettingsError as exc:
            print(f"modbot: {exc}", file=sys.stderr)
            return 1
    # a command of commands says which one failed: "modbot feed verify: ..."
    said = " ".join(filter(None, [args.command, getattr(args, "feed_command", None)]))
    return exit_status(said, lambda: int(args.func(args) or 0))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
