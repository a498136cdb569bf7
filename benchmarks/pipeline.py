"""End-to-end against the engine alone: how much of the classifier's speed the bot keeps.

    .venv/bin/python benchmarks/pipeline.py                      # ViT-B-32 random weights, CPU, 256 posts, 3 runs
    .venv/bin/python benchmarks/pipeline.py --model ViT-L-14 --device cuda --posts 4096 --batch 256  # fp16 on CUDA

A fake instance (child process) holds N posts, each showing its own real-photo JPEG
(the test photos, cropped, flipped and scaled to ~1,600 px, so every file is distinct).
Each run times, in alternating order so that load from elsewhere falls on both alike:

- end-to-end: the whole bot, ``sweep --all --dry-run`` (``Pipeline.sweep``) from an
  empty state: Lemmy pages, downloads, hashing, classification, rules, the record;
- engine: the same model's ``Engine.classify_many`` on the same JPEG bytes, in memory.

The model is loaded once and shared by both, so neither pays for loading it, and a
first round of each is not counted (warm-up). Each run times each way twice, in
mirrored order (end-to-end, engine, engine, end-to-end; the next run the other way
round): on a shared machine the model's own speed drifts by several per cent from one
half-minute to the next, and the mirrored order makes a steady drift fall on both ways
alike. Each run also prints the CPU seconds each way used (the bot's process, the
fake's), and where the bot's went, by thread: the model (its inference thread and
OpenMP workers), decoding, the downloads' event loop, the deciding (main) thread, and
how busy the model was: its time on batches against the phases' wall time; and each
stage's CPU per image with the images/s it could give at most with a core per thread
(what caps the pipeline when the model is fast, as on a GPU). The
last line is ``end-to-end/engine: R (end-to-end X images/s, engine Y images/s, model M on D)``
with R the median over the runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = ROOT / "tests" / "data"


_PHOTOS: list[Any] = []


def _photo_jpeg(job: tuple[int, int, float, int, int, int]) -> bytes:
    """One distinct JPEG: photo ``i``'s crop at (x, y), scaled, flipped on odd ``i``."""
    import io

    from PIL import Image

    if not _PHOTOS:  # once per worker process
        _PHOTOS.extend(Image.open(p).convert("RGB") for p in sorted(PHOTOS.glob("*.jpg")))
    i, size, crop, x, y, quality = job
    photo = _PHOTOS[i % len(_PHOTOS)]
    w, h = photo.size
    cw, ch = int(w * crop), int(h * crop)
    scale = size / max(cw, ch)
    image = photo.crop((x, y, x + cw, y + ch)).resize(
        (int(cw * scale), int(ch * scale)), Image.BILINEAR
    )
    if i % 2:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def make_images(n: int, size: int = 1600) -> list[bytes]:
    """``n`` distinct JPEGs of about ``size`` px on the long side, from the test photos.
    The same files whatever the machine: the crops are drawn in order from one seed;
    the encoding is spread over the cores (4,096 photos for the GPU run: ~70 s on one)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np
    from PIL import Image

    sizes = [Image.open(p).size for p in sorted(PHOTOS.glob("*.jpg"))]
    rng = np.random.default_rng(0)
    out: list[bytes] = []
    seen: set[bytes] = set()
    i = -1
    workers = min(16, os.cpu_count() or 1)
    with ProcessPoolExecutor(workers) if n >= 256 and workers > 1 else _Serial() as pool:
        while len(out) < n:
            jobs = []
            for _ in range(n - len(out)):
                i += 1
                w, h = sizes[i % len(sizes)]
                crop = rng.uniform(0.75, 1.0)
                cw, ch = int(w * crop), int(h * crop)
                x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                jobs.append((i, size, crop, x, y, int(rng.integers(82, 93))))
            for data in pool.map(_photo_jpeg, jobs, chunksize=16):
                # small sizes can make the same file twice; the bot would rightly
                # classify it once
                digest = hashlib.sha256(data).digest()
                if digest not in seen and len(out) < n:
                    seen.add(digest)
                    out.append(data)
    return out


class _Serial:
    """``ProcessPoolExecutor``'s ``map`` in this process (few images, one core)."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def map(self, fn: Any, jobs: list, chunksize: int = 1) -> Any:
        return map(fn, jobs)


