"""PDQ: modbot's way (shrink to fit 512x512 first, JPEG draft decode) against
python-threatexchange's (the full-size image), side by side on the same bytes, and
matching a hash against a large list.

    .venv/bin/python benchmarks/pdq.py [--rounds 3] [--list-size 1000000]

For each input size: milliseconds per hash both ways (alternating rounds, best round
kept, so load from other processes falls on both alike), and the Hamming distance
between the two hashes (what changes for a list made by the other tool). Then the time
of one `HashIndex.lookup` in a list of random PDQ hashes.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modbot import pdq  # noqa: E402 (after the path is set)
from modbot.hashes import HASH_KINDS  # noqa: E402


def full_size(data: bytes) -> str:
    """python-threatexchange's PdqSignal.hash_from_bytes, without its import cost:
    the whole image as RGB, straight to pdqhash."""
    import pdqhash

    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    vector, _quality = pdqhash.compute(rgb)
    return np.packbits(vector.astype(np.uint8)).tobytes().hex()


def inputs() -> dict[str, bytes]:
    base = Image.open(ROOT / "tests/data/china.jpg").convert("RGB")
    out = {}
    for width, fmt in ((640, "JPEG"), (1600, "JPEG"), (4000, "JPEG"), (1600, "PNG")):
        img = base.resize(
            (width, round(width * base.height / base.width)), Image.Resampling.BICUBIC
        )
        buf = io.BytesIO()
        img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 1}))
        out[f"{img.width}x{img.height} {fmt}"] = buf.getvalue()
    return out


def ms_per_hash(fn, data: bytes, repeat: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn(data)
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--list-size", type=int, default=1_000_000)
    args = ap.parse_args()

    print(f"{'input':<20} {'full size ms':>12} {'modbot ms':>10} {'ratio':>6} {'bits apart':>10}")
    for name, data in inputs().items():
        full_size(data), pdq.pdq_hash(data)  # warm-up
        a = b = float("inf")
        for _ in range(args.rounds):  # alternate, so both see the same load
            a = min(a, ms_per_hash(full_size, data))
            b = min(b, ms_per_hash(pdq.pdq_hash, data))
        apart = pdq.distance(full_size(data), pdq.pdq_hash(data).hex)
        print(f"{name:<20} {a:>12.1f} {b:>10.1f} {a / b:>6.1f} {apart:>10}")

    rng = np.random.default_rng(0)
    hexes = [rng.bytes(32).hex() for _ in range(args.list_size)]
    start = time.perf_counter()
    index = HASH_KINDS["pdq"].index(hexes)
    built = time.perf_counter() - start
    query = HASH_KINDS["pdq"].compute((ROOT / "tests/data/coffee.jpg").read_bytes())
    index.lookup(query)
    start = time.perf_counter()
    for _ in range(10):
        index.lookup(query)
    lookup = (time.perf_counter() - start) / 10 * 1000
    print(
        f"\nlist of {args.list_size:,} PDQ hashes: built in {built:.1f} s, "
        f"{index._words.nbytes / 1e6:.0f} MB of words, one lookup {lookup:.1f} ms"
    )


if __name__ == "__main__":
    main()
