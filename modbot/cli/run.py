"""`modbot run`: watch the instance and act by the rules (`--once`: one cycle and exit)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modbot.config.settings import Settings

from modbot.cli.common import (
    LOCKED,
    Subparsers,
    add_wait_argument,
    age,
    load_config,
    report_file,
)

log = logging.getLogger("modbot.run")

HELP = f"""\
Look at every new post, comment and upload on the instance, classify their images and
act by the rules. Deployment settings come from the environment: LEMMY_URL,
LEMMY_USERNAME, LEMMY_PASSWORD, optionally PICTRS_URL and PICTRS_API_KEY (purge images
through pict-rs' internal API), MODBOT_STATE (SQLite file, default ./modbot.sqlite3),
MODBOT_RULES (default ./rules.yaml); also read from ./.env or `modbot --env-file FILE`
(the environment wins). See .env.example and docs/configuration.md.

With --dry-run nothing on the instance is changed (not even the bot's own settings):
every action is decided and recorded as "planned". Refuses to start when the rules file
has a problem (run `modbot check-rules`).

One process acts on a state file at a time (`run` and `sweep` without --dry-run take
its lock, MODBOT_STATE.lock): a second one exits at once with status {LOCKED}, naming the
one that holds it (pid, host, since when), or waits for it with --wait. A dry run
(--dry-run, `modbot report`) takes no lock and may run beside the daemon. The lock holds
on one host (containers sharing a volume included), not across hosts sharing a network
filesystem. At start, the actions of an item a killed run was carrying out are finished
(those done are not repeated; one in flight is looked up on Lemmy first).
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="watch the instance and act by the rules (--once: one cycle)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="one cycle (new items, plus the lookback window for late federated ones), then exit",
    )
    p.add_argument(
        "--every",
        metavar="AGE",
        type=age,
        help="with --once: how often cron or a timer starts it (e.g. 10m), for `modbot "
        "healthcheck` (healthy while the last good run is younger than 3 intervals)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and record, but send no request that changes anything",
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    p.add_argument(
        "--report",
        metavar="FILE",
        type=report_file,
        help="also write this run's decisions to FILE (.json or .html), after "
        "each cycle and at exit",
    )
    p.add_argument(
        "--reset-safety-valve",
        action="store_true",
        help="leave report-only mode after the safety valve tripped, and exit",
    )
    add_wait_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reset_safety_valve:
        from modbot.config.settings import Settings, SettingsError

        try:
            return _reset_valve(Settings.from_env())
        except SettingsError as exc:
            print(f"modbot run: {exc}", file=sys.stderr)
            return 1
    loaded = load_config(args, "run")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    from modbot.modes.daemon import watch

    return watch(
        settings,
        policy,
        once=args.once,
        dry_run=args.dry_run,
        report=args.report,
        lock_wait=args.wait,
        every=args.every,
    )


def _reset_valve(settings: Settings) -> int:
    from modbot.store import StateError, Store

    try:
        store = Store(settings.state_path)
    except StateError as exc:
        print(f"modbot run: {exc}", file=sys.stderr)
        return 1
    try:
        tripped = store.valve_tripped()
        store.reset_valve()
    finally:
        store.close()
    if tripped:
        print(
            f"safety valve reset (it tripped at {tripped['tripped_at']}: "
            f"{tripped['reason']}); modbot acts again"
        )
    else:
        print("the safety valve was not tripped")
    return 0