# ---------------------------------------------------------------------- the fake (child)


def serve(images_file: str) -> None:
    """Child process: the instance with one post per image; `stats` lines on stdin."""
    from datetime import timedelta

    from fakelemmy import FakeLemmy
    from fakelemmy.scenarios import standard_cast
    from fakelemmy.state import now

    images = pickle.loads(Path(images_file).read_bytes())
    with FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy:
        cast = standard_cast(lemmy)
        cast.bot.show_nsfw = cast.bot.show_bot_accounts = True
        start = now() - timedelta(days=2)
        for i, data in enumerate(images):
            url = lemmy.add_remote_file(f"photo{i}.jpg", data)
            lemmy.add_post(
                cast.pics,
                [cast.alice, cast.bob][i % 2],
                name=f"post {i}",
                url=url,
                published=start + timedelta(seconds=i),
            )
        print(json.dumps({"url": lemmy.url, "remote": lemmy.remote_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                counts: dict[str, int] = {}
                for r in lemmy.requests:
                    counts[r.server] = counts.get(r.server, 0) + 1
                print(json.dumps(counts), flush=True)


# ---------------------------------------------------------------------- the bot (parent)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# what each of the bot's threads does, by name (unnamed native threads: OpenMP's workers)
_ROLES = (
    ("modbot-inference", "model"),
    ("modbot-decode", "decode"),
    ("modbot-fetch", "downloads"),
    ("MainThread", "deciding"),
)


def _threads_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads so far, by role (Linux; {} elsewhere)."""
    import os
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        name = names.get(int(tid))
        role = "model" if name is None else "other"
        for prefix, known in _ROLES:
            if name is not None and name.startswith(prefix):
                role = known
        out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _since(before: dict[str, float]) -> dict[str, float]:
    now = _threads_cpu()
    return {role: now[role] - before.get(role, 0.0) for role in now}


def _by_role(used: dict[str, float]) -> str:
    order = [role for _, role in _ROLES] + ["other"]
    return ", ".join(f"{role} {used[role]:.1f}" for role in order if used.get(role, 0) >= 0.05)


def start_fake(images_file: Path) -> tuple[subprocess.Popen, dict]:
    """The fake instance, a child process serving the photos pickled in ``images_file``,
    and where it listens (``url``, ``remote``); close its stdin to stop it."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(images_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        return child, json.loads(child.stdout.readline())
    except BaseException:
        child.kill()
        raise


def bot_settings(lemmy_url: str, state_path: Path) -> Any:
    """The bot's settings against the fake (``modbot``'s, as first found on sys.path)."""
    from modbot.config.settings import Secret, Settings

    return Settings(
        lemmy_url=lemmy_url, username="modbot", password=Secret("pw"), state_path=state_path
    )


def write_policy(directory: Path, remote: str, args: argparse.Namespace) -> Path:
    path = directory / "rules.yaml"
    pretrained = "null" if args.random_weights else args.pretrained
    path.write_text(f"""
classifier: {{model: {args.model}, pretrained: {pretrained}, device: {args.device},
             batch_size: {args.batch}, allow_random_weights: {str(args.random_weights).lower()},
             decode_processes: {args.decode_processes},
             views_in_processes: {str(args.views_in_processes).lower()}}}
fetch: {{allow_hosts: ["{remote.split("//", 1)[1]}"], concurrency: 16, per_host: 16}}
lemmy: {{requests_per_minute: 100000, lookback: 6h, timeout: 30s}}
rules:
  - name: nsfw outside nsfw communities
    if: {{labels: [nsfw], community: {{nsfw: false}}}}
    then: {{report: "nsfw"}}
""")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--posts", type=int, default=256)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--pretrained", default="openai")
    p.add_argument("--random-weights", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=1600, help="long side of the photos, px")
    p.add_argument(
        "--decode-processes",
        default="auto",
        help="classifier.decode_processes: auto (processes on cuda, threads on cpu) or N",
    )
    p.add_argument(
        "--views-in-processes",
        action="store_true",
        help="classifier.views_in_processes: on a GPU the decoding processes make the "
        "reference's views (both ways: the engine alone is the same engine)",
    )
    p.add_argument("--serve", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0

    from modbot.classify import build_engine
    from modbot.config.policy import load_policy
    from modbot.pipeline import Pipeline
    from modbot.store import Store

    images = make_images(args.posts, args.size)
    mean_kb = sum(map(len, images)) / len(images) / 1024
    with tempfile.TemporaryDirectory(prefix="modbot-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "images.pickle").write_bytes(pickle.dumps(images))
        child, fake = start_fake(tmp / "images.pickle")
        assert child.stdin is not None
        try:
            policy = load_policy(write_policy(tmp, fake["remote"], args))
            engine = build_engine(policy)
            loaded = engine.loaded  # type: ignore[attr-defined]
            print(
                f"model: {loaded.identity} on {loaded.device} "
                f"({str(loaded.dtype).removeprefix('torch.')}); {args.posts} posts, one "
                f"distinct JPEG each (~{args.size} px, mean {mean_kb:.0f} KiB)"
            )
            engine.classify_many(images[:8])  # warm-up: first-call allocations, threads

            cpu: dict[str, float] = {}  # CPU seconds of the last phase: bot, fake
            roles: dict[str, float] = {}  # the last phase's CPU seconds by thread role
            model: dict[str, int] = {}  # the last phase's batches and inference time

            def engine_counts() -> tuple[int, int]:
                return engine.stats["batches"], engine.stats["inference_us"]  # type: ignore[attr-defined]

            def count_model(before: tuple[int, int]) -> None:
                now = engine_counts()
                model["batches"], model["inference_us"] = now[0] - before[0], now[1] - before[1]

            def cpu_now() -> tuple[float, float]:
                return time.process_time(), _cpu_seconds(child.pid)

            def end_to_end(run: int) -> tuple[float, object]:
                settings = bot_settings(fake["url"], tmp / f"state{run}.sqlite3")
                store = Store(settings.state_path)
                try:
                    with Pipeline(
                        settings, policy, dry_run=True, store=store, engine=engine
                    ) as pipeline:
                        pipeline.start()
                        threads, batches = _threads_cpu(), engine_counts()
                        started, (bot, served) = time.perf_counter(), cpu_now()
                        stats = pipeline.sweep(None)
                        elapsed = time.perf_counter() - started
                        count_model(batches)
                        cpu["bot"], cpu["fake"] = (a - b for a, b in zip(cpu_now(), (bot, served)))
                        roles.clear()
                        roles.update(_since(threads))
                        return elapsed, stats
                finally:
                    store.close()

            def engine_alone() -> float:
                threads, batches = _threads_cpu(), engine_counts()
                started, (own, _) = time.perf_counter(), cpu_now()
                engine.classify_many(images)
                count_model(batches)
                cpu["engine"] = cpu_now()[0] - own
                roles.clear()
                roles.update(_since(threads))
                return time.perf_counter() - started

            # A round of each first, not counted: the bot's first sweep pays for what
            # the engine's warm-up paid for (first allocations, thread pools, imports).
            end_to_end(-1)
            engine_alone()
            ratios, e2e_rates, eng_rates = [], [], []
            sweeps, fake_total = 0, 0.0
            # CPU seconds by thread role over every counted phase, each way
            by_role: dict[str, dict[str, float]] = {"e2e": {}, "engine": {}}
            # the model's batches and busy time over every counted phase, and the phases'
            # wall time: whether the pipeline kept it fed
            fed = {w: {"batches": 0, "inference_us": 0, "wall_s": 0.0} for w in ("e2e", "engine")}
            for run in range(args.runs):
                # each way twice, in mirrored order (ABBA), so that a drift of the
                # machine's speed within the run falls on both alike
                order = ("e2e", "engine", "engine", "e2e")
                if run % 2:
                    order = ("engine", "e2e", "e2e", "engine")
                seconds = {"e2e": 0.0, "engine": 0.0}
                used = {"bot": 0.0, "fake": 0.0, "engine": 0.0}
                for phase in order:
                    if phase == "e2e":
                        sweeps += 1
                        took, stats = end_to_end(sweeps)
                        classified = stats.images_classified  # type: ignore[attr-defined]
                        if classified != args.posts:
                            raise SystemExit(
                                f"the sweep classified {classified} of {args.posts} images"
                            )
                        used["bot"] += cpu["bot"]
                        used["fake"] += cpu["fake"]
                        fake_total += cpu["fake"]
                    else:
                        took = engine_alone()
                        used["engine"] += cpu["engine"]
                    seconds[phase] += took
                    fed[phase]["wall_s"] += took
                    fed[phase]["batches"] += model["batches"]
                    fed[phase]["inference_us"] += model["inference_us"]
                    for role, s in roles.items():
                        by_role[phase][role] = by_role[phase].get(role, 0.0) + s
                e2e = 2 * args.posts / seconds["e2e"]
                eng = 2 * args.posts / seconds["engine"]
                ratios.append(e2e / eng)
                e2e_rates.append(e2e)
                eng_rates.append(eng)
                print(
                    f"run {run + 1} ({', '.join(order)}): end-to-end {e2e:7.2f} images/s, "
                    f"engine {eng:7.2f} images/s, ratio {e2e / eng:.3f}; CPU s: bot "
                    f"{used['bot']:.1f} + fake {used['fake']:.1f}, engine {used['engine']:.1f}",
                    flush=True,
                )
            engine.close()
            # Where the difference comes from, free of the machine's speed from phase to
            # phase: the bot's own threads' CPU (and the fake's) next to the model's.
            e2e_cpu, eng_cpu = by_role["e2e"], by_role["engine"]
            own = e2e_cpu.get("downloads", 0.0) + e2e_cpu.get("deciding", 0.0)
            own += e2e_cpu.get("other", 0.0)
            work = e2e_cpu.get("model", 0.0) + e2e_cpu.get("decode", 0.0)
            alone = eng_cpu.get("model", 0.0) + eng_cpu.get("decode", 0.0)
            print(
                f"CPU s by thread, all runs: end-to-end {_by_role(e2e_cpu)} (+ fake "
                f"{fake_total:.1f}); engine {_by_role(eng_cpu)}. The bot's own threads used "
                f"{100 * own / work:.1f} % of what model + decode did, the fake "
                f"{100 * fake_total / work:.1f} %; model + decode took "
                f"{100 * (work / alone - 1):+.1f} % CPU against the engine alone"
            )
            # What each stage costs an image, and so the most images/s it could give with
            # a core per thread: on a GPU the model is fast, and the slowest of these sets
            # the pipeline's pace (the downloads and deciding threads also share one
            # interpreter lock).
            counted = sweeps * args.posts
            downloads, deciding, decode, inference = (
                1000 * e2e_cpu.get(role, 0.0) / counted
                for role in ("downloads", "deciding", "decode", "model")
            )
            decoders = engine.decode_workers  # type: ignore[attr-defined]

            def most(ms: float, threads: int = 1) -> str:
                return f"{1000 * threads / ms:,.0f}" if ms > 0 else "any"

            print(
                f"CPU ms an image, end to end: downloads {downloads:.2f}, deciding "
                f"{deciding:.2f}, decode {decode:.1f}, model {inference:.1f}. With a core per "
                f"thread at most: downloads' loop {most(downloads)} images/s, deciding "
                f"{most(deciding)}, the {decoders} decode threads {most(decode, decoders)}"
            )
            busy = {w: f["inference_us"] / 1e4 / f["wall_s"] for w, f in fed.items()}
            print(
                f"model busy, all runs: {busy['e2e']:.1f} % of the end-to-end sweeps' time "
                f"({fed['e2e']['batches']} batches), {busy['engine']:.1f} % of the engine "
                f"alone's ({fed['engine']['batches']} batches)"
            )
        finally:
            child.stdin.close()
            child.wait(timeout=60)
    print(
        f"end-to-end/engine: {statistics.median(ratios):.3f} (end-to-end "
        f"{statistics.median(e2e_rates):.1f} images/s, engine {statistics.median(eng_rates):.1f} "
        f"images/s, model {args.model}{'' if not args.random_weights else ' random weights'} "
        f"on {args.device})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
