"""Store sweep benchmark: `modbot sweep --store` over a fake pict-rs of many files.

    .venv/bin/python benchmarks/store_sweep.py                 # 10,000 files, 1% new
    .venv/bin/python benchmarks/store_sweep.py --files 100000  # the issue's target size

Every file is distinct (pict-rs keeps one file per distinct content); `--new` of them
(default 1%) are not in the verdict cache yet and are classified, the rest were seen
before (their verdicts are put in the cache first, as a daemon's sweeps would have):
the usual case of a store sweep after the listings were swept. Prints files/s, files
classified, pict-rs and Lemmy requests per file, and the bot's RSS after 10% of the
files and after all (target: growth < 50 MB).

The fake runs in a child process so that its memory is not counted as the bot's; the
bot runs in this one (a dry run, so nothing changes and the run can be repeated). The
classifier is the tiny random-weights model on the CPU: the figures measure the
plumbing (paging, downloading, hashing, the indexes, one transaction per file).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tiny_jpeg(i: int) -> bytes:
    """A small distinct JPEG per number."""
    import io
    import random

    from PIL import Image

    noise = random.Random(i).randbytes(32 * 24 * 3)  # solid colours collide once encoded
    out = io.BytesIO()
    Image.frombytes("RGB", (32, 24), noise).save(out, "JPEG", quality=70)
    return out.getvalue()


# ---------------------------------------------------------------------- the fake (child)


def serve(files: int) -> None:
    """Child process: the instance with `files` uploads; `stats` lines on stdin."""
    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast

    with FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        hashes = [lemmy.add_upload(cast.alice, tiny_jpeg(i)).sha256 for i in range(files)]
        print(
            json.dumps(
                {
                    "url": lemmy.url,
                    "pictrs": lemmy.pictrs_url,
                    "key": lemmy.pictrs_api_key,
                    "hashes": hashes,
                }
            ),
            flush=True,
        )
        for line in sys.stdin:
            if line.strip() == "stats":
                counts: dict[str, int] = {}
                for r in lemmy.requests:
                    counts[r.server] = counts.get(r.server, 0) + 1
                print(json.dumps(counts), flush=True)


# ---------------------------------------------------------------------- the bot (parent)


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(files: int, new: float) -> dict:
    from classifier.tiny import write_random_checkpoint
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.store import Store
    from modbot.store_source import StoreSource

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--files", str(files)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        fake = json.loads(child.stdout.readline())

        def requests_by_server() -> dict[str, int]:
            child.stdin.write("stats\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp:
            tmp = Path(tmp)
            checkpoint = write_random_checkpoint(tmp / "tiny.safetensors")
            (tmp / "known-bad.txt").write_text("")
            (tmp / "rules.yaml").write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 32, allow_random_weights: true}}
hash_lists: {{known-bad: {{kind: sha256, file: known-bad.txt}}}}
fetch: {{concurrency: 16, per_host: 16}}
lemmy: {{requests_per_minute: 100000, lookback: 6h, timeout: 30s}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then: {{remove: "known", purge_image: true, ban: {{duration: permanent}}}}
""")
            policy = load_policy(tmp / "rules.yaml")
            settings = Settings(
                lemmy_url=fake["url"],
                username="modbot",
                password=Secret("pw"),
                pictrs_url=fake["pictrs"],
                pictrs_api_key=Secret(fake["key"]),
                state_path=tmp / "state.sqlite3",
            )
            store = Store(settings.state_path)
            marks: dict[str, float] = {}
            with Pipeline(settings, policy, dry_run=True, store=store) as pipeline:
                pipeline.start()
                version = pipeline.engine.concept_version  # loads the model before the clock
                # the new files spread evenly over the walk (every 1/new-th)
                step = max(1, round(1 / new)) if new > 0 else len(fake["hashes"]) + 1
                seen_before = [h for i, h in enumerate(fake["hashes"]) if i % step]
                verdict = pipeline.engine.classify_many([tiny_jpeg(0)])[0].to_dict()
                with store.transaction():
                    for digest in seen_before:
                        store.put_verdict(digest, version, {**verdict, "sha256": digest})
                source = StoreSource(pipeline.client, store, scope="dry-run", files_per_second=None)

                def progress(_items: int, _total: int | None) -> None:
                    if source.done >= files // 10 and "now_10pct" not in marks:
                        marks["now_10pct"] = current_rss_mb()
                    if sys.stderr.isatty():
                        print(
                            f"\r{source.done} files, RSS {current_rss_mb():.0f} MB",
                            end="",
                            file=sys.stderr,
                        )

                before = requests_by_server()
                lemmy_before = pipeline.client.requests
                started = time.perf_counter()
                stats = pipeline.run_batches(source.batches, progress=progress)
                elapsed = time.perf_counter() - started
                after = requests_by_server()
                marks["now_end"] = current_rss_mb()
                lemmy_requests = pipeline.client.requests - lemmy_before
            store.close()
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    pictrs = after.get("pictrs", 0) - before.get("pictrs", 0)
    lemmy_side = after.get("lemmy", 0) - before.get("lemmy", 0)
    return {
        "files": files,
        "walked": source.done,
        "new": stats.images_classified,
        "from_cache": stats.cache_hits,
        "seconds": round(elapsed, 1),
        "files_per_s": round(files / elapsed, 1),
        "pictrs_requests": pictrs,
        "lemmy_host_requests": lemmy_side,
        "requests_per_file": round((pictrs + lemmy_side) / files, 3),
        "client_api_requests": lemmy_requests,
        "rss_mb_after_10pct": round(marks.get("now_10pct", 0.0), 1),
        "rss_mb_after_all": round(marks["now_end"], 1),
        "rss_growth_mb": round(marks["now_end"] - marks.get("now_10pct", marks["now_end"]), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--new", type=float, default=0.01, help="share not in the cache")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.files)
        return 0
    import logging

    logging.basicConfig(level=logging.WARNING)
    result = bench(args.files, args.new)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
