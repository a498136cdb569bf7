"""Throughput of the classifier engine against the reference way, side by side.

Same model, same images, both from encoded JPEG bytes to a verdict:

(a) reference: horde-safety's way. One image at a time: decode, shrink to at most
    512x512 (fedi-safety), open_clip's own preprocessing, then two image encodes (one for
    the predicates, one for the NSFW concepts), no batching.
(b) engine: ``classifier.Engine.classify_many``: decode threads (draft-mode JPEG) feeding
    batched inference, one encode per image.

Prints images/s and peak memory of each and, as the last line,
``throughput ratio engine/reference: X.XX``; and the agreement of the engine's labels
with the reference's own decision code (horde-safety 0.3.1's ``NSFWChecker``, installed
with the ``test`` extra) on the reference path's similarities. With random weights
nothing reaches the real thresholds, so both sides' thresholds are lowered alike until
a share of the prompts fire (``--shift``); ``--agreement-only`` skips the timing.

    .venv/bin/python benchmarks/classifier.py --model ViT-B-32 --random-weights --device cpu --images 96
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = ROOT / "tests" / "data"
SCALES = (1.0, 1.6, 2.5)  # uploads are often camera-sized: up to ~1600 px here


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch

    from classifier import ConceptSet, Engine, ModelSpec, load_model
    from classifier.decision import DecisionPlan
    from classifier.text_cache import text_embeddings

    spec = ModelSpec(
        name=args.model,
        pretrained=None if args.random_weights else args.pretrained,
        checkpoint=args.checkpoint,
        device=args.device,
        allow_random_weights=args.random_weights,
    )
    loaded = load_model(spec)
    concepts = ConceptSet.builtin()
    images = make_images(args.images)
    mean_px = np.mean([w * h for w, h, _ in images]) / 1e6
    mean_kb = np.mean([len(d) for _, _, d in images]) / 1024
    data = [d for _, _, d in images]
    print(f"machine: {machine(torch)}")
    print(
        f"model: {loaded.identity} on {loaded.device} ({str(loaded.dtype).removeprefix('torch.')}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads"
    )
    print(f"images: {len(data)} JPEGs from tests/data, mean {mean_px:.2f} MP, {mean_kb:.0f} KiB")

    # (b) first for the text embeddings (cached), then the reference reuses them
    engine = Engine(
        loaded,
        concepts,
        max_batch=args.batch,
        max_wait_ms=args.max_wait_ms,
        decode_workers=args.decode_workers,
        text_cache_dir=args.text_cache,
    )
    text = text_embeddings(loaded, concepts.prompts, engine.concept_version, args.text_cache)
    plan = DecisionPlan(concepts)
    reference = Reference(loaded, concepts, text, plan)

    if args.agreement_only:
        engine.close()
        reference.run(data)
        agreement(args, loaded, concepts, data, reference.last_sims)
        return 0

    reference.run(data[: args.warmup])  # warm-up: first-call allocations, thread pools
    engine.classify_many(data[: args.warmup])
    sync(torch, loaded)
    warm_batches = engine.stats["batches"]

    # The two run in alternating rounds so that load from other processes on a shared
    # machine falls on both alike.
    ref_s = eng_s = ref_cpu = eng_cpu = 0.0
    ref_mem, eng_mem = [], []
    ref_verdicts, ref_sims, eng_verdicts = [], [], []
    size = -(-len(data) // args.rounds)
    for r, chunk_start in enumerate(range(0, len(data), size)):
        chunk = data[chunk_start : chunk_start + size]
        for phase in ("ref", "eng") if r % 2 == 0 else ("eng", "ref"):
            mem = Memory(torch, loaded)
            start, cpu = time.perf_counter(), time.process_time()
            if phase == "ref":
                ref_verdicts += reference.run(chunk)
                sync(torch, loaded)
                ref_s += time.perf_counter() - start
                ref_cpu += time.process_time() - cpu
                ref_sims += reference.last_sims
                ref_mem.append(mem.peak())
            else:
                eng_verdicts += engine.classify_many(chunk)
                sync(torch, loaded)
                eng_s += time.perf_counter() - start
                eng_cpu += time.process_time() - cpu
                eng_mem.append(mem.peak())
    engine.close()
    batches = engine.stats["batches"] - warm_batches
    ref_mem, eng_mem = max(ref_mem), max(eng_mem)

    ref_rate, eng_rate = len(data) / ref_s, len(data) / eng_s
    print(
        f"reference (one at a time, two encodes, 512x512 shrink): {ref_rate:8.2f} images/s "
        f"({ref_s:.1f} s, {ref_cpu / len(data) * 1000:.0f} CPU-ms/image), peak {ref_mem[1]}"
    )
    print(
        f"engine (batch {args.batch}, wait {args.max_wait_ms:g} ms, {engine.decode_workers} decode threads): "
        f"{eng_rate:8.2f} images/s ({eng_s:.1f} s, {eng_cpu / len(data) * 1000:.0f} CPU-ms/image, "
        f"mean batch {len(data) / max(1, batches):.1f}), peak {eng_mem[1]}"
    )
    agreement(args, loaded, concepts, data, ref_sims)
    print(
        f"decode alone (what feeds a GPU): {decode_rate(data, engine.preprocess, engine.decode_workers):.0f} "
        f"images/s with {engine.decode_workers} threads"
    )
    whole, thumbnail = decode_split(data, engine.preprocess)
    print(
        f"decode, CPU ms an image in one thread: {whole:.1f}, of which {thumbnail:.1f} the "
        "reference's own 512 px thumbnail (Pillow's draft and bicubic resize)"
    )
    print(f"throughput ratio engine/reference: {eng_rate / ref_rate:.2f}")
    return 0


def agreement(args, loaded, concepts, data, ref_sims) -> None:
    """The engine's labels against the reference's decision code on the reference path's
    similarities (first region), thresholds shifted alike on both sides."""
    import json
    import shutil

    import numpy as np

    from classifier import ConceptSet, Engine
    from classifier.concepts import BUILTIN_FILE
    from classifier.decision import round4
    from classifier.preprocess import PreprocessConfig, decode
    from classifier.text_cache import default_cache_dir

    sims = np.array(ref_sims)
    shift = args.shift
    if shift is None:
        shift = 0.2 - float(np.quantile(sims, 0.88)) if loaded.random_weights else 0.0
    doc = json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))
    for family in doc["families"].values():
        for entry in family:
            entry["threshold"] = entry["threshold"] - shift
    shifted = ConceptSet.from_dict(doc)
    # same prompts, so the same text embeddings: reuse the cached file under the new version
    cache_dir = Path(args.text_cache) if args.text_cache else default_cache_dir()
    model, pre = (
        f"{loaded.fingerprint}+deepdanbooru-off",
        PreprocessConfig(size=loaded.image_size).version(),
    )
    source = cache_dir / f"{concepts.version(model, pre)}.safetensors"
    target = cache_dir / f"{shifted.version(model, pre)}.safetensors"
    if source.is_file() and not target.is_file():
        shutil.copyfile(source, target)
    with Engine(loaded, shifted, max_batch=args.batch, text_cache_dir=args.text_cache) as engine:
        verdicts = engine.classify_many(data)
        first = [engine._similarities(decode(d, engine.preprocess))[0] for d in data]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(first, sims))
    thresholds = np.array(
        [
            min(p.threshold for f in shifted.families.values() for p in f if p.text == t)
            for t in concepts.prompts
        ]
    )
    firing = [float(np.mean(round4(s) > thresholds)) for s in sims]
    try:
        reference_labels = horde_safety_labels(concepts, sims, shift)
        who = "horde-safety 0.3.1's NSFWChecker.check_for_nsfw (the reference's code)"
    except ImportError:
        plan = __import__("classifier.decision", fromlist=["DecisionPlan"]).DecisionPlan(shifted)
        reference_labels = [set(plan.decide(s).labels) for s in sims]
        who = "modbot's own decision (horde-safety is not installed: pip install -e '.[test]')"
    same = sum(set(v.labels) == r for v, r in zip(verdicts, reference_labels))
    within = sum(r <= set(v.labels) for v, r in zip(verdicts, reference_labels))
    single = [k for k, v in enumerate(verdicts) if v.regions == 1]
    same_single = sum(set(verdicts[k].labels) == reference_labels[k] for k in single)
    fired = {
        label: sum(label in r for r in reference_labels)
        for label in ("anime", "nsfw", "underage", "csam")
    }
    print(
        f"agreement with {who}, thresholds lowered by {shift:.4f} on both sides ({min(firing):.0%}-{max(firing):.0%} "
        f"of prompts fire; reference labels {fired}): same labels on {same}/{len(data)} images "
        f"({same_single}/{len(single)} of the one-region images); the reference's labels within the engine's on "
        f"{within}/{len(data)} (tiles can only add); first-region similarity vs the reference path: largest "
        f"difference {diff:.1e}"
    )


def horde_safety_labels(concepts, sims, shift) -> list[set]:
    """The reference's labels for each similarity vector, from its own NSFWChecker with
    every threshold it writes lowered by ``shift``."""
    import warnings

    from classifier.compat import import_open_clip

    import_open_clip()
    from clip_interrogator import Interrogator
    from horde_safety.nsfw_checker_class import NSFWChecker
    from loguru import logger
    from PIL import Image

    logger.disable("horde_safety")
    values: dict[str, float] = {}
    ci = Interrogator.__new__(Interrogator)  # no constructor: no BLIP, no download
    ci.image_to_features = lambda image: None
    ci.similarities = lambda image_features, text_array: [values[t] for t in text_array]
    checker = NSFWChecker(ci, None)
    checker.predicate_default_threshold -= shift
    for table in (
        checker.human_predicates_isolated,
        checker.underage_predicates,
        checker.nsfw_predicates,
        checker.anime_cartoon_predicates,
        checker.nsfw_isolated_concepts,
        checker.nsfw_concept_parts,
        checker.nsfw_synth_concepts,
        checker.nsfw_post_anime_concepts,
    ):
        for key in table:
            table[key] = table[key] - shift
    for key, modifier in checker.underage_danger_modifiers.items():
        checker.underage_danger_concepts[key] = modifier + checker.underage_predicates[key]
    checker.refresh()
    image = Image.new("RGB", (8, 8))
    out = []
    for row in sims:
        values.clear()
        values.update(zip(concepts.prompts, (float(v) for v in row)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = checker.check_for_nsfw(image, prompt="", model_info={"nsfw": True, "tags": []})
        out.append(
            {
                name
                for name, on in [
                    ("anime", r.is_anime),
                    ("nsfw", r.is_nsfw),
                    ("underage", r.is_underage_subject),
                    ("csam", r.is_csam),
                ]
                if on
            }
        )
    return out


class Reference:
    """horde-safety's NSFWChecker flow, for comparison only."""

    def __init__(self, loaded, concepts, text, plan):
        from classifier.compat import import_open_clip

        open_clip = import_open_clip()
        self.loaded, self.plan = loaded, plan
        self.transform = open_clip.image_transform(
            loaded.image_size, is_train=False, mean=loaded.mean, std=loaded.std
        )
        fam = concepts.families
        predicate_texts = {
            p.text for f in ("subject", "underage", "nsfw_predicates", "anime") for p in fam[f]
        }
        self.first = [i for i, t in enumerate(concepts.prompts) if t in predicate_texts]
        self.second = [i for i, t in enumerate(concepts.prompts) if t not in predicate_texts]
        self.text_first, self.text_second = text[self.first], text[self.second]
        self.n = len(concepts.prompts)
        self.last_sims = []

    def run(self, items):
        import numpy as np
        import torch
        from PIL import Image

        labels, self.last_sims = [], []
        for data in items:
            image = Image.open(io.BytesIO(data))
            image.thumbnail((512, 512))  # before loading: Pillow then uses draft mode too
            image = image.convert("RGB")
            x = self.transform(image).unsqueeze(0).to(self.loaded.device, self.loaded.dtype)
            sims = np.empty(self.n)
            with torch.no_grad():
                for idx, text in ((self.first, self.text_first), (self.second, self.text_second)):
                    f = torch.nn.functional.normalize(
                        self.loaded.model.encode_image(x).float(), dim=-1
                    )
                    sims[idx] = (f @ text.T)[0].cpu().numpy()
            self.last_sims.append(sims)
            labels.append(self.plan.decide(sims).labels)
        return labels


