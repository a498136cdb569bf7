"""`modbot audit`: what the bot did, from the state file's records."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from modbot.cli.common import at_least_one

HELP = """\
List what modbot decided and did, from the decision records in the state file
(MODBOT_STATE, default ./modbot.sqlite3): one line per image a rule matched, with the
record's id, when, live or dry run, the item (post:12, comment:5, upload:ALIAS), its
author, the rule, the image's SHA-256 (its first 12 digits), what matched (each label
with its score, `nsfw +0.021`; each hash list with how, `known-bad: sha256`) and each
action with its outcome (remove:done, ban:skipped, ...), and why none was taken where
an exemption stopped the rule (`exempt: the author is an admin`).
`modbot undo` records its own lines here (`undo of #ID`; `undo of #ID (nothing undone)`
when every undo of it was left as it is, not possible or failed). Reads the state file
only; needs no login and no model.

Filters combine (all must hold):
  --since 7d --until 1d        by time (an age, or a date/time such as 2026-11-21T10:00, UTC)
  --rule NAME                  one rule, as rules.yaml names it
  --action KIND --status S     an action (remove, purge_image, purge_item, delete_image,
                               ban, report, notify_admins, reject (upload gate),
                               restore, unban) and/or its outcome
                               (done, failed, skipped, planned, not_possible, covered,
                               interrupted: a killed run's, recorded by an older modbot)
  --person WHO                 the author: name@host, actor URL, person id, or a
                               local user's bare name (as exempt.users takes them)
  --item ITEM                  post:12, comment:5, upload:ALIAS or the item's URL (a
                               post or comment URL of this instance: another
                               instance's /post/12 is not post:12)
  --run RUN_ID                 one run (its id is in the log and `run --once` output)
--all also lists the images no rule matched. --json prints the records as stored (shape
in docs/ARCHITECTURE.md) with their ids: {"filter": {...}, "records": [...]}.

Records are read as they are printed, a page at a time (a year of them lists in flat
memory, and a pager left open, `modbot audit | less`, holds nothing of the state: the
running bot's -wal does not grow meanwhile); the state
file is opened read-only, never changed, and nothing is left beside it (no empty -wal or
-shm where there was none, when it may write the file and its folder). A state on a
read-only mount (an audit container's volume mounted `:ro`, a backup on a read-only
disk) is read too, with what the running bot recorded a moment ago when it writes the
same file through another mount.

Exit status: 0 listed (also when no record matches), 1 --rule names no rule ever
recorded, --action no kind of action or --status no outcome (a typo: the message
gives the closest name, or those there are), or the state file is missing, empty,
corrupt or no modbot state file.

Examples:
  modbot audit --since 1d
  modbot audit --person spammer@lemmy.example --json
  modbot audit --rule "csam" --action ban --status done
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit",
        help="list what the bot decided and did (filter by time, rule, action, person, item)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_filters(p)
    p.add_argument("--all", action="store_true", help="also the images no rule matched")
    p.add_argument(
        "--limit",
        metavar="N",
        type=at_least_one("a number of records"),
        help="only the newest N records",
    )
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=audit)


def add_filters(p: argparse.ArgumentParser) -> None:
    """The record filters `audit` and `undo` share."""
    p.add_argument(
        "--state",
        metavar="FILE",
        help="the state file (default: $MODBOT_STATE, else ./modbot.sqlite3)",
    )
    p.add_argument("--since", metavar="WHEN", type=_moment, help="from WHEN: 7d, or a date/time")
    p.add_argument("--until", metavar="WHEN", type=_moment, help="before WHEN: 1h, or a date/time")
    p.add_argument("--rule", metavar="NAME", help="records of this rule")
    p.add_argument("--action", metavar="KIND", help="records with an action of this kind")
    p.add_argument("--status", metavar="STATUS", help="records with an action of this outcome")
    p.add_argument(
        "--person", metavar="WHO", help="name@host, actor URL, person id or a local name"
    )
    p.add_argument("--item", metavar="ITEM", help="post:12, comment:5, upload:ALIAS or a URL")
    p.add_argument("--run", metavar="RUN_ID", help="records of this run")


def _moment(text: str) -> str:
    from modbot.audit import moment

    try:
        return moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def state_file(args: argparse.Namespace) -> str:
    return str(args.state or os.environ.get("MODBOT_STATE") or "modbot.sqlite3")


def open_state(args: argparse.Namespace, command: str) -> Any:
    """The state file, which must exist already (an audit never creates one)."""
    from modbot.errors import StateError
    from modbot.store import Store

    path = state_file(args)
    if not os.path.exists(path):
        raise StateError(
            f"no state file at {path}: modbot has not run with this MODBOT_STATE (give "
            f"`modbot {command} --state FILE` or set MODBOT_STATE)"
        )
    from modbot.audit import Records

    Records(path).close()  # a modbot state (not empty, not another file), never changed
    return Store(path)


def chosen(args: argparse.Namespace, everything: bool = False) -> Any:
    from modbot.audit import AuditFilter

    return AuditFilter(
        since=args.since,
        until=args.until,
        run_id=args.run,
        rule=args.rule,
        action=args.action,
        status=args.status,
        person=args.person,
        item=args.item,
        everything=everything,
    )


def audit(args: argparse.Namespace) -> int:
    from modbot.audit import Records, json_chunks, table_lines, unknown_rule
    from modbot.errors import StateError

    path = state_file(args)
    try:
        records = Records(path)
    except StateError as exc:
        if os.path.exists(path):
            raise
        raise StateError(
            f"{exc}: modbot has not run with this MODBOT_STATE (give `modbot audit "
            "--state FILE` or set MODBOT_STATE)"
        ) from None
    try:
        which = chosen(args, everything=args.all)
        if args.json:
            # the records stream out as they are read; a --rule typo is still said
            first = next(iter(records.rows(which, limit=args.limit)), None)
            unknown = unknown_rule(records, which) if first is None else None
            if unknown:
                print(f"modbot audit: {unknown}", file=sys.stderr)
                return 1
            for chunk in json_chunks(records.rows(which, limit=args.limit), which):
                sys.stdout.write(chunk)
            sys.stdout.write("\n")
            return 0
        lines = table_lines(lambda up_to: records.rows(which, limit=args.limit, up_to=up_to))
        printed = False
        for line in lines:
            print(line)
            printed = True
        if printed:
            return 0
        unknown = unknown_rule(records, which)
    finally:
        records.close()
    if unknown:
        print(f"modbot audit: {unknown}", file=sys.stderr)
        return 1
    print("no records match" + ("" if args.all else " (--all: also unmatched images)"))
    return 0
