"""The reference's view made in the decode threads (Pillow) against on the model's
device (``classifier.resample``): what each costs a decode thread, and the device.

    .venv/bin/python benchmarks/resample.py                              # CPU, 64 photos of ~1,600 px
    .venv/bin/python benchmarks/resample.py --device cuda --images 1024  # the GPU's side

The same JPEGs as ``benchmarks/pipeline.py`` (the test photos cropped, flipped and
scaled to ~1,600 px, each distinct), in alternating rounds, one thread:

- host: ``preprocess.decode``, what a decode thread does today: the JPEG decoded
  (drafted), Pillow's 512 px thumbnail, torchvision's resize to 224, the crop;
- deferred: ``preprocess.decode_image(defer=True)``, what a decode thread does when the
  view is left to the device: the JPEG decoded (drafted) and its pixels copied out;
- device: ``classifier.resample.reference_region`` on ``--device`` for the deferred
  images, from page-locked memory on a GPU (as the engine hands them over), wall time
  with the device synchronised at the end of each round.

Every view made on the device is checked to equal the host's, pixel for pixel. The
last line is ``decode thread, CPU ms an image: host X, deferred Y (R x less); the view
on D: Z ms an image (N of M images left to it, all equal to Pillow's)``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--size", type=int, default=1600, help="long side of the photos, px")
    p.add_argument("--rounds", type=int, default=5, help="alternating host/deferred rounds")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    import numpy as np
    import torch
    from pipeline import make_images

    from classifier.preprocess import PreprocessConfig, decode, decode_image
    from classifier.resample import as_tensor, reference_region, self_check

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    cfg = PreprocessConfig()
    data = make_images(args.images, args.size)
    print(
        f"images: {len(data)} JPEGs of ~{args.size} px, mean {np.mean([len(d) for d in data]) / 1024:.0f} KiB"
    )
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""))
    problem = self_check(device)
    verdict = problem or "the views are Pillow's"
    print(f"self-check on {device}: {verdict}")

    expected = [decode(d, cfg)[0] for d in data]  # warm-up too
    deferred = [decode_image(d, cfg, defer=True).deferred for d in data]
    left = [(k, x) for k, x in enumerate(deferred) if x is not None]

    def host() -> float:
        started = time.thread_time()
        for d in data:
            decode(d, cfg)
        return (time.thread_time() - started) * 1000 / len(data)

    def defer() -> float:
        started = time.thread_time()
        for d in data:
            decode_image(d, cfg, defer=True)
        return (time.thread_time() - started) * 1000 / len(data)

    pinned = [
        (k, as_tensor(x.pixels).pin_memory() if cuda else as_tensor(x.pixels), x.steps)
        for k, x in left
    ]
    equal = 0

    def on_device(check: bool = False) -> float:
        nonlocal equal
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        made = [reference_region(t.to(device, non_blocking=True), steps) for _, t, steps in pinned]
        if cuda:
            torch.cuda.synchronize()
        elapsed = (time.perf_counter() - started) * 1000 / max(1, len(pinned))
        if check:
            equal = sum(
                np.array_equal(m.cpu().numpy(), expected[k]) for m, (k, _, _) in zip(made, pinned)
            )
        return elapsed

    on_device(check=True)  # warm-up (the taps, kernels), and the pixel check
    host_ms, defer_ms, device_ms = [], [], []
    for r in range(args.rounds):
        for way in ("host", "defer") if r % 2 == 0 else ("defer", "host"):
            (host_ms if way == "host" else defer_ms).append(host() if way == "host" else defer())
        device_ms.append(on_device())
        print(
            f"round {r + 1}: decode thread CPU ms an image: host {host_ms[-1]:.1f}, deferred "
            f"{defer_ms[-1]:.1f}; the view on {device.type}: {device_ms[-1]:.2f} ms an image"
        )
    h, d, v = (statistics.median(x) for x in (host_ms, defer_ms, device_ms))
    print(
        f"medians over {args.rounds} rounds; at this CPU's speed one core decodes {1000 / h:.0f} "
        f"images/s the host's way and {1000 / d:.0f} deferred"
    )
    print(
        f"decode thread, CPU ms an image: host {h:.1f}, deferred {d:.1f} ({h / d:.1f} x less); "
        f"the view on {device.type}: {v:.2f} ms an image ({len(left)} of {len(data)} images "
        f"left to it, {'all' if equal == len(left) else f'ONLY {equal}'} equal to Pillow's)"
    )
    return 0 if equal == len(left) and not problem else 1


if __name__ == "__main__":
    raise SystemExit(main())
