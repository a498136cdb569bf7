"""What can feed a GPU: the model alone against the decoding that feeds it, two ways.

    python benchmarks/gpu_feed.py --device cuda --model ViT-L-14 --images 1024
    .venv/bin/python benchmarks/gpu_feed.py --device cpu --model ViT-B-32 --images 64  # a smoke run

Each figure on the same ~1,600 px distinct JPEGs (benchmarks/pipeline.py's):

- model: ``LoadedModel.encode_images`` on ready uint8 batches of ``--batch`` on the
  device (random weights; fp16 on CUDA): the most images/s the model itself takes;
- decode in threads: the engine's own decode (``decode_image``, deferred as on a GPU)
  in a thread pool of one thread per core, as the engine runs it;
- decode in processes: the same function in a process pool of one process per core
  (only a count comes back: what the decoding alone can give);
- the engine's process decoder (``classifier.decode_processes``, the engine's way on a
  GPU since 6c9d856): one thread per process, each image's cost held in a decode budget
  here and its pixels sent back, as the engine gets them: through the pipe, then in
  shared memory (the engine's way), with the engine's own process's CPU an image;
- Pillow's JPEG decode alone (full size, to an array, no checks), threads and processes;
- nvJPEG (torchvision's ``decode_jpeg`` on the GPU), on CUDA, and how its pixels
  compare with Pillow's;
- on CUDA (and with ``--engine`` on a CPU), the engine alone (``Engine.classify_many``)
  with the reference views made by the inference thread, by the decode threads
  (fba85b8), in the decoding processes on the device (``views_in_processes``), and by
  Pillow in the decoding processes (no views on the device), alternating, with the
  engine's own process's CPU an image each way.

If threads give far less than processes, the decoding holds the GIL and one process
cannot feed the model; the last line says which way feeds how much of the model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # after the packages: its classifier.py is a script

_CFG = None


def _pillow(data: bytes) -> int:
    """Pillow's JPEG decode alone, at full size, to an array: no checks, no regions."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return int(np.asarray(image.convert("RGB")).nbytes)


def _decode(data: bytes) -> int:
    from classifier.preprocess import PreprocessConfig, decode_image

    global _CFG
    if _CFG is None:
        _CFG = PreprocessConfig(size=224)
    decoded = decode_image(data, _CFG, defer=_DEFER)
    if decoded.deferred is not None:
        return int(decoded.deferred.pixels.nbytes)
    return sum(int(r.nbytes) for r in decoded.regions)


_DEFER = True


def timed_decode(pool_cls: type, workers: int, images: list[bytes], fn=_decode) -> float:
    with pool_cls(workers) as pool:
        list(pool.map(fn, images[: workers * 2]))  # warm-up: every worker started
        start = time.perf_counter()
        list(pool.map(fn, images, **({"chunksize": 8} if pool_cls is ProcessPoolExecutor else {})))
        return len(images) / (time.perf_counter() - start)


def timed_process_decoder(
    workers: int,
    images: list[bytes],
    shared_memory: bool = True,
    pin: bool = False,
    view_device: str | None = None,
    estimate_here: bool = False,
) -> tuple[float, float]:
    """The engine's way with decode processes: ``ProcessDecoder.decode`` from one thread
    per process, the budget held here and the pixels back in this process. Returns
    images/s and this process's own CPU ms an image (the estimate, the budget, sending
    and receiving: what caps one process however many decode for it). ``view_device``:
    the processes make the reference's views there and send back only them;
    ``estimate_here``: the decode's cost estimated from the headers in this process (the
    way before 2026-12-04's twenty-seventh session), not in the decoding process."""
    from classifier.budget import DecodeBudget
    from classifier.decode_processes import ProcessDecoder
    from classifier.preprocess import PreprocessConfig

    cfg, budget = PreprocessConfig(size=224), DecodeBudget()

    def one(data: bytes) -> int:
        decoded = decoder.decode(data, cfg, defer=_DEFER, budget=budget, pin=pin)
        if decoded.deferred is not None:
            return int(decoded.deferred.pixels.nbytes)
        return sum(int(r.nbytes) for r in decoded.regions)

    with (
        ProcessDecoder(
            workers,
            shared_memory=shared_memory,
            view_device=view_device,
            estimate_here=estimate_here,
        ) as decoder,
        ThreadPoolExecutor(workers) as pool,
    ):
        list(pool.map(one, images[: workers * 2]))  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        list(pool.map(one, images))
        rate = len(images) / (time.perf_counter() - start)
        return rate, 1000 * (time.process_time() - cpu) / len(images)


