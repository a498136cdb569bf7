"""Finding the images of a text: modbot's extractor (`images.image_refs`) against
markdown-it-py (the Python port of the parser lemmy-ui uses, commonmark preset) on the
same texts, ordinary and hostile, at Lemmy's length caps and past them.

    .venv/bin/python benchmarks/markdown.py [--sizes 10000,50000,1000000] [--rounds 3]

Lemmy refuses a comment over 10,000 characters and a post body over 50,000 from its
own users, but a federated text from other software can be longer: 1,000,000 shows what
one such text costs. For each text and size: seconds per text both ways (alternating
rounds, best kept, so load from other processes falls on both alike), and the distinct
images each found. markdown-it is the yardstick (it renders what a reader sees); a column "-"
means it took longer than --markdown-it-limit seconds and was not timed again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from markdown_it import MarkdownIt  # noqa: E402 (after the path is set)
from test_images import make_comment  # noqa: E402

from modbot import images  # noqa: E402
from modbot.lemmy import views_v3  # noqa: E402

INSTANCE = "https://lemmy.example"
REAL = "\n\n![real](https://ok.example/a.png)"

# each a unit repeated to the size; the first is an ordinary comment with images
PATTERNS = {
    "ordinary prose with images": (
        "Some words about a picture, *emphasis*, a [link](https://e.example/p) and "
        '![a photo](https://img.example/p.jpg "title").\n\n'
    ),
    "unclosed brackets": "![[",
    "unclosed images": "![a",
    "unclosed destinations": "![a](",
    "long unclosed destinations": "![a](" + "x" * 1000,
    "definition-like lines": '\n[a]: u "',
    "unclosed angle destinations": "![a](<",
    "reference images, one definition": "![x][r] ",
    "nested brackets": "[" * 50 + "![" + "]" * 50,
    "backticks": "`` ![a](",
    "spaces": " ",
}


def text_of(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size] + REAL


def modbot_images(item) -> int:
    return len(images.image_refs(item, instance_url=INSTANCE))


_MD = MarkdownIt("commonmark")


def markdown_it_images(text: str) -> int:
    found = set()
    stack = list(_MD.parse(text))
    while stack:
        token = stack.pop()
        if token.type == "image":
            found.add(token.attrGet("src"))
        stack.extend(token.children or [])
    return len(found)


def timed(fn, arg) -> tuple[float, int]:
    start = time.perf_counter()
    found = fn(arg)
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown-it-limit", type=float, default=30.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"{'text':36} {'chars':>9} {'modbot s':>9} {'md-it s':>9} {'images':>11}")
    worst: dict[int, float] = {}
    for name, unit in PATTERNS.items():
        for size in sizes:
            text = text_of(unit, size)
            if name.startswith("reference"):
                text += "\n\n[r]: https://img.example/r.png\n"
            item = views_v3.item("comment", make_comment(text))  # Lemmy's JSON read once
            assert item.text == text
            best_m = best_k = float("inf")
            found_m = found_k = -1
            skip_k = False
            for _ in range(args.rounds):
                t, found_m = timed(modbot_images, item)
                best_m = min(best_m, t)
                if not skip_k:
                    t, found_k = timed(markdown_it_images, text)
                    best_k = min(best_k, t)
                    skip_k = t > args.markdown_it_limit
            worst[size] = max(worst.get(size, 0.0), best_m)
            k = f"{best_k:9.3f}" if best_k != float("inf") else f"{'-':>9}"
            print(f"{name:36} {len(text):9,} {best_m:9.3f} {k} {found_m:>5}/{found_k:<5}")
    print(
        "slowest modbot text per size: "
        + ", ".join(f"{size:,} chars {s:.3f} s" for size, s in sorted(worst.items()))
    )


if __name__ == "__main__":
    main()
