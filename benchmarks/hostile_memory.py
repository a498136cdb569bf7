"""Hostile-input memory benchmark: peak RSS of `modbot run --once` over image bombs
against the same run over ordinary photos, side by side.

    .venv/bin/python benchmarks/hostile_memory.py                  # both runs, default budget
    .venv/bin/python benchmarks/hostile_memory.py --decode-memory 2GB
    .venv/bin/python benchmarks/hostile_memory.py --threads 16     # also: 16 decode threads at once
    .venv/bin/python benchmarks/hostile_memory.py --calibrate      # also: each format's cost vs its estimate
    .venv/bin/python benchmarks/hostile_memory.py --tree /path/to/other/checkout   # run that code

Each run is the real entry point (`python -m modbot run --once --dry-run`) in a child
process against a fake Lemmy in this one; its peak RSS is the child's own high-water mark
after exec (`VmHWM` of /proc/<pid>/status, read while it runs: `child_peak`). The ordinary corpus: the five photos of tests/data as they are, scaled to
12-megapixel JPEGs and to 1920x1080 PNGs, an animated GIF and a WebP. The hostile run
has all of that plus the bombs of issue 8: a multi-page TIFF whose later pages are
13000x13000, a GIF whose second frame is 12000x12000, a 16-bit PNG, a float TIFF, an
RGBA PNG and a 34-byte lossless WebP at the 64-megapixel cap, four 25-megapixel RGBA
PNGs (~700 MB each to decode: they fit the default budget one at a time), and a comment
of 100 links to a 20 MB file. Target: hostile peak <= ordinary peak + decode_memory.

`--threads N`: an Engine with N decode threads (as on an N-core GPU host) is handed N of
the 25-megapixel RGBA PNGs at once, in a fresh process; its peak RSS above the loaded
model is compared with the budget (without it, N such decodes would hold N x ~700 MB).

`--calibrate`: for each kind of image (JPEG baseline/progressive/CMYK, PNG RGB/RGBA/LA/
P/16-bit, TIFF float/RGBA16, GIF, APNG, WebP, BMP, AVIF, MPO, ...) at 4000x4000, and
strips of as many pixels (1 x 16,000,000: Pillow's pointer per row), the measured peak
(Linux VmHWM, reset before each) of the classifier's decode and of the perceptual
hashes' (PDQ, pHash), the largest, next to the estimate `classifier.budget` holds for
it: the estimate must be the larger.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


# ---------------------------------------------------------------------- corpora


def encode(image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def ordinary_files() -> dict[str, bytes]:
    from PIL import Image

    files: dict[str, bytes] = {}
    photos = sorted((ROOT / "tests" / "data").glob("*.jpg"))
    for path in photos:
        data = path.read_bytes()
        files[f"{path.stem}.jpg"] = data
        image = Image.open(io.BytesIO(data)).convert("RGB")
        files[f"{path.stem}-12mp.jpg"] = encode(image.resize((4000, 3000)), "JPEG", quality=90)
        files[f"{path.stem}-1080p.png"] = encode(image.resize((1920, 1080)), "PNG")
    first = Image.open(photos[0]).convert("RGB")
    frames = [first.resize((480, 270)).rotate(i * 36) for i in range(10)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    files["animation.gif"] = out.getvalue()
    files["photo.webp"] = encode(first.resize((2000, 2000)), "WEBP", quality=80)
    return files


def hostile_files() -> dict[str, bytes]:
    from fakelemmy import hostile

    files = {f"{name}.{name.split('_')[0]}": make() for name, make in hostile.IMAGE_BOMBS.items()}
    big = hostile.png_rgba(5000, 5000)
    for i in range(4):  # the same pixels, four files (a byte after the end: four hashes)
        files[f"rgba-25mp-{i}.png"] = big + bytes(i + 1)
    return files


# ---------------------------------------------------------------------- one run


def child_peak(child: subprocess.Popen, every: float = 0.02) -> tuple[int, int]:
    """Wait for `child`; its exit code and its own peak RSS in bytes: its high-water mark
    after exec (`VmHWM`), read every `every` seconds while it runs (the mark only grows,
    so the last read is its peak but for what the last `every` seconds added). Not
    `wait4`'s `ru_maxrss`: Linux carries the parent's high-water mark into a child
    started by vfork (as subprocess starts it) across its exec, so that figure is at
    least this process's own peak, fake Lemmy and corpora included (the same fix as
    tests/test_image_memory.py's, e0e91d1)."""
    status, peak = Path(f"/proc/{child.pid}/status"), 0
    while True:
        try:
            found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.M)
        except OSError:
            found = None  # reaped already
        if found:  # none once it has exited (a zombie has no memory left)
            peak = max(peak, int(found.group(1)) * 1024)
        if child.poll() is not None:
            return child.returncode, peak
        time.sleep(every)