def timed_nvjpeg(images: list[bytes], batch: int) -> float:
    """torchvision's nvJPEG decode on the GPU, ``batch`` files a call."""
    import torch
    from torchvision.io import decode_jpeg

    tensors = [torch.frombuffer(bytearray(d), dtype=torch.uint8) for d in images]
    decode_jpeg(tensors[:batch], device="cuda")  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(0, len(tensors), batch):
        decode_jpeg(tensors[i : i + batch], device="cuda")
    torch.cuda.synchronize()
    return len(tensors) / (time.perf_counter() - start)


def nvjpeg_agreement(images: list[bytes]) -> str:
    """How nvJPEG's pixels compare with Pillow's (libjpeg-turbo, full size: what the
    reference's thumbnail starts from for these photos): whether a GPU decode could
    keep the reference's verdicts bit for bit."""
    import io

    import numpy as np
    import torch
    from PIL import Image
    from torchvision.io import decode_jpeg

    same, worst, diffs, off = 0, 0, [], []
    for data in images:
        with Image.open(io.BytesIO(data)) as image:
            pillow = np.asarray(image.convert("RGB"))
        gpu = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), device="cuda")
        ours = gpu.permute(1, 2, 0).cpu().numpy()
        if ours.shape != pillow.shape:
            return f"nvJPEG's shape {ours.shape} against Pillow's {pillow.shape}"
        d = np.abs(ours.astype(np.int16) - pillow.astype(np.int16))
        same += int(not d.any())
        worst = max(worst, int(d.max()))
        diffs.append(float(d.mean()))
        off.append(float((d > 0).mean()))
    return (
        f"nvJPEG against Pillow's pixels, {len(images)} photos: {same} identical; "
        f"largest difference {worst} levels; mean {np.mean(diffs):.3f} levels; "
        f"{100 * np.mean(off):.1f} % of values differ"
    )


# the engine's ways of making the reference's views, as ``engine_rates`` compares them
ENGINE_WAYS = {
    "by the inference thread": dict(resample_threads=0),  # the way before fba85b8
    "by the decode threads": {},  # the default since fba85b8
    "in the decoding processes": dict(views_in_processes=True),
    "by Pillow in the decoding processes": dict(resample_on_device=False),
}


def engine_rates(loaded, images: list[bytes], batch: int, workers: int, rounds: int = 2) -> str:
    """The engine alone (``Engine.classify_many``, its decoding processes on this
    device) with the reference's views made each way of ``ENGINE_WAYS``, in mirrored
    order (a drift of the machine's speed falls on all alike), ``rounds`` times each;
    with the engine's own process's CPU an image (what caps one process)."""
    import tempfile

    from classifier import ConceptSet, Engine

    # decoding processes each way; on a CPU the views made on the device as on a GPU
    base: dict = dict(decode_processes=workers)
    if loaded.device.type == "cpu":
        base["resample_on_device"] = True
    rates: dict[str, list[float]] = {way: [] for way in ENGINE_WAYS}
    cpu: dict[str, list[float]] = {way: [] for way in ENGINE_WAYS}
    order = list(ENGINE_WAYS)
    with tempfile.TemporaryDirectory() as cache:
        for r in range(rounds):
            for way in order if r % 2 == 0 else order[::-1]:
                with Engine(
                    loaded,
                    ConceptSet.builtin(),
                    max_batch=batch,
                    text_cache_dir=cache,
                    **{**base, **ENGINE_WAYS[way]},
                ) as engine:
                    engine.classify_many(images[:batch])  # warm-up: processes, kernels
                    start, used = time.perf_counter(), time.process_time()
                    engine.classify_many(images)
                    rates[way].append(len(images) / (time.perf_counter() - start))
                    cpu[way].append(1000 * (time.process_time() - used) / len(images))
    return "\n".join(
        f"the engine alone, views {way}: {max(rates[way]):,.0f} images/s; "
        f"{min(cpu[way]):.2f} CPU ms an image in its own process "
        f"(best of {rounds}, alternating)"
        for way in ENGINE_WAYS
    )


def _load(args: argparse.Namespace):
    from classifier import ModelSpec, load_model

    return load_model(ModelSpec(args.model, None, device=args.device, allow_random_weights=True))


