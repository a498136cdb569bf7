"""`modbot doctor`: check everything the bot needs, before it is needed."""

from __future__ import annotations

import argparse
from typing import Any

HELP = """\
Check, in the order the bot needs them, everything `modbot run` depends on, and say
for each what is wrong and what to do:

  settings    LEMMY_URL, LEMMY_USERNAME, LEMMY_PASSWORD (environment or .env), and not
              the placeholders of the .env `modbot init` writes (its address: nothing
              is reached; its password: the login is not tried). Settings that
              cannot be read (one missing, PICTRS_URL without its key) skip the
              instance's checks; the state, rules and classifier are still checked
  state       MODBOT_STATE is a state file modbot can read and write (or create)
  url         LEMMY_URL is the instance's address (not .../api/v3, no path, a port
              from 1 to 65535)
  dns         its host resolves
  connect     it accepts a connection (refused, or no answer: a firewall)
  tls         for https://, a valid certificate (or not TLS at all on that port)
  lemmy       it is Lemmy (nodeinfo), a version modbot speaks, the API rules.yaml's
              lemmy.api asks (when not auto)
  clock       this machine's clock against the time Lemmy answers with: a warning when
              over a minute apart (a ban's end is this clock plus its duration)
  login       the bot account logs in (wrong password, rate-limited, banned, unverified);
              with a login the state keeps, as `run` takes it up: none sent, so the
              password is not tried then (Lemmy allows a few logins an hour)
  admin       the account is an admin: a warning, a failure when a rule asks a site
              ban or purge_item (Lemmy refuses those to a non-admin)
  account     its settings hide nothing from it
  pictrs      PICTRS_URL answers and accepts PICTRS_API_KEY
  rules       rules.yaml is valid; what check-rules warns of (a rule that can never
              act, one another rule always beats) is a warning, each with its line
  feeds       each subscribed feed's copy kept in the state file (nothing fetched): a
              warning when it is past its max_age, no longer verifies, or the last
              try was refused (saying why: a bad signature, too large, HTTP 503)
  schedule    what `modbot run` does when: the poll, the backlog sweep (schedule.sweep_cron)
              and the store sweep (schedule.store_sweep_cron), each cron's next time
              (UTC); a warning when a store sweep is asked for and PICTRS_URL and
              PICTRS_API_KEY are not set (the daemon then runs none)
  classifier  the model's weights are on this machine (not yet: a warning when the
              first start can download them, HF_HUB_OFFLINE unset and Hugging Face
              reachable, else a failure; or classifier.remote's workers
              answer as `modbot worker` does: none is a failure, some a warning, as
              is one whose --max-bytes is under fetch.max_bytes, or gate.max_bytes
              when the rules use the gate: it refuses the images between), and
              are real: the random-weights test model is a warning (its verdicts
              mean nothing), a failure without allow_random_weights; the device it
              will run on (classifier.device: one this machine lacks is a failure) and
              where images are decoded (classifier.decode_processes: in threads, or
              in how many processes); DeepDanbooru's file (deepdanbooru: auto
              without it, or with one that cannot be used, is a warning: the anime
              second pass is off; a path to such a file, or its random test weights
              without allow_random_weights, a failure: run refuses them)

It logs in once (Lemmy allows a few logins an hour) and changes nothing. A failed step
skips the steps that need it. Loads no model: checking the weights takes seconds.
Exit status 0 when nothing failed (warnings allowed), 1 otherwise.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check the settings, the instance, the login, pict-rs and the model's weights",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="the policy file (default: $MODBOT_RULES, else ./rules.yaml)",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=10.0,
        help="for each network step (default: %(default)s)",
    )
    p.set_defaults(func=doctor)


def _seconds(text: str) -> float:
    """argparse type for --timeout: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:  # also not nan
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the seconds each network step may take, e.g. 10"
        )
    return value


def doctor(args: argparse.Namespace) -> int:
    from modbot.doctor import diagnose

    report = diagnose(rules=args.rules, timeout=args.timeout)
    for line in report.lines():
        print(line)
    print("some checks failed" if report.failed else "all checks passed")
    return 1 if report.failed else 0
