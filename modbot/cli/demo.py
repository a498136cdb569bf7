"""`modbot demo`: the whole bot on an embedded fake instance, as a dry run."""

from __future__ import annotations

import argparse
from pathlib import Path

from modbot.cli.common import Subparsers

HELP = """\
Start an embedded fake Lemmy instance (127.0.0.1 only) with sample posts, comments and
uploads (hostile files and one image on a demo known-bad hash list among them), sweep it
in dry-run mode with the shipped rules.yaml, and write modbot-demo-report.html and
modbot-demo-report.json in the current directory. Nothing outside this machine is
contacted and no weights are downloaded: without real ViT-L-14/openai weights in the
Hugging Face cache the demo runs a tiny model with random weights, and says so. With
--rules, that file's classifier.remote workers are not asked (the classifier runs
here), its feeds are not fetched (their lists stay empty) and its lemmy.api is not
used (the fake instance is spoken to in the API of --lemmy's version).
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run modbot on an embedded fake instance and write a demo report",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--rules",
        metavar="FILE",
        type=Path,
        help="a policy file with a sha256 hash list named known-bad, to which a copy adds "
        "the demo image (default: the shipped rules.yaml)",
    )
    p.add_argument(
        "--test-model",
        action="store_true",
        help="use the tiny random-weights model even if real weights are cached",
    )
    p.add_argument(
        "--lemmy",
        choices=["0.19", "1.0"],
        default="0.19",
        help="the fake instance's Lemmy version: 0.19 (API v3) or 1.0 (API v4)",
    )
    p.add_argument(
        "--out-dir",
        metavar="DIR",
        type=Path,
        default=Path("."),
        help="where to write the two reports (default: the current directory)",
    )
    p.set_defaults(func=demo)


def demo(args: argparse.Namespace) -> int:
    from modbot.modes.demo import main_quietly, run_demo

    return main_quietly(
        lambda: run_demo(
            args.out_dir,
            rules=args.rules,
            force_test_model=args.test_model,
            lemmy_version=args.lemmy,
        )
    )