def _model_rate(args: argparse.Namespace, loaded) -> float:
    import torch

    size = loaded.image_size
    batch = torch.randint(0, 256, (args.batch, size, size, 3), dtype=torch.uint8)
    batch = batch.to(loaded.device)
    with torch.inference_mode():
        for _ in range(3):
            loaded.encode_images(batch)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize()
        rounds = 10 if loaded.device.type == "cuda" else 2
        start = time.perf_counter()
        for _ in range(rounds):
            loaded.encode_images(batch)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize()
        return rounds * args.batch / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="ViT-L-14")
    p.add_argument("--device", default="cuda")
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--skip-model", action="store_true", help="decoding figures only")
    p.add_argument(
        "--engine",
        action="store_true",
        help="the engine alone each way of making the views on a CPU too (on cuda always)",
    )
    p.add_argument(
        "--defer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="decode as for a GPU (the reference's resize left to it); default: on cuda",
    )
    args = p.parse_args()

    from pipeline import make_images

    global _DEFER
    _DEFER = args.device == "cuda" if args.defer is None else args.defer
    t = time.perf_counter()
    images = make_images(args.images)
    print(
        f"{len(images)} JPEGs, mean {sum(map(len, images)) / len(images) / 1024:.0f} KiB, "
        f"made in {time.perf_counter() - t:.1f} s; {args.workers} workers",
        flush=True,
    )

    model_rate = float("nan")
    if not args.skip_model:
        loaded = _load(args)
        model_rate = _model_rate(args, loaded)
        print(f"model alone: {model_rate:,.0f} images/s ({args.model}, batch {args.batch})")
        if args.device == "cuda" or args.engine:
            print(engine_rates(loaded, images, args.batch, args.workers), flush=True)
    threads = timed_decode(ThreadPoolExecutor, args.workers, images)
    print(f"decode in {args.workers} threads:   {threads:,.0f} images/s", flush=True)
    procs = timed_decode(ProcessPoolExecutor, args.workers, images)
    print(f"decode in {args.workers} processes: {procs:,.0f} images/s", flush=True)
    # the pixels through the pipe, then in shared memory, then (on a GPU, the engine's
    # way) from shared memory straight into page-locked memory; and, deferred, the views
    # made in the processes on the device (views_in_processes: only they come back)
    # (each with the headers read in the decoding process; the engine's way first with
    # them read in the engine's own process, as before)
    pin = args.device == "cuda"
    ways = [(False, False, None, False), (True, pin, None, True), (True, pin, None, False)]
    ways += [(True, False, None, False)] if pin else []
    ways += [(True, False, args.device, False)] if _DEFER else []
    engine_procs = 0.0  # the engine's default way's
    for shared, pin, view_device, here in ways:
        rate, parent_ms = timed_process_decoder(
            args.workers, images, shared, pin, view_device, here
        )
        if shared and pin == (args.device == "cuda") and view_device is None and not here:
            engine_procs = rate
        where = "in shared memory" if shared else "through the pipe"
        where += ", copied into page-locked memory" if pin else ""
        where += f", the views made there on {view_device}" if view_device else ""
        where += ", the headers read in the engine's process" if here else ""
        print(
            f"the engine's process decoder, {args.workers} processes, pixels "
            f"{where}: {rate:,.0f} images/s; "
            f"{parent_ms:.2f} CPU ms an image in the engine's own process (at most "
            f"{1000 / parent_ms:,.0f} images/s from one)",
            flush=True,
        )
    for pool_cls, way in ((ThreadPoolExecutor, "threads"), (ProcessPoolExecutor, "processes")):
        rate = timed_decode(pool_cls, args.workers, images, _pillow)
        print(f"Pillow's JPEG decode alone in {args.workers} {way}: {rate:,.0f} images/s")
    if args.device == "cuda":
        try:
            print(
                f"nvJPEG (torchvision, batch {args.batch}): {timed_nvjpeg(images, args.batch):,.0f} images/s"
            )
            print(nvjpeg_agreement(images[:64]), flush=True)
        except Exception as exc:  # a torchvision without nvJPEG: said, the rest stands
            print(f"nvJPEG: not available: {exc!r}")
    print(
        f"feed/model: threads {threads / model_rate:.2f}, processes {procs / model_rate:.2f}, "
        f"process decoder {engine_procs / model_rate:.2f} (model {model_rate:,.0f} images/s; "
        f"decode threads {threads:,.0f}, processes {procs:,.0f}, process decoder "
        f"{engine_procs:,.0f}; {args.workers} workers, {args.model} on {args.device})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
