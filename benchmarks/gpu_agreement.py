"""On a CUDA GPU: how far modbot's fp16 similarities and labels are from the reference's.

The reference (clip-interrogator + horde-safety, as fedi-safety runs them) loads the
model in fp16 and computes image features, text features and their dot product under
``torch.cuda.amp.autocast``, so its similarities are fp16 numbers (steps of 2^-13, about
1.2e-4, near 0.2) before the 4-decimal rounding. modbot loads the same fp16 model,
encodes images in fp16 without autocast, and takes the dot product in fp32 of the
L2-normalised features. This script runs both on the same images and prints:

- the largest similarity difference (first region against the reference path), and how
  many of the 4-decimal rounded similarities differ;
- how many prompts were within 1e-4 of a threshold (where a difference can flip a label);
- labels: the reference's NSFWChecker.check_for_nsfw (on its own similarities) against
  modbot's engine, on every image, and the images where they differ.

    .venv/bin/python benchmarks/gpu_agreement.py                      # ViT-L-14/openai from the HF cache
    .venv/bin/python benchmarks/gpu_agreement.py --random-weights     # no weights: thresholds shifted

Needs CUDA and the ``test`` extra (horde-safety). Prints one ``agreement:`` line last.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import types
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _benchmark_module():
    """benchmarks/classifier.py (its name shadows the classifier package on import)."""
    spec = importlib.util.spec_from_file_location(
        "classifier_benchmark", ROOT / "benchmarks" / "classifier.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="ViT-L-14")
    p.add_argument("--pretrained", default="openai")
    p.add_argument("--random-weights", action="store_true")
    p.add_argument("--images", type=int, default=256)
    p.add_argument(
        "--device", default="cuda", help="cuda (the point of it); cpu only to try the script"
    )
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from classifier import ConceptSet, Engine, ModelSpec, load_model
    from classifier.compat import import_open_clip
    from classifier.decision import round4
    from classifier.preprocess import decode

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check is for a GPU machine")
    import_open_clip()
    from clip_interrogator import Config, Interrogator
    from horde_safety import interrogate
    from loguru import logger
    from open_clip.transform import PreprocessCfg, image_transform_v2
    from PIL import Image

    bench = _benchmark_module()
    horde_safety_labels, make_images = bench.horde_safety_labels, bench.make_images

    logger.disable("horde_safety")
    loaded = load_model(
        ModelSpec(
            name=args.model,
            pretrained=None if args.random_weights else args.pretrained,
            device=args.device,
            allow_random_weights=args.random_weights,
        )
    )
    concepts = ConceptSet.builtin()
    data = [d for _, _, d in make_images(args.images)]

    ci = Interrogator.__new__(Interrogator)  # clip-interrogator around the same fp16 model
    ci.config = Config(
        caption_model_name=None, clip_model_name="ViT-L-14/openai", device=args.device, quiet=True
    )
    ci.device, ci.dtype = args.device, loaded.dtype
    ci.caption_offloaded, ci.clip_offloaded = True, False
    ci.clip_model, ci.tokenize = loaded.model, loaded.tokenizer
    ci.clip_preprocess = image_transform_v2(
        PreprocessCfg(**loaded.model.visual.preprocess_cfg), is_train=False
    )
    ci.similarities = types.MethodType(interrogate._similarities_hijack, ci)

    theirs = []
    for d in data:
        image = Image.open(io.BytesIO(d))
        image.thumbnail((512, 512))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.append(
                np.array(ci.similarities(ci.image_to_features(image), list(concepts.prompts)))
            )
    theirs = np.array(theirs)
    shift = 0.2 - float(np.quantile(theirs, 0.88)) if args.random_weights else 0.0
    with Engine(loaded, _shifted(concepts, shift)) as engine:
        verdicts = engine.classify_many(data)
        ours = np.array([engine._similarities(decode(d, engine.preprocess))[0] for d in data])
    diff = np.abs(ours - theirs)
    rounded = round4(ours.ravel()) != round4(theirs.ravel())
    thresholds = (
        np.array(
            [
                min(p.threshold for f in concepts.families.values() for p in f if p.text == t)
                for t in concepts.prompts
            ]
        )
        - shift
    )
    close = np.abs(round4(theirs.ravel()) - np.tile(thresholds, len(data))) <= 1e-4
    reference = horde_safety_labels(concepts, theirs, shift)
    differ = [
        k
        for k, (v, r) in enumerate(zip(verdicts, reference))
        if set(v.labels) != r and v.regions == 1
    ]
    gpu = torch.cuda.get_device_name(0) if loaded.device.type == "cuda" else "no GPU"
    print(f"model: {loaded.identity} on {loaded.device} ({loaded.dtype}); {gpu}")
    print(
        f"similarity difference, first region vs the reference path: max {diff.max():.2e}, mean {diff.mean():.2e}"
    )
    print(
        f"4-decimal rounded similarities that differ: {int(rounded.sum())}/{rounded.size}; "
        f"prompts within 1e-4 of a threshold: {int(close.sum())}"
    )
    for k in differ[:10]:
        print(f"  image {k}: reference {sorted(reference[k])}, modbot {list(verdicts[k].labels)}")
    one = sum(v.regions == 1 for v in verdicts)
    print(
        f"agreement: same labels on {one - len(differ)}/{one} one-region images "
        f"(thresholds lowered by {shift:.4f}); reference's labels within modbot's on "
        f"{sum(r <= set(v.labels) for v, r in zip(verdicts, reference))}/{len(data)}"
    )
    return 0


def _shifted(concepts, shift):
    import json

    from classifier import ConceptSet
    from classifier.concepts import BUILTIN_FILE

    if not shift:
        return concepts
    doc = json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))
    for family in doc["families"].values():
        for entry in family:
            entry["threshold"] = entry["threshold"] - shift
    return ConceptSet.from_dict(doc)


if __name__ == "__main__":
    sys.exit(main())
