"""Sweep marks benchmark: the memory a `modbot sweep` holds for the profile images it
handed out in its walk (``Source._profiles``: each person's avatar and banner, each
community's icon and banner, each bio's and description's text, once a walk).

    .venv/bin/python benchmarks/sweep_marks.py                       # 100k and 1M marks
    .venv/bin/python benchmarks/sweep_marks.py --marks 100000 300000

A large federated instance's walk meets millions of people (two marks each, their
avatar and banner). Side by side, each in a child process of its own (so that one's
freed memory is not counted for the other): a set of the mark strings (modbot before
``HandedOut``) and ``HandedOut`` (64-bit keyed digests in a temporary SQLite database).
Each mark is handed out once and then asked again three times (a person posts, and is
met, many times). Prints the process' RSS growth in MB (per 100,000 marks) and the
microseconds per mark asked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ASKED = 3  # each mark is asked again this many times after it was handed out


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def marks(count: int):
    """Marks as ``Source._not_seen`` makes them: "<kind>:<person id> <image URL>"."""
    hosts = ("lemmy.world", "lemmy.ml", "sh.itjust.works", "beehaw.org")
    for i in range(count // 2):
        host = hosts[i % len(hosts)]
        for kind in ("avatar", "banner"):
            yield f"{kind}:{i} https://{host}/pictrs/image/{uuid.UUID(int=i * 2 + 1)}.webp"


def child(way: str, count: int) -> None:
    from modbot.source import HandedOut

    before = rss_mb()
    handed: set[str] | HandedOut = set() if way == "set" else HandedOut()
    started = time.perf_counter()
    for mark in marks(count):
        if mark not in handed:
            handed.add(mark)
    for _ in range(ASKED):
        for mark in marks(count):
            assert mark in handed
    seconds = time.perf_counter() - started
    grown = rss_mb() - before
    print(json.dumps({"rss_mb": grown, "us_per_ask": seconds / (count * (ASKED + 1)) * 1e6}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--marks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    print(f"{'marks':>10} {'way':>12} {'RSS growth MB':>14} {'MB/100k':>8} {'us/ask':>7}")
    for count in args.marks:
        for way in ("set", "handed-out"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", way, str(count)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            got = json.loads(out)
            per = got["rss_mb"] / count * 100_000
            label = "set of str" if way == "set" else "HandedOut"
            print(
                f"{count:>10} {label:>12} {got['rss_mb']:>14.1f} {per:>8.1f} {got['us_per_ask']:>7.2f}"
            )


if __name__ == "__main__":
    main()
