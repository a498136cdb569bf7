"""Sweep benchmark: a fake instance of 10,000 posts with images (a few hundred distinct).

    .venv/bin/python benchmarks/sweep.py               # 10,000 posts, 300 distinct images
    .venv/bin/python benchmarks/sweep.py --posts 2000  # quicker

Prints items/s, images fetched/s, classifications/s for a dry-run `--all` sweep, the
Lemmy API requests of an idle poll cycle, the bot's peak RSS after 1,000 and after all
items, and the image requests of a second sweep over the same posts (another scope, as a
live sweep after a dry run). Targets: idle cycle <= 2 requests; RSS growth from 1k to
10k items < 50 MB; the second sweep downloads nothing.

The fake Lemmy runs in a child process so that its own memory (the instance's content,
its request log) is not counted as the bot's. The classifier is the tiny random-weights
model on the CPU: classification here measures the plumbing, not a real model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------- the fake (child)


def serve(posts: int, distinct: int) -> None:
    """Child process: build and serve the instance; answer `stats` lines on stdin."""
    from datetime import timedelta

    from fakelemmy import FakeLemmy, hostile
    from fakelemmy.scenarios import standard_cast
    from fakelemmy.state import now

    with FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        cast.bot.show_nsfw = cast.bot.show_bot_accounts = True
        urls = [
            lemmy.add_remote_file(
                f"img{i}.jpg",
                hostile.jpeg(
                    width=96, height=64, color=(i % 256, (i * 7) // 256 % 256, (i * 13) % 251)
                ),
            )
            for i in range(distinct)
        ]
        start = now() - timedelta(days=2)
        authors = [cast.alice, cast.bob]
        for i in range(posts):
            lemmy.add_post(
                cast.pics,
                authors[i % 2],
                name=f"post {i}",
                url=urls[i % distinct],
                published=start + timedelta(seconds=i),
            )
        print(
            json.dumps(
                {
                    "url": lemmy.url,
                    "remote": lemmy.remote_url,
                    "pictrs": lemmy.pictrs_url,
                    "key": lemmy.pictrs_api_key,
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


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size now (the peak hides growth under the model's loading spike)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_policy(directory: Path, remote: str, checkpoint: Path) -> Path:
    (directory / "known-bad.txt").write_text("")
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 32, allow_random_weights: true}}
hash_lists: {{known-bad: {{kind: sha256, file: known-bad.txt}}}}
fetch: {{allow_hosts: ["{remote.split("//", 1)[1]}"], concurrency: 16, per_host: 16}}
lemmy: {{requests_per_minute: 100000, lookback: 6h, timeout: 30s}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then: {{remove: "known", purge_image: true}}
  - name: nsfw outside nsfw communities
    if: {{labels: [nsfw], community: {{nsfw: false}}}}
    then: {{report: "nsfw"}}
""")
    return path