class Memory:
    """Peak resident memory of this process (and CUDA allocations) from now on."""

    def __init__(self, torch, loaded):
        self.torch, self.cuda = torch, loaded.device.type == "cuda"
        try:  # Linux: reset VmHWM, the kernel's peak-RSS counter, for this phase
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peak(self) -> tuple[float, str]:
        rss = None
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        rss = int(line.split()[1]) / 1024
        except OSError:
            pass
        if rss is None or not self.reset:
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            text = f"RSS {rss:.0f} MiB (process peak)"
        else:
            text = f"RSS {rss:.0f} MiB"
        if self.cuda:
            text += f", CUDA max allocated {self.torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
        return rss, text


def decode_rate(data, cfg, threads: int) -> float:
    """Images/s of the engine's decode + preprocessing alone, in a pool of threads."""
    from concurrent.futures import ThreadPoolExecutor

    from classifier.preprocess import decode

    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(lambda d: decode(d, cfg), data))
        return len(data) / (time.perf_counter() - start)


def decode_split(data, cfg) -> tuple[float, float]:
    """CPU ms an image of the engine's decode + preprocessing in one thread, and of the
    step inside it that the reference's view requires: ``thumbnail((512, 512))``."""
    import io

    from PIL import Image

    from classifier.preprocess import decode

    started = time.thread_time()
    for d in data:
        decode(d, cfg)
    whole = time.thread_time() - started
    started = time.thread_time()
    for d in data:
        with Image.open(io.BytesIO(d)) as image:
            image.thumbnail((512, 512))
    thumbnail = time.thread_time() - started
    return 1000 * whole / len(data), 1000 * thumbnail / len(data)


