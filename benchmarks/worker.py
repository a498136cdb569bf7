"""The HTTP worker's throughput against the engine in-process, side by side.

Same model (random weights, seeded: both load the same ones), same images, same engine
settings, at each concurrency C (C clients, each sending its next image when the last
one is answered):

(a) in-process: C asyncio tasks awaiting ``Engine.classify`` on one engine;
(b) HTTP: ``modbot worker`` started as a child process through its real command line,
    C clients (httpx, in ``--client-procs`` processes of their own, so they do not take
    the worker's interpreter) POSTing to ``/v1/classify`` with a bearer token.

The two alternate in rounds so that other load on a shared machine falls on both
alike. Prints images/s of each, CPU time per image (this process for (a); the
worker's and the clients' processes for (b)), the mean batch, the HTTP request latency
(p50/p99) and, per concurrency, ``ratio http/in-process`` (of images/s); the last line
is the ratio at the highest concurrency.

    .venv/bin/python benchmarks/worker.py --model ViT-B-32 --device cpu --images 48
    .venv/bin/python benchmarks/worker.py --model ViT-L-14 --device cuda --concurrency 1,4,16,64 \\
        --images 4096 --batch 256 --client-procs 4
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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
TOKEN = "benchmark-token-0123456789abcdef"


def _bench_classifier():
    """benchmarks/classifier.py (its image maker and machine line), loaded by path: its
    module name would clash with the ``classifier`` package."""
    spec = importlib.util.spec_from_file_location(
        "bench_classifier", ROOT / "benchmarks" / "classifier.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from classifier import ConceptSet, Engine, ModelSpec, load_model

    bench = _bench_classifier()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    text_cache = args.text_cache or tempfile.mkdtemp(prefix="modbot-bench-text-")
    os.environ["MODBOT_TEXT_CACHE_DIR"] = text_cache
    images = [d for _, _, d in bench.make_images(args.images)]
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
        f"model: {loaded.identity} on {loaded.device} ({str(loaded.dtype).removeprefix('torch.')}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads; engine batch "
        f"{args.batch}, wait {args.max_wait_ms:g} ms (in-process and worker alike)"
    )
    print(
        f"images: {len(images)} JPEGs from tests/data, mean {sum(map(len, images)) / len(images) / 1024:.0f} KiB; "
        f"{args.rounds} alternating rounds per concurrency; HTTP clients in {args.client_procs} process(es)"
    )

    worker, url = start_worker(args, text_cache)
    pool = multiprocessing.get_context("spawn").Pool(
        args.client_procs, initializer=_client_init, initargs=(url, images)
    )
    try:
        pool.map(_client_warm, range(args.client_procs))
        warm = images[: max(args.warmup, max(concurrencies))]
        run_inprocess(engine, warm, max(concurrencies))  # first-call allocations, threads
        run_http(pool, args.client_procs, len(warm), max(concurrencies))
        # CPU time (less sensitive than wall time to other load on a shared machine):
        # in-process = this process; HTTP = the worker's process plus the clients'
        clients = [p.pid for p in pool._pool]
        ratios = {}
        for c in concurrencies:
            local_s = http_s = local_cpu = http_cpu = 0.0
            local_batches = http_batches = 0
            latencies: list[float] = []
            for r in range(args.rounds):
                for phase in ("local", "http") if r % 2 == 0 else ("http", "local"):
                    if phase == "local":
                        cpu, batches = cpu_seconds([os.getpid()]), engine.stats["batches"]
                        local_s += run_inprocess(engine, images, c)
                        local_cpu += cpu_seconds([os.getpid()]) - cpu
                        local_batches += engine.stats["batches"] - batches
                    else:
                        cpu, batches = cpu_seconds([worker.pid, *clients]), _health(url)["batches"]
                        elapsed, lat = run_http(pool, args.client_procs, len(images), c)
                        http_cpu += cpu_seconds([worker.pid, *clients]) - cpu
                        http_batches += _health(url)["batches"] - batches
                        http_s += elapsed
                        latencies += lat
            n = len(images) * args.rounds
            local_rate, http_rate = n / local_s, n / http_s
            ratios[c] = http_rate / local_rate
            q = statistics.quantiles(latencies, n=100)
            print(
                f"concurrency {c:3d}: in-process {local_rate:9.2f} images/s ({local_cpu / n * 1000:5.0f} "
                f"CPU-ms/image, mean batch {n / max(1, local_batches):4.1f}) | HTTP {http_rate:9.2f} "
                f"images/s ({http_cpu / n * 1000:5.0f} CPU-ms/image, mean batch "
                f"{n / max(1, http_batches):4.1f}; latency p50 {q[49] * 1000:7.1f} ms, p99 "
                f"{q[98] * 1000:7.1f} ms) | ratio http/in-process {ratios[c]:.2f}"
            )
        health = _health(url)
        print(
            f"worker: {health['images']} images in {health['batches']} batches "
            f"(mean {health['images'] / max(1, health['batches']):.1f}), {health['unauthorized']} refused"
        )
        top = max(concurrencies)
        print(f"ratio http/in-process at {top} concurrent: {ratios[top]:.2f}")
    finally:
        pool.terminate()
        engine.close()
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def start_worker(args, text_cache: str) -> tuple[subprocess.Popen, str]:
    from classifier.service import hash_token

    tmp = Path(tempfile.mkdtemp(prefix="modbot-bench-worker-"))
    (tmp / "tokens").write_text(f"bench {hash_token(TOKEN)} unlimited\n")
    env = {
        **os.environ,
        "MODBOT_WORKER_TOKENS_FILE": str(tmp / "tokens"),
        "MODBOT_TEXT_CACHE_DIR": text_cache,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modbot",
            "-q",
            "worker",
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(tmp / "port"),
            "--model",
            args.model,
            "--pretrained",
            "none",
            "--device",
            args.device,
            "--allow-random-weights",
            "--batch-size",
            str(args.batch),
            "--max-wait-ms",
            str(args.max_wait_ms),
            "--max-pending",
            "100000",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not (tmp / "port").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not start")
        time.sleep(0.2)
    return proc, f"http://127.0.0.1:{int((tmp / 'port').read_text())}"


def run_inprocess(engine, images: list[bytes], concurrency: int) -> float:
    async def client(mine):
        for data in mine:
            await engine.classify(data)

    async def all_clients():
        await asyncio.gather(*(client(images[i::concurrency]) for i in range(concurrency)))

    start = time.perf_counter()
    asyncio.run(all_clients())
    return time.perf_counter() - start


def run_http(pool, procs: int, n: int, concurrency: int) -> tuple[float, list[float]]:
    """C clients over ``procs`` processes; client i sends images i, i+C, i+2C, ..."""
    per_proc = [list(range(p, concurrency, procs)) for p in range(procs)]
    jobs = [(clients, concurrency, n) for clients in per_proc if clients]
    start = time.perf_counter()
    results = pool.starmap(_client_run, jobs)
    elapsed = time.perf_counter() - start
    latencies = [x for lat in results for x in lat]
    assert len(latencies) == n, (len(latencies), n)
    return elapsed, latencies


# -- in the client processes (no torch here) -------------------------------------------

_URL: str = ""
_IMAGES: list[bytes] = []


def _client_init(url: str, images: list[bytes]) -> None:
    global _URL, _IMAGES
    _URL, _IMAGES = url, images


def _client_warm(_):
    import httpx

    return httpx.get(f"{_URL}/healthz").status_code


def _client_run(clients: list[int], concurrency: int, n: int) -> list[float]:
    import httpx

    async def one(http, i, latencies):
        for k in range(i, n, concurrency):
            start = time.perf_counter()
            answer = await http.post(
                f"{_URL}/v1/classify",
                content=_IMAGES[k % len(_IMAGES)],
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/jpeg"},
            )
            latencies.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise RuntimeError(f"worker answered {answer.status_code}: {answer.text[:200]}")

    async def all_of_them():
        latencies: list[float] = []
        limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
        async with httpx.AsyncClient(timeout=600, limits=limits) as http:
            await asyncio.gather(*(one(http, i, latencies) for i in clients))
        return latencies

    return asyncio.run(all_of_them())


def _health(url: str) -> dict:
    import httpx

    return httpx.get(f"{url}/healthz").json()


def add_service_arguments(p: argparse.ArgumentParser) -> None:
    """The model, engine and client options this benchmark and benchmarks/gate.py share."""
    p.add_argument(
        "--model", default="ViT-B-32", help="open_clip model, random weights (default: %(default)s)"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--concurrency",
        default="1,4,16",
        help="comma-separated client counts (default: %(default)s)",
    )
    p.add_argument("--batch", type=int, default=32, help="engine max batch (default: %(default)s)")
    p.add_argument("--max-wait-ms", type=float, default=10)
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternating rounds per concurrency (default: %(default)s)",
    )
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument(
        "--client-procs",
        type=int,
        default=1,
        help="processes the HTTP clients run in (default: %(default)s)",
    )
    p.add_argument(
        "--text-cache", default=None, help="text-embedding cache dir (default: a temporary one)"
    )


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--images", type=int, default=48, help="images per phase (default: %(default)s)")
    add_service_arguments(p)
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
