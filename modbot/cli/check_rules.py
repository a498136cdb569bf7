"""`modbot check-rules [FILE]`: validate a policy file without starting the bot."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from modbot.cli.common import Subparsers

if TYPE_CHECKING:
    from modbot.config.policy import Policy


HELP = """\
Validate a policy file and the hash-list files it names. Prints each problem as
FILE:LINE: message (unknown key, wrong type, unknown label or concept, unknown or
missing hash list, malformed hash line, bad duration or size, unknown placeholder, bad
cron line, YAML syntax; a size cap without its unit (under 100KB), a score test that
never or always holds (every score is within -2..2: "> 2", ">= -2"), a duration over
100 years, a misspelt user_agent or deepdanbooru; a pdq hash list where the pdqhash
package cannot be imported, with how to install it; a path that is not a regular text
file, too large, binary, a YAML alias bomb or nesting too deep), warnings as FILE:LINE: warning: ...
(an action a rule can never carry out, a removal rule another one always beats),
then a one-line summary (--explain: each rule before it, in the order they are tried,
saying when it acts and what it does).

Exit status 0 when the file is valid, 1 otherwise. The bot refuses to start on a file
that does not pass. The rules reference is docs/rules.md.
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "check-rules",
        help="validate rules.yaml (and its hash lists): each problem as FILE:LINE: message",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="policy file (default: --rules, then $MODBOT_RULES, then ./rules.yaml)",
    )
    p.add_argument("--rules", metavar="FILE", help="policy file, as for `modbot run`")
    p.add_argument(
        "--explain",
        action="store_true",
        help="also say what each rule does, in the order the rules are tried",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from modbot.config.policy import load_policy, resolve_rules_path
    from modbot.errors import PolicyError

    path = resolve_rules_path(args.file or args.rules)
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems + exc.warnings:
            print(problem)
        n = len(exc.problems)
        print(f"{path}: {n} problem{'s' * (n != 1)}; modbot will not start with this file")
        return 1
    for warning in policy.warnings:
        print(warning)
    if args.explain:
        for line in explain(policy):
            print(line)
    print(f"{path}: valid: {policy.summary()}")
    return 0


def explain(policy: Policy) -> list[str]:
    """Each rule in the order it is tried: `[priority] name: if ... then ...`."""
    from modbot.rules import describe_rule

    lines = [f"[{r.priority}] {r.name}: {describe_rule(policy, r)}" for r in policy.ordered_rules]
    e = policy.exempt
    never = ["admins", *(f"user {u}" for u in e.users), *(f"community {c}" for c in e.communities)]
    never += [f"images on {name}" for name in policy.allow_lists]
    lines.append(f"never acted on: {', '.join(never)}")
    return lines