def sync(torch, loaded):
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()


def make_images(n: int) -> list[tuple[int, int, bytes]]:
    """``n`` distinct JPEGs: the test photos at several sizes, crops and qualities."""
    import numpy as np
    from PIL import Image

    photos = [Image.open(p).convert("RGB") for p in sorted(PHOTOS.glob("*.jpg"))]
    if not photos:
        raise SystemExit(f"no test photos in {PHOTOS}")
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        photo = photos[i % len(photos)]
        scale = SCALES[(i // len(photos)) % len(SCALES)]
        w, h = photo.size
        crop = rng.uniform(0.8, 1.0)
        cw, ch = int(w * crop), int(h * crop)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        image = photo.crop((x, y, x + cw, y + ch)).resize(
            (int(cw * scale), int(ch * scale)), Image.LANCZOS
        )
        if i % 2:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=int(rng.integers(80, 95)))
        out.append((image.width, image.height, buf.getvalue()))
    return out


def machine(torch) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"{cpu}, {cores} cores"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="ViT-L-14")
    p.add_argument("--pretrained", default="openai")
    p.add_argument("--checkpoint")
    p.add_argument(
        "--random-weights", action="store_true", help="random initialisation (no weights needed)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--images", type=int, default=96)
    p.add_argument("--batch", type=int, default=32, help="engine max batch")
    p.add_argument("--max-wait-ms", type=float, default=10)
    p.add_argument("--decode-workers", type=int, default=None)
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--rounds", type=int, default=4, help="alternating reference/engine rounds")
    p.add_argument(
        "--text-cache", default=None, help="text-embedding cache dir (default: the user cache)"
    )
    p.add_argument(
        "--shift",
        type=float,
        default=None,
        help="lower every threshold by this for the agreement check (default: random weights: "
        "until ~12 %% of similarities are above 0.2; real weights: 0)",
    )
    p.add_argument(
        "--agreement-only", action="store_true", help="skip the timing, print the agreement line"
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
