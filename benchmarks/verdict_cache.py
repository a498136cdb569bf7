"""The verdict cache: verdicts kept whole (before) against prompt scores packed (now).

    .venv/bin/python benchmarks/verdict_cache.py             # 2,000 verdicts, 7 rounds

Real verdicts (the tiny random-weights model with the shipped concepts: every prompt's
similarity, rounded to 4 decimals, as any model makes them) of distinct images are
written to two state files and read back, the two ways alternating round by round:

- whole: the verdict's JSON in its row, ~230 prompt texts with it, as the store did
  before (the same SQL, through the store's own transaction);
- packed: ``Store.put_verdict`` / ``get_verdict`` (the prompts once per concept version,
  each verdict's similarities as ten-thousandths).

Prints the CPU microseconds of one write and one read (median of the rounds; the
downloads' thread does both, once per new file and once per known file) and the state
file's bytes per verdict (checkpointed, so the WAL is counted in the file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--verdicts", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)

    from io import BytesIO

    import numpy as np
    from PIL import Image

    from classifier.engine import Engine
    from classifier.model import load_model
    from classifier.tiny import tiny_spec, write_random_checkpoint
    from modbot.store import Store

    with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rng = np.random.default_rng(0)
        encoded = []  # 16 distinct images: their verdicts differ
        for array in (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(16)):
            buf = BytesIO()
            Image.fromarray(array).save(buf, "PNG")
            encoded.append(buf.getvalue())
        with Engine(load_model(tiny_spec(write_random_checkpoint(tmp / "tiny.safetensors")))) as e:
            made = [v.to_dict() for v in e.classify_many(encoded)]
        version = made[0]["concept_version"]
        prompts = len(made[0]["prompt_scores"])
        verdicts = [made[i % len(made)] for i in range(args.verdicts)]
        keys = [f"{i:064x}" for i in range(args.verdicts)]

        whole, packed = Store(tmp / "whole.sqlite3"), Store(tmp / "packed.sqlite3")

        def put_whole(key: str, verdict: dict) -> None:
            with whole.transaction():
                whole._db.execute(
                    "INSERT OR REPLACE INTO verdicts (sha256, concept_version, verdict) "
                    "VALUES (?, ?, ?)",
                    (key, version, json.dumps(verdict, sort_keys=True)),
                )

        def get_whole(key: str) -> dict | None:
            row = whole._one(
                "SELECT verdict FROM verdicts WHERE sha256 = ? AND concept_version = ?",
                (key, version),
            )
            return json.loads(row["verdict"]) if row else None

        ways = {
            "whole": (put_whole, get_whole),
            "packed": (
                lambda k, v: packed.put_verdict(k, version, v),
                lambda k: packed.get_verdict(k, version),
            ),
        }
        figures: dict[str, dict[str, list[float]]] = {w: {"put": [], "get": []} for w in ways}
        per_round = args.verdicts // args.rounds
        for r in range(args.rounds):
            chunk = range(r * per_round, (r + 1) * per_round)
            order = list(ways) if r % 2 == 0 else list(reversed(ways))
            for way in order:
                put, get = ways[way]
                started = time.thread_time()
                for i in chunk:
                    put(keys[i], verdicts[i])
                figures[way]["put"].append((time.thread_time() - started) / len(chunk))
                started = time.thread_time()
                for i in chunk:
                    if get(keys[i]) != verdicts[i]:
                        raise SystemExit(f"{way}: verdict {i} did not come back as it was")
                figures[way]["get"].append((time.thread_time() - started) / len(chunk))
        stored = per_round * args.rounds
        size = {}
        for way, store in (("whole", whole), ("packed", packed)):
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size[way] = store.path.stat().st_size / stored
            store.close()

    print(
        f"{stored} verdicts of the shipped concepts ({prompts} prompts), {args.rounds} rounds "
        "alternating; CPU per verdict (median of the rounds), state file bytes per verdict"
    )
    for way in ways:
        put = statistics.median(figures[way]["put"]) * 1e6
        get = statistics.median(figures[way]["get"]) * 1e6
        print(f"  {way:7} write {put:6.0f} us   read {get:6.0f} us   {size[way]:7.0f} bytes")
    w, k = figures["whole"], figures["packed"]
    print(
        f"packed/whole: write {statistics.median(k['put']) / statistics.median(w['put']):.2f}, "
        f"read {statistics.median(k['get']) / statistics.median(w['get']):.2f}, "
        f"size {size['packed'] / size['whole']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
