"""`modbot run`: watch the instance and act by the rules (`--once`: one cycle and exit)."""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modbot.config.settings import Settings

from modbot.cli.common import (
    FAILED,
    LOCKED,
    USAGE,
    Subparsers,
    add_wait_argument,
    age,
    load_config,
    report_file,
    say_error,
)

log = logging.getLogger("modbot.run")

# modbot.metrics.DEFAULT_ADDRESS, not imported here: `--help` stays fast
DEFAULT_METRICS_ADDRESS = "127.0.0.1"

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

SIGTERM or Ctrl-C: the batch in hand is finished and recorded, then it exits 0 (--once
too); while it is still starting (the lock, the login, the model), it stops there, also
with 0. Started while Lemmy does not answer (nothing listening, 5xx, timeouts) or holds
its login back, the daemon says so and waits (30 s, doubling to 10 minutes, or the
hold's end) rather than exit; --once exits.
SIGHUP: the rules file and its hash lists are read again before the next cycle
(before the first, when it comes while starting), without a restart. A file with a
problem, or one that changes classifier:, concepts: or lemmy: (restart for those), is
not taken: the log says why, and it acts by the rules it had. With --once, SIGHUP is
ignored with a log line (each run reads the file as it starts).

One process acts on a state file at a time (`run` and `sweep` without --dry-run take
its lock, MODBOT_STATE.lock): a second one exits at once with status {LOCKED}, naming the
one that holds it (pid, host, since when), or waits for it with --wait. A dry run
(--dry-run, `modbot report`) takes no lock and may run beside the daemon. The lock holds
on one host (containers sharing a volume included), not across hosts sharing a network
filesystem. At start, the actions of an item a killed run was carrying out are finished
(those done are not repeated; one in flight is looked up on Lemmy first).

Monitoring: --metrics-port PORT (or $MODBOT_METRICS_PORT) serves Prometheus metrics at
http://127.0.0.1:PORT/metrics while the daemon runs (items, images, verdicts by label,
actions by kind and outcome, skips by reason, cycle duration, posts waiting, the safety
valve, the last good cycle; docs/metrics.md). --metrics-address (or
$MODBOT_METRICS_ADDRESS) listens elsewhere, e.g. 0.0.0.0 in a container. Off by default.
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
    p.add_argument(
        "--metrics-port",
        metavar="PORT",
        help="serve Prometheus metrics on this port while the daemon runs (default: "
        "$MODBOT_METRICS_PORT, else off; 0: any free port, logged)",
    )
    p.add_argument(
        "--metrics-address",
        metavar="ADDRESS",
        help="the address the metrics listen on, with --metrics-port (default: "
        f"$MODBOT_METRICS_ADDRESS, else {DEFAULT_METRICS_ADDRESS}: this host only)",
    )
    add_wait_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reset_safety_valve:
        from modbot.config.settings import Settings, SettingsError

        try:
            return _reset_valve(Settings.from_env())
        except SettingsError as exc:
            say_error(f"modbot run: {exc}")
            return 1
    if args.every is not None and not args.once:
        say_error(
            "modbot run: --every is the interval cron or a timer starts `run --once` at; "
            "the daemon polls every schedule.poll_every of the rules file (add --once, or "
            "drop --every)"
        )
        return USAGE
    metrics = _metrics_options(args)
    if isinstance(metrics, int):
        return metrics
    loaded = load_config(args, "run")
    if isinstance(loaded, int):
        return loaded
    settings, policy = loaded
    if args.report:
        from modbot.modes.report import check_report_path

        # a --report that cannot be written, said now (one line, exit 1), not after the
        # cycle (run --once: its report lost) or at each cycle (the daemon's)
        check_report_path(args.report)
    from modbot.modes.daemon import watch

    return watch(
        settings,
        policy,
        once=args.once,
        dry_run=args.dry_run,
        report=args.report,
        lock_wait=args.wait,
        every=args.every,
        metrics_port=metrics[0],
        metrics_address=metrics[1],
    )


def _metrics_options(args: argparse.Namespace) -> tuple[int | None, str] | int:
    """(port or None, address) from the options, else the environment (read after
    .env); an exit status when they are wrong."""
    from modbot.metrics import parse_port

    port_text = args.metrics_port
    source = "--metrics-port"
    if port_text is None and os.environ.get("MODBOT_METRICS_PORT"):
        port_text, source = os.environ["MODBOT_METRICS_PORT"], "MODBOT_METRICS_PORT"
    address = (
        args.metrics_address or os.environ.get("MODBOT_METRICS_ADDRESS") or DEFAULT_METRICS_ADDRESS
    )
    # Given on the command line, --metrics-address asks for the metrics: without a port
    # they would be off without a word (from a shared .env it says nothing, as the port).
    option = "--metrics-port" if args.metrics_port is not None else "--metrics-address"
    asked = args.metrics_port is not None or args.metrics_address is not None
    if args.once and asked:
        say_error(
            f"modbot run: {option} serves the daemon's metrics; with --once the process "
            "ends after one cycle (monitor it with `modbot healthcheck`)"
        )
        return USAGE
    if port_text is None:
        if args.metrics_address is not None:
            say_error(
                "modbot run: --metrics-address without a port: the metrics are off; give "
                "--metrics-port PORT (or MODBOT_METRICS_PORT) too"
            )
            return USAGE
        return None, address
    if args.once:
        return None, address  # the daemon's setting in a shared .env: not for cron runs
    try:
        return parse_port(port_text, source), address
    except ValueError as exc:  # SettingsError
        say_error(f"modbot run: {exc}")
        return USAGE if source == "--metrics-port" else FAILED


def _reset_valve(settings: Settings) -> int:
    from modbot.store import StateError, Store

    if not settings.state_path.exists():
        # Opening it would create an empty state and say "not tripped" while the daemon,
        # on its own state, stays report-only (run from another folder than its .env's).
        say_error(
            f"modbot run: no state file at {settings.state_path}: modbot has not run with "
            "this MODBOT_STATE, so there is no safety valve to reset. Run it with the "
            "daemon's settings (its MODBOT_STATE, or `modbot --env-file` its .env)"
        )
        return 1
    try:
        store = Store(settings.state_path)
    except StateError as exc:
        say_error(f"modbot run: {exc}")
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
