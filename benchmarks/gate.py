"""The upload gate's latency, and the worker against the engine in-process, in one run.

Started through their real command lines as child processes: ``modbot worker`` (the
model, random weights, seeded) and ``modbot gate`` classifying on it
(``classifier.remote``; budget 29 s and ``on_timeout: reject``, so a slow answer shows
as a 503, never as a silent pass). At each concurrency C:

(a) gate: C clients upload as pict-rs does (``POST /validate/SECRET``, the body chunked,
    ``Content-Type: image/jpeg``), each its next file once the last is answered: the
    latency of each answer (p50, p99) and uploads/s;
(b) worker: C clients ``POST /v1/classify`` (bearer token) to the same worker: images/s;
(c) in-process: C asyncio tasks awaiting ``Engine.classify`` on an engine with the same
    model and settings in this process: images/s.

Every upload is a distinct file: the demo photos (modbot/demo_data), each with a few
bytes of its own after the JPEG's end (decoders ignore them), so the verdict cache never
answers for the classifier. (a), (b), (c) alternate in rounds, so other load on a shared
machine falls on all alike. The HTTP clients run in ``--client-procs`` processes of their
own. Prints per concurrency the gate's p50/p99 and uploads/s, the worker's and the
engine's images/s, ``ratio worker/in-process`` and ``ratio gate/in-process``; the last
lines are the gate's p99 and the worker ratio at the highest concurrency.

    .venv/bin/python benchmarks/gate.py --model ViT-B-32 --device cpu --uploads 48
    .venv/bin/python benchmarks/gate.py --model ViT-L-14 --device cuda --concurrency 1,4,16,64 \\
        --uploads 1024 --batch 256 --client-procs 4
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # after ROOT: `classifier` stays the package
import worker as bench_worker  # noqa: E402  (benchmarks/worker.py: the worker, its clients)

SECRET = "benchmark-gate-secret-0123456789"
PHOTOS = ROOT / "modbot" / "modes" / "demo_data"


def distinct_uploads(n: int) -> list[bytes]:
    """``n`` distinct files made of the demo photos (bytes after the JPEG's end)."""
    photos = [p.read_bytes() for p in sorted(PHOTOS.glob("*.jpg"))]
    if not photos:
        raise SystemExit(f"no demo photos in {PHOTOS}")
    return [photos[i % len(photos)] + f"\n{i:08d}".encode() for i in range(n)]


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from classifier import ConceptSet, Engine, ModelSpec, load_model

    bench = bench_worker._bench_classifier()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    text_cache = args.text_cache or tempfile.mkdtemp(prefix="modbot-bench-text-")
    os.environ["MODBOT_TEXT_CACHE_DIR"] = text_cache
    warmup = max(args.warmup, max(concurrencies))
    pool_of_files = distinct_uploads(warmup + 3 * args.uploads * args.rounds * len(concurrencies))
    loaded = load_model(
        ModelSpec(name=args.model, pretrained=None, device=args.device, allow_random_weights=True)
    )
    engine = Engine(
        loaded,
        ConceptSet.builtin(),
        max_batch=args.batch,
        max_wait_ms=args.max_wait_ms,
        text_cache_dir=text_cache,
    )
    print(f"machine: {bench.machine(torch)}")
    print(
        f"model: {loaded.identity} on {loaded.device} "
        f"({str(loaded.dtype).removeprefix('torch.')}), "
        f"torch {torch.__version__}; engine batch {args.batch}, wait {args.max_wait_ms:g} ms "
        "(in-process and worker alike)"
    )
    sizes = [len(d) for d in pool_of_files[: len(list(PHOTOS.glob("*.jpg")))]]
    print(
        f"uploads: the {len(sizes)} demo photos ({min(sizes) // 1024}-{max(sizes) // 1024} KiB), "
        f"each upload a distinct file; {args.uploads} per phase, {args.rounds} alternating "
        f"rounds per concurrency; HTTP clients in {args.client_procs} process(es)"
    )
    worker, worker_url = bench_worker.start_worker(args, text_cache)
    gate, gate_url = start_gate(args, worker_url)
    pool = multiprocessing.get_context("spawn").Pool(
        args.client_procs, initializer=_client_init, initargs=(gate_url, worker_url)
    )
    files = iter(pool_of_files)

    def take(n: int) -> list[bytes]:
        return [next(files) for _ in range(n)]

    try:
        warm = take(warmup)
        bench_worker.run_inprocess(engine, warm, max(concurrencies))
        run_clients(pool, args.client_procs, "gate", warm, max(concurrencies))
        run_clients(pool, args.client_procs, "worker", warm, max(concurrencies))
        p99s, ratios = {}, {}
        for c in concurrencies:
            spent = {"gate": 0.0, "worker": 0.0, "local": 0.0}
            gate_latencies: list[float] = []
            statuses: dict[int, int] = {}
            for r in range(args.rounds):
                phases = ["gate", "worker", "local"]
                for phase in phases if r % 2 == 0 else phases[::-1]:
                    batch = take(args.uploads)
                    if phase == "local":
                        spent["local"] += bench_worker.run_inprocess(engine, batch, c)
                        continue
                    elapsed, latencies, codes = run_clients(
                        pool, args.client_procs, phase, batch, c
                    )
                    spent[phase] += elapsed
                    if phase == "gate":
                        gate_latencies += latencies
                        for code in codes:
                            statuses[code] = statuses.get(code, 0) + 1
            n = args.uploads * args.rounds
            rate = {k: n / v for k, v in spent.items()}
            q = statistics.quantiles(gate_latencies, n=100)
            p99s[c], ratios[c] = q[98], rate["worker"] / rate["local"]
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
            print(
                f"concurrency {c:3d}: gate p50 {q[49] * 1000:7.1f} ms, p99 {q[98] * 1000:7.1f} ms, "
                f"{rate['gate']:8.2f} uploads/s ({answers}) | worker {rate['worker']:8.2f} "
                f"images/s | in-process {rate['local']:8.2f} images/s | ratio worker/in-process "
                f"{ratios[c]:.2f}, gate/in-process {rate['gate'] / rate['local']:.2f}"
            )
        health = bench_worker._health(gate_url)
        print(
            f"gate: {health['requests']} requests, {health['accepted']} accepted, "
            f"{health['rejected']} rejected, {health['refused_without_verdict']} without a "
            f"verdict, {health['cache_hits']} from the cache"
        )
        top = max(concurrencies)
        print(f"gate p99 at {top} concurrent uploads: {p99s[top] * 1000:.1f} ms")
        print(f"ratio worker/in-process at {top} concurrent: {ratios[top]:.2f}")
    finally:
        pool.terminate()
        engine.close()
        for proc in (gate, worker):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


def start_gate(args, worker_url: str) -> tuple[subprocess.Popen, str]:
    tmp = Path(tempfile.mkdtemp(prefix="modbot-bench-gate-"))
    (tmp / "rules.yaml").write_text(
        f"""
classifier:
  model: {args.model}
  pretrained: null
  allow_random_weights: true
  remote: {{urls: ["{worker_url}"], concurrency: 1024, timeout: 60s}}
gate: {{budget: 29s, on_timeout: reject}}
rules:
  - name: csam at the door
    if: {{type: incoming, labels: [csam]}}
    then: {{reject: true}}
"""
    )
    env = {
        **os.environ,
        "MODBOT_GATE_SECRET": SECRET,
        "MODBOT_RULES": str(tmp / "rules.yaml"),
        "MODBOT_STATE": str(tmp / "state.sqlite3"),
        "MODBOT_CLASSIFIER_TOKEN": bench_worker.TOKEN,
    }
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modbot",
            "-q",
            "gate",
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(tmp / "port"),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not (tmp / "port").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the gate did not start")
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{int((tmp / 'port').read_text())}"


def run_clients(
    pool, procs: int, target: str, files: list[bytes], concurrency: int
) -> tuple[float, list[float], list[int]]:
    """C clients over ``procs`` processes; client i sends files i, i+C, i+2C, ..."""
    per_proc = [list(range(p, concurrency, procs)) for p in range(procs)]
    jobs = [(target, clients, concurrency, files) for clients in per_proc if clients]
    start = time.perf_counter()
    results = pool.starmap(_client_run, jobs)
    elapsed = time.perf_counter() - start
    latencies = [x for lat, _ in results for x in lat]
    codes = [x for _, c in results for x in c]
    assert len(latencies) == len(files), (len(latencies), len(files))
    return elapsed, latencies, codes


# -- in the client processes (no torch here) -------------------------------------------

_GATE: str = ""
_WORKER: str = ""


def _client_init(gate_url: str, worker_url: str) -> None:
    global _GATE, _WORKER
    _GATE, _WORKER = gate_url, worker_url


def _client_run(
    target: str, clients: list[int], concurrency: int, files: list[bytes]
) -> tuple[list[float], list[int]]:
    import httpx

    def chunked(data: bytes):
        async def stream():
            for start in range(0, len(data), 65_536):
                yield data[start : start + 65_536]

        return stream()

    async def one(http, i, latencies, codes):
        for k in range(i, len(files), concurrency):
            start = time.perf_counter()
            if target == "gate":  # as pict-rs sends: chunked, its media type, its agent
                answer = await http.post(
                    f"{_GATE}/validate/{SECRET}",
                    content=chunked(files[k]),
                    headers={"Content-Type": "image/jpeg", "User-Agent": "pict-rs v0.5.0-main"},
                )
                ok = answer.status_code in (200, 406)
            else:
                answer = await http.post(
                    f"{_WORKER}/v1/classify",
                    content=files[k],
                    headers={
                        "Authorization": f"Bearer {bench_worker.TOKEN}",
                        "Content-Type": "image/jpeg",
                    },
                )
                ok = answer.status_code == 200
            latencies.append(time.perf_counter() - start)
            codes.append(answer.status_code)
            if not ok:
                raise RuntimeError(f"{target} answered {answer.status_code}: {answer.text[:200]}")

    async def all_of_them():
        latencies: list[float] = []
        codes: list[int] = []
        limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
        async with httpx.AsyncClient(timeout=600, limits=limits) as http:
            await asyncio.gather(*(one(http, i, latencies, codes) for i in clients))
        return latencies, codes

    return asyncio.run(all_of_them())


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--uploads", type=int, default=48, help="uploads per phase (default: %(default)s)"
    )
    bench_worker.add_service_arguments(p)
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
