"""`modbot init [DIR]`: the files an instance's modbot starts from."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

HELP = """\
Write the files modbot starts from into DIR (default: the current folder; made if
missing): rules.yaml (the commented default policy: adoptable as is, docs/rules.md is
its reference), hashes/ (the hash lists rules.yaml names, empty but for how to fill
them) and .env (the settings: LEMMY_URL, the bot account, pict-rs, the state file;
readable by its owner only). They are the copies shipped inside the package, so this
works from a plain `pip install`.

Nothing is overwritten: when one of the files exists already, nothing is written and
it says which (--force replaces them all, filled hash lists and .env included). A link
to nothing in its place stops it too, --force or not: it would write where the link
points.

It reads no settings, so --env-file is refused here: it names the file the other
commands read. Run them from DIR: the .env it writes names MODBOT_RULES=./rules.yaml
and MODBOT_STATE=./modbot.sqlite3, relative to the folder a command runs in (from
another folder, even with --env-file DIR/.env, they would look for that folder's
rules.yaml and keep a new state file there); write them as absolute paths to run
from elsewhere.

Then: edit .env, run `modbot doctor` (it checks the settings, the login, rules.yaml and
the model's weights, saying what to fix), try `modbot demo`, and
`modbot report --since 7d --out report.html` from DIR (modbot reads ./.env and
./rules.yaml, or the file $MODBOT_ENV_FILE names when it is set).

Exit status 0 when the files were written, 1 when nothing was (a file in the way, a
folder that cannot be written: it says which), 2 for a wrong command line.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "init",
        help="write the default rules.yaml, empty hash lists and a .env template into DIR",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dir",
        metavar="DIR",
        nargs="?",
        type=Path,
        default=Path("."),
        help="where to write them (default: the current folder; made if missing)",
    )
    p.add_argument("--force", action="store_true", help="replace files that exist already")
    p.set_defaults(func=init)


def init(args: argparse.Namespace) -> int:
    from modbot.config.settings import ENV_FILE_VAR
    from modbot.errors import ConfigError
    from modbot.starter import write_starter

    if getattr(args, "env_file", None):
        # the other commands' file to read: init writes DIR/.env and reads none
        # Run from DIR, the commands after read its .env by themselves: its
        # MODBOT_RULES and MODBOT_STATE are relative to the folder a command runs in
        where = "" if args.dir == Path(".") else f"cd {shlex.quote(str(args.dir))} && "
        raise ConfigError(
            f"--env-file {args.env_file}: modbot init reads no settings; it writes "
            f"{args.dir / '.env'}. Leave --env-file out, and run the commands after from "
            f"{args.dir} (`{where}modbot check-rules`): that .env names ./rules.yaml and "
            "./modbot.sqlite3, relative to the folder a command runs in. Nothing was written"
        )
    written = write_starter(args.dir, force=args.force)
    for path in written:
        print(f"wrote {path}")
    # quoted as a shell takes them: the line is there to be pasted
    where = "" if args.dir == Path(".") else f"cd {shlex.quote(str(args.dir))} && "
    env = shlex.quote(str(args.dir / ".env"))
    print(
        f"next: edit {env} (LEMMY_URL, LEMMY_USERNAME, LEMMY_PASSWORD), then "
        f"{where}modbot doctor && modbot report --since 7d --out report.html"
    )
    named = os.environ.get(ENV_FILE_VAR)
    if named:
        print(
            f"note: {ENV_FILE_VAR} is set ({named}): the other commands read that file, "
            f"not {env}, until you unset it or point it there"
        )
    return 0