def write_rules(directory: Path, remote: str, checkpoint: Path, decode_memory: str | None) -> Path:
    memory = f", decode_memory: {decode_memory}" if decode_memory else ""
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true{memory}}}
fetch: {{allow_hosts: ["{remote.split("//", 1)[1]}"]}}
rules:
  - name: unreadable
    if: {{unreadable: true}}
    then: {{report: "could not read: {{{{unreadable}}}}"}}
""")
    return path


def run_once(
    corpus: dict[str, bytes], links: bool, tree: Path, checkpoint: Path, decode_memory: str | None
) -> dict:
    """A fake instance with one post per file (and the comment of 100 links), then
    `python -m modbot run --once --dry-run` from `tree`; the child's peak RSS."""
    from fakelemmy import FakeLemmy, hostile
    from fakelemmy.scenarios import standard_cast

    with (
        FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy,
        tempfile.TemporaryDirectory(prefix="modbot-hostile-") as tmp,
    ):
        tmp = Path(tmp)
        cast = standard_cast(lemmy)
        for name, data in corpus.items():
            lemmy.add_post(cast.pics, cast.alice, name=name, url=lemmy.add_remote_file(name, data))
        if links:
            big = lemmy.add_remote_file("big.jpg", hostile.large_file(20 * MB))
            post = lemmy.add_post(cast.pics, cast.bob, name="links")
            lemmy.add_comment(post, cast.bob, content=hostile.many_links(big, 100))
        env = {
            **os.environ,
            "LEMMY_URL": lemmy.url,
            "LEMMY_USERNAME": "modbot",
            "LEMMY_PASSWORD": "pw",
            "MODBOT_STATE": str(tmp / "state.sqlite3"),
            "MODBOT_RULES": str(write_rules(tmp, lemmy.remote_url, checkpoint, decode_memory)),
            "PYTHONPATH": str(tree),
        }
        started = time.perf_counter()
        with open(tmp / "out", "w") as out, open(tmp / "err", "w") as err:
            child = subprocess.Popen(
                [sys.executable, "-m", "modbot", "run", "--once", "--dry-run"],
                cwd=tree,
                env=env,
                stdout=out,
                stderr=err,
            )
            code, peak = child_peak(child)
        seconds = time.perf_counter() - started
        stdout, stderr = (tmp / "out").read_text(), (tmp / "err").read_text()
        if code != 0:
            raise SystemExit(f"modbot exited {code}:\n{stderr[-3000:]}")
        unreadable = _unreadable(tmp / "state.sqlite3")
    return {
        "peak_rss_mb": peak / MB,
        "seconds": round(seconds, 1),
        "summary": stdout.strip().splitlines()[0],
        "unreadable": unreadable,
    }


def _unreadable(state: Path) -> dict[str, str]:
    import sqlite3

    db = sqlite3.connect(state)
    try:
        rows = db.execute("SELECT record FROM decisions").fetchall()
    finally:
        db.close()
    out = {}
    for (text,) in rows:
        record = json.loads(text)
        if record.get("unreadable"):
            out[record["image"]["url"].rsplit("/", 1)[-1]] = record["unreadable"]
    return out


# ---------------------------------------------------------------------- many threads


THREADS_CHILD = r"""
import json, sys, threading
from classifier.engine import Engine
from classifier.model import load_model
from classifier.tiny import tiny_spec
from fakelemmy import hostile

checkpoint, threads, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
big = hostile.png_rgba(5000, 5000)
images = [big + bytes(i + 1) for i in range(threads)]
with Engine(load_model(tiny_spec(checkpoint)), decode_workers=threads, max_batch=8,
            decode_memory=budget) as engine:
    engine.classify_many([hostile.jpeg()])  # warm: model, text embeddings, threads
    open("/proc/self/clear_refs", "w").write("5")
    before = status("VmRSS:")
    verdicts = engine.classify_many(images)
    peak = status("VmHWM:")
    print(json.dumps({"peak_above_mb": (peak - before) / 1e6, "decoded": sum(
        v.unreadable is None for v in verdicts), "largest_mb": engine.decode_budget.largest / 1e6,
        "waits": engine.decode_budget.waits, "budget_peak_mb": engine.decode_budget.peak / 1e6}))
"""


def many_threads(threads: int, checkpoint: Path, budget: int, tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", THREADS_CHILD, str(checkpoint), str(threads), str(budget)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- calibration


CALIBRATE_CHILD = r"""
import io, json, sys
import numpy as np
from PIL import Image
from classifier.budget import estimate
from classifier.preprocess import PreprocessConfig, decode
from fakelemmy import hostile as h

W = H = 4000
case = sys.argv[1]
def enc(im, fmt, **kw):
    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()
def noise(mode, w=W, hgt=H):
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 255, (hgt // 8, w // 8, 3), dtype=np.uint8)).resize((w, hgt))
    return base.convert(mode) if mode != "RGB" else base
exif = Image.Exif(); exif[0x0112] = 6
make = {
    "jpeg": lambda: enc(noise("RGB"), "JPEG"),
    "jpeg progressive": lambda: enc(noise("RGB"), "JPEG", progressive=True),
    "jpeg progressive 4:4:4": lambda: enc(noise("RGB"), "JPEG", progressive=True, subsampling=0),
    "jpeg cmyk": lambda: enc(noise("CMYK"), "JPEG"),
    "jpeg exif-rotated": lambda: enc(noise("RGB"), "JPEG", exif=exif),
    "png rgb": lambda: enc(noise("RGB"), "PNG", compress_level=1),
    "png rgb exif-rotated": lambda: enc(noise("RGB"), "PNG", exif=exif, compress_level=1),
    "png rgba": lambda: h.png_rgba(W, H),
    "png la": lambda: enc(noise("LA"), "PNG", compress_level=1),
    "png palette+transparency": lambda: enc(noise("P"), "PNG", transparency=0, compress_level=1),
    "png grey": lambda: enc(noise("L"), "PNG", compress_level=1),
    "png 16-bit": lambda: h.png_16bit(W, H),
    "apng rgba 2 frames": lambda: enc(noise("RGBA"), "PNG", save_all=True,
                                      append_images=[noise("RGBA")], compress_level=1),
    "tiff float": lambda: h.tiff_float(W, H),
    "tiff rgba 16-bit": lambda: h._tiff([(W, H, 16, 4, 1)]),
    "tiff grey": lambda: h._tiff([(W, H, 8, 1, 1)]),
    "tiff raw rgb": lambda: enc(noise("RGB"), "TIFF"),
    "gif": lambda: enc(noise("P"), "GIF"),
    "gif growing canvas": lambda: h.gif_huge_second_frame(size=W, first=64),
    "webp lossless rgba": lambda: h.webp_lossless_uniform(W, H),
    "webp lossy": lambda: enc(noise("RGB"), "WEBP", quality=80),
    "bmp": lambda: enc(noise("RGB"), "BMP"),
    "avif": lambda: enc(noise("RGB"), "AVIF", quality=50, speed=10),
    "mpo": lambda: enc(noise("RGB", 500, 500), "MPO", save_all=True, append_images=[noise("RGB")]),
    # strips of the same pixel count: Pillow's pointer per row (8 bytes) in every copy
    "png grey strip 1x16M": lambda: enc(Image.new("L", (1, W * H), 7), "PNG"),
    "png palette strip 1x16M": lambda: enc(Image.new("P", (1, W * H), 3), "PNG", transparency=0),
    "png rgba strip 1x16M": lambda: enc(Image.new("RGBA", (1, W * H), (1, 2, 3, 4)), "PNG"),
    "png rgb strip 16Mx1 exif-rotated": lambda: enc(Image.new("RGB", (W * H, 1)), "PNG", exif=exif),
    "tiff float strip 1x16M": lambda: enc(Image.new("F", (1, W * H), 0.5), "TIFF",
                                          compression="tiff_deflate"),
    "bmp rgb strip 1x16M": lambda: enc(Image.new("RGB", (1, W * H), (1, 2, 3)), "BMP"),
}
if case == "list":
    print(json.dumps(list(make))); sys.exit()
data = make[case]()
cfg = PreprocessConfig(max_pixels=10**9)
cost = estimate(data, cfg)
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
def peak(work):  # the high-water mark of one call, above what the process held before it
    open("/proc/self/clear_refs", "w").write("5")
    before = status("VmRSS:")
    try:
        work()
    except Exception:  # a format the hashes do not read (MPO): what it took to say so
        pass
    return status("VmHWM:") - before
# the classifier's decode, and the perceptual hashes' second decode (held in the budget
# by the same estimate: modbot.classify.decoded_hashes)
from modbot.hashes import perceptual_hash
from modbot.pdq import pdq_hash
measured = max(peak(lambda: decode(data, cfg)), peak(lambda: pdq_hash(data)),
               peak(lambda: perceptual_hash(data)))
print(json.dumps({"measured": measured / (W * H), "estimate": cost / (W * H)}))
"""


def calibrate(tree: Path) -> list[tuple[str, float, float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}

    def child(case: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", CALIBRATE_CHILD, case],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        return done.stdout.strip().splitlines()[-1]

    rows = []
    for case in json.loads(child("list")):
        result = json.loads(child(case))
        rows.append((case, result["measured"], result["estimate"]))
    return rows


# ---------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--decode-memory",
        metavar="SIZE",
        help="classifier.decode_memory for both runs (default: not set, the default 1GB)",
    )
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="the checkout whose modbot runs (default: this one)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="also hand N costly images to an Engine with N decode threads",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="also measure each format's decode against its estimate",
    )
    parser.add_argument("--skip-runs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    import logging

    from classifier.tiny import write_random_checkpoint
    from modbot.config.units import parse_size

    logging.basicConfig(level=logging.WARNING)
    budget = parse_size(args.decode_memory) if args.decode_memory else 1_000_000_000
    cores = len(os.sched_getaffinity(0))
    print(
        f"machine: {platform.processor() or platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}; modbot from {args.tree}"
    )
    with tempfile.TemporaryDirectory(prefix="modbot-hostile-") as tmp:
        checkpoint = write_random_checkpoint(Path(tmp) / "tiny.safetensors")
        if not args.skip_runs:
            ordinary = ordinary_files()
            hostile = {**ordinary, **hostile_files()}
            print(
                f"corpora: ordinary {len(ordinary)} images "
                f"({sum(map(len, ordinary.values())) / 1e6:.1f} MB); hostile: the same plus "
                f"{len(hostile) - len(ordinary)} image bombs and a comment of 100 links to a "
                "20 MB file"
            )
            base = run_once(ordinary, False, args.tree, checkpoint, args.decode_memory)
            bad = run_once(hostile, True, args.tree, checkpoint, args.decode_memory)
            target = base["peak_rss_mb"] + budget / MB
            print(
                f"decode budget: {budget / 1e6:.0f} MB "
                f"({'classifier.decode_memory: ' + args.decode_memory if args.decode_memory else 'default'})"
            )
            print(f"ordinary run: peak RSS {base['peak_rss_mb']:7.0f} MiB in {base['seconds']} s")
            print(f"    {base['summary']}")
            print(f"hostile run:  peak RSS {bad['peak_rss_mb']:7.0f} MiB in {bad['seconds']} s")
            print(f"    {bad['summary']}")
            for name, why in sorted(bad["unreadable"].items()):
                print(f"    unreadable {name}: {why}")
            print(
                f"difference:   {bad['peak_rss_mb'] - base['peak_rss_mb']:+.0f} MiB; target: hostile <= "
                f"ordinary + decode budget = {target:.0f} MiB: "
                f"{'met' if bad['peak_rss_mb'] <= target else 'NOT MET'}"
            )
        if args.threads:
            result = many_threads(args.threads, checkpoint, budget, args.tree)
            print(
                f"engine with {args.threads} decode threads, {args.threads} RGBA 25-megapixel "
                f"PNGs at once (~{result['largest_mb']:.0f} MB each to decode): "
                f"{result['decoded']} decoded, peak RSS {result['peak_above_mb']:.0f} MB above the "
                f"loaded model (budget {budget / 1e6:.0f} MB, held at most "
                f"{result['budget_peak_mb']:.0f} MB; {result['waits']} decodes waited); "
                f"without the budget: ~{args.threads * result['largest_mb']:.0f} MB"
            )
        if args.calibrate:
            print(
                "per-format decode at 4000x4000 (strips: 16,000,000 pixels too), the classifier's or a hash's, whichever is larger: measured peak vs estimate (bytes per pixel)"
            )
            worst = 0.0
            for case, measured, estimated in calibrate(args.tree):
                worst = max(worst, measured / estimated)
                print(
                    f"    {case:34s} measured {measured:6.2f}  estimate {estimated:6.2f}"
                    f"{'' if measured <= estimated else '  UNDER-ESTIMATED'}"
                )
            print(f"    largest measured/estimate: {worst:.2f} (must be <= 1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
