"""Report benchmark: `modbot report` over 30,000 recorded decisions, the old way (a dry run
walking the window again: `--rescan`) against the new (the record decided again), and the
daemon's `--report` cost per cycle, old against new.

    .venv/bin/python benchmarks/report.py                # 30,000 posts, 300 distinct images
    .venv/bin/python benchmarks/report.py --posts 3000   # quicker

The state is made by a real dry-run sweep of a fake instance (``benchmarks/sweep.py``
serves it from a child process, tiny random-weights model on the CPU), then each report
is timed over the same window. The daemon's old cost is what its cycle did: read every
decision of the run to see whether the count changed (then write the whole report); the
new one adds the decisions recorded since the last cycle (``ReportBuilder``). Target:
the report from the record under a tenth of the sweep's time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sweep import current_rss_mb, write_policy  # noqa: E402 (after the path is set)


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def bench(posts: int, distinct: int, new_per_cycle: int) -> dict:
    from classifier.tiny import write_random_checkpoint
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.modes.daemon import Daemon
    from modbot.modes.report import record_report, rescan_report, write_report
    from modbot.pipeline import Pipeline
    from modbot.store import Store

    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "sweep.py"),
            "--serve",
            "--posts",
            str(posts),
            "--distinct",
            str(distinct),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out: dict = {"posts": posts, "distinct_images": distinct}
    try:
        fake = json.loads(child.stdout.readline())

        def requests_by_server() -> dict[str, int]:
            child.stdin.write("stats\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        with tempfile.TemporaryDirectory(prefix="modbot-report-bench-") as tmp:
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
            since = datetime.now(UTC) - timedelta(days=7)
            with Pipeline(settings, policy, dry_run=True) as pipeline:
                pipeline.start()
                engine = pipeline.engine  # loaded before the clock starts, shared below
                out["sweep_s"], stats = timed(lambda: pipeline.sweep(since))
                out["decisions"] = stats.decisions
                sweep_run = pipeline.run_id
                store = pipeline.store

                def report(kind: str, run, name: str) -> None:
                    before = requests_by_server()
                    rss = current_rss_mb()
                    out[f"{kind}_s"], _ = timed(run)
                    after = requests_by_server()
                    out[f"{kind}_downloads"] = after.get("remote", 0) - before.get("remote", 0)
                    out[f"{kind}_lemmy_requests"] = after.get("lemmy", 0) - before.get("lemmy", 0)
                    out[f"{kind}_rss_growth_mb"] = round(current_rss_mb() - rss, 1)
                    out[f"{kind}_bytes"] = (tmp / name).stat().st_size

                report(
                    "record_json",
                    lambda: record_report(
                        settings, policy, since=since, out=str(tmp / "new.json"), engine=engine
                    ),
                    "new.json",
                )
                report(
                    "record_html",
                    lambda: record_report(
                        settings, policy, since=since, out=str(tmp / "new.html"), engine=engine
                    ),
                    "new.html",
                )
                report(
                    "rescan",
                    lambda: rescan_report(
                        settings, policy, since=since, out=str(tmp / "old.json"), engine=engine
                    ),
                    "old.json",
                )

                # The daemon's --report: old (every cycle reads the whole run, writes it
                # all when the count changed) against new (the builder adds what is new).
                def old_cycle(seen: list[int]) -> None:
                    decisions = store.decisions(run_id=sweep_run)
                    if len(decisions) != seen[0]:
                        seen[0] = len(decisions)
                        write_report(tmp / "old-daemon.html", decisions, dry_run=True)

                seen = [0]
                old_cycle(seen)
                out["daemon_old_idle_s"], _ = timed(lambda: old_cycle(seen))

                class Run:  # the daemon's view of its pipeline: the sweep's run
                    def __init__(self) -> None:
                        self.store, self.run_id, self.dry_run = store, sweep_run, True

                daemon = Daemon(Run(), policy, report=tmp / "new-daemon.html")
                out["daemon_new_first_s"], _ = timed(daemon._write_report)
                out["daemon_new_idle_s"], _ = timed(daemon._write_report)
                sample = store.decisions_after(0, run_id=sweep_run, limit=new_per_cycle)
                for _row, record in sample:
                    store.add_decision(record)  # as a cycle records new decisions
                out["daemon_old_busy_s"], _ = timed(lambda: old_cycle(seen))
                out["daemon_new_busy_s"], _ = timed(daemon._write_report)
                out["daemon_new_per_cycle"] = new_per_cycle
                daemon._write_report(force=True)
            Store(settings.state_path).close()
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    for key in list(out):
        if key.endswith("_s"):
            out[key] = round(out[key], 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--distinct", type=int, default=300)
    parser.add_argument("--new-per-cycle", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = bench(args.posts, args.distinct, args.new_per_cycle)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(
        f"{r['decisions']} decisions recorded by a dry-run sweep of {r['posts']} posts "
        f"({r['distinct_images']} distinct images) in {r['sweep_s']} s (tiny model, CPU)"
    )
    print("                          seconds  downloads  Lemmy requests  RSS growth  file")
    for kind, label in (
        ("rescan", "report --rescan (old)"),
        ("record_json", "report from record .json"),
        ("record_html", "report from record .html"),
    ):
        print(
            f"  {label:<24}{r[f'{kind}_s']:>8}  {r[f'{kind}_downloads']:>9}  "
            f"{r[f'{kind}_lemmy_requests']:>14}  {r[f'{kind}_rss_growth_mb']:>7} MB  "
            f"{r[f'{kind}_bytes'] / 1e6:.1f} MB"
        )
    print(
        f"  report/sweep: from the record {r['record_json_s'] / r['sweep_s']:.3f} (.json), "
        f"{r['record_html_s'] / r['sweep_s']:.3f} (.html); --rescan "
        f"{r['rescan_s'] / r['sweep_s']:.2f} (target: < 0.1)"
    )
    print(
        f"  daemon --report per cycle, old / new: idle {r['daemon_old_idle_s']} / "
        f"{r['daemon_new_idle_s']} s; {r['daemon_new_per_cycle']} new decisions "
        f"{r['daemon_old_busy_s']} / {r['daemon_new_busy_s']} s "
        f"(new: first write of the whole run {r['daemon_new_first_s']} s)"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