def bench(posts: int, distinct: int) -> dict:
    from classifier.tiny import write_random_checkpoint
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.store import Store

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--posts", str(posts), "--distinct", str(distinct)],
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
            policy = load_policy(write_policy(tmp, fake["remote"], checkpoint))
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

            def progress(done: int, total: int | None) -> None:
                if done >= 1000 and "rss_1k" not in marks:
                    marks["rss_1k"] = rss_mb()
                    marks["now_1k"] = current_rss_mb()
                if sys.stderr.isatty():
                    print(f"\r{done} items, peak RSS {rss_mb():.0f} MB", end="", file=sys.stderr)

            with Pipeline(settings, policy, dry_run=True, store=store) as pipeline:
                pipeline.start()
                _ = pipeline.engine  # load the model before the clock starts
                before = requests_by_server()
                started = time.perf_counter()
                stats = pipeline.sweep(None, progress=progress)
                elapsed = time.perf_counter() - started
                after = requests_by_server()
                marks["rss_end"] = rss_mb()
                marks["now_end"] = current_rss_mb()
                # Idle polls: the first sets the watermarks (and is a deep one); then idle.
                pipeline.poll_once()
                idle = [pipeline.poll_once().requests for _ in range(3)]
                # The same posts swept again in another scope, as a live sweep after a
                # dry run walks them: every file is known (alias or link, fresh).
                with Pipeline(
                    settings,
                    policy,
                    dry_run=True,
                    store=store,
                    scope="again",
                    engine=pipeline.engine,
                ) as again:
                    before_again = requests_by_server()
                    started = time.perf_counter()
                    again_stats = again.sweep(None)
                    again_s = time.perf_counter() - started
                    after_again = requests_by_server()
            store.close()
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    fetched = after.get("remote", 0) - before.get("remote", 0)
    return {
        "posts": posts,
        "distinct_images": distinct,
        "items": stats.items_seen,
        "seconds": round(elapsed, 1),
        "items_per_s": round(stats.items_seen / elapsed, 1),
        "images_fetched": fetched,
        "images_fetched_per_s": round(fetched / elapsed, 1),
        "classified": stats.images_classified,
        "classifications_per_s": round(stats.images_classified / elapsed, 1),
        "cache_hits": stats.cache_hits,
        "lemmy_requests_during_sweep": after.get("lemmy", 0) - before.get("lemmy", 0),
        "idle_poll_requests": idle,
        "second_sweep_items": again_stats.items_seen,
        "second_sweep_seconds": round(again_s, 1),
        "second_sweep_image_requests": after_again.get("remote", 0) - before_again.get("remote", 0),
        "second_sweep_not_downloaded": again_stats.not_downloaded,
        "peak_rss_mb_after_1k": round(marks.get("rss_1k", 0.0), 1),
        "peak_rss_mb_after_all": round(marks["rss_end"], 1),
        "rss_growth_mb": round(marks["rss_end"] - marks.get("rss_1k", marks["rss_end"]), 1),
        "rss_mb_now_after_1k": round(marks.get("now_1k", 0.0), 1),
        "rss_mb_now_after_all": round(marks["now_end"], 1),
        "rss_now_growth_mb": round(marks["now_end"] - marks.get("now_1k", marks["now_end"]), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=300)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.serve:
        serve(args.posts, args.distinct)
        return 0
    import logging

    logging.basicConfig(level=logging.WARNING)
    result = bench(args.posts, args.distinct)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"sweep of {result['items']} items ({result['posts']} posts, "
        f"{result['distinct_images']} distinct images) in {result['seconds']} s, dry run, tiny model, CPU"
    )
    print(f"  items/s:              {result['items_per_s']}")
    print(
        f"  images fetched/s:     {result['images_fetched_per_s']} ({result['images_fetched']} fetched)"
    )
    print(
        f"  classifications/s:    {result['classifications_per_s']} ({result['classified']} "
        f"classified, {result['cache_hits']} from the verdict cache)"
    )
    print(f"  Lemmy API requests:   {result['lemmy_requests_during_sweep']} during the sweep")
    print(f"  idle poll cycle:      {result['idle_poll_requests']} requests (target <= 2)")
    print(
        f"  the same posts again: {result['second_sweep_items']} items in "
        f"{result['second_sweep_seconds']} s, {result['second_sweep_image_requests']} image "
        f"requests (first sweep {result['images_fetched']}; "
        f"{result['second_sweep_not_downloaded']} known files not downloaded; target 0)"
    )
    print(
        f"  peak RSS:             {result['peak_rss_mb_after_1k']} MB after 1k items, "
        f"{result['peak_rss_mb_after_all']} MB after all; growth {result['rss_growth_mb']} MB "
        "(target < 50 MB)"
    )
    print(
        f"  current RSS:          {result['rss_mb_now_after_1k']} MB after 1k items, "
        f"{result['rss_mb_now_after_all']} MB after all; growth {result['rss_now_growth_mb']} MB"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
