"""The bot's own CPU an image, this tree against another commit: what caps the pipeline
when the model is fast.

    .venv/bin/python benchmarks/own_cpu.py                  # the working tree against HEAD
    .venv/bin/python benchmarks/own_cpu.py --base 43f6684   # ... against that commit

On a GPU the model classifies thousands of images a second, and the bot goes as fast as
its slowest CPU stage. Two of them are one thread each, sharing the interpreter lock:

- the downloads' event loop: HTTP, SHA-256, the cache's reads and writes, handing each
  image to the engine;
- the deciding (main) thread: Lemmy's pages, each item's images, the rules, the record.

A fake instance (child process, as in ``benchmarks/pipeline.py``) holds N posts, each
showing its own ~600 px JPEG. For each tree a child process loads the tiny
random-weights model (so the model's own CPU is small; it is not what is measured) and
runs dry-run ``--all`` sweeps from an empty state (a first one not counted), reading
each thread's CPU time from /proc (Linux). The two trees alternate, each in a process of
its own (base, this, this, base, then the other way round); the base is checked out in
a temporary git worktree and imports its own ``modbot`` and ``classifier``, with this
tree's photos and fake.

The last line is ``own CPU ms an image: downloads X -> Y, deciding A -> B (base REV ->
this tree); with a core each at most: downloads' loop N -> M images/s, deciding ...``,
medians over every sweep of each tree.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(tree: str, fake_file: str, sweeps: int) -> None:
    """Child process: sweeps with the code of ``tree``; prints one JSON line."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pipeline as bench  # this tree's helpers (photos, fake, thread roles)

    sys.path.insert(0, tree)  # ... and the measured tree's modbot and classifier, first
    import classifier
    import modbot
    from modbot.classify import build_engine
    from modbot.config.policy import load_policy
    from modbot.pipeline import Pipeline
    from modbot.store import Store

    for module in (modbot, classifier):
        if not str(module.__file__).startswith(tree):
            raise SystemExit(f"{module.__name__} came from {module.__file__}, not {tree}")
    fake = json.loads(Path(fake_file).read_text())
    images = pickle.loads(Path(fake["images"]).read_bytes())
    args = argparse.Namespace(
        model="modbot-tiny", random_weights=True, pretrained=None, device="cpu", batch=32
    )
    out: dict[str, list[float]] = {"downloads": [], "deciding": []}
    with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        policy = load_policy(bench.write_policy(tmp, fake["remote"], args))
        engine = build_engine(policy)
        engine.classify_many(images[:8])  # warm-up
        for sweep in range(sweeps + 1):  # the first not counted
            settings = bench.bot_settings(fake["url"], tmp / f"state{sweep}.sqlite3")
            store = Store(settings.state_path)
            try:
                with Pipeline(settings, policy, dry_run=True, store=store, engine=engine) as p:
                    p.start()
                    before = bench._threads_cpu()
                    stats = p.sweep(None)
                    used = bench._since(before)
            finally:
                store.close()
            if stats.images_classified != len(images):
                raise SystemExit(f"the sweep classified {stats.images_classified} images")
            if sweep:
                for role in out:
                    out[role].append(1000 * used.get(role, 0.0) / len(images))
        engine.close()
    print(json.dumps(out), flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    p.add_argument("--posts", type=int, default=1024)
    p.add_argument("--sweeps", type=int, default=3, help="counted sweeps per process")
    p.add_argument("--rounds", type=int, default=2, help="rounds of base, this, this, base")
    p.add_argument("--size", type=int, default=600, help="long side of the photos, px")
    p.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        measure(args.measure[0], args.measure[1], args.sweeps)
        return 0

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pipeline import make_images, start_fake

    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    images = make_images(args.posts, args.size)
    with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base_tree = tmp / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base_tree), rev],
            check=True,
        )
        (tmp / "images.pickle").write_bytes(pickle.dumps(images))
        fake, where = start_fake(tmp / "images.pickle")
        assert fake.stdin is not None
        try:
            where["images"] = str(tmp / "images.pickle")
            (tmp / "fake.json").write_text(json.dumps(where))
            print(
                f"{args.posts} posts, one distinct JPEG each (~{args.size} px); tiny model on "
                f"cpu; {args.sweeps} sweeps a process; base {rev}, this tree {ROOT}",
                flush=True,
            )
            trees = {"base": str(base_tree), "this": str(ROOT)}
            got: dict[str, dict[str, list[float]]] = {w: {} for w in trees}
            for run in range(args.rounds):
                order = ("base", "this", "this", "base")
                if run % 2:
                    order = ("this", "base", "base", "this")
                for which in order:
                    started = time.perf_counter()
                    child = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--sweeps",
                            str(args.sweeps),
                            "--measure",
                            trees[which],
                            str(tmp / "fake.json"),
                        ],
                        capture_output=True,
                        text=True,
                    )
                    if child.returncode:
                        raise SystemExit(f"{which}: {child.stderr.strip()[-2000:]}")
                    figures = json.loads(child.stdout.strip().splitlines()[-1])
                    for role, values in figures.items():
                        got[which].setdefault(role, []).extend(values)
                    print(
                        f"round {run + 1} {which:4}: CPU ms an image, downloads "
                        + ", ".join(f"{v:.2f}" for v in figures["downloads"])
                        + "; deciding "
                        + ", ".join(f"{v:.2f}" for v in figures["deciding"])
                        + f" ({time.perf_counter() - started:.0f} s)",
                        flush=True,
                    )
        finally:
            fake.stdin.close()
            fake.wait(timeout=60)
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                check=False,
            )
    med = {w: {r: statistics.median(v) for r, v in got[w].items()} for w in got}

    def most(ms: float) -> str:
        return f"{1000 / ms:,.0f}" if ms > 0 else "any"

    b, t = med["base"], med["this"]
    print(
        f"own CPU ms an image: downloads {b['downloads']:.2f} -> {t['downloads']:.2f}, "
        f"deciding {b['deciding']:.2f} -> {t['deciding']:.2f} (base {rev} -> this tree); "
        f"with a core each at most: downloads' loop {most(b['downloads'])} -> "
        f"{most(t['downloads'])} images/s, deciding {most(b['deciding'])} -> "
        f"{most(t['deciding'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
