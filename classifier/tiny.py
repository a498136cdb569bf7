"""The tiny random-weights model for tests, the demo and benchmarks.

``modbot-tiny`` is a 3.6 M parameter CLIP (config in ``model_configs/modbot-tiny.json``)
with the real tokenizer and the real 224 px preprocessing. Its weights are random, so
its verdicts mean nothing. Its embedding is 512-wide like real CLIPs so that random
similarities stay near 0 (about ±0.05) and, as with a real model on ordinary photos,
nothing crosses the ~0.2 safety thresholds by chance: with a narrow embedding every demo
photo came out "csam". The weights are written to a safetensors checkpoint marked as random
and loaded back through ``load_model(ModelSpec(name=..., checkpoint=path))``, the same path
real weights take.
"""

from __future__ import annotations

import os
from pathlib import Path

from classifier.compat import import_open_clip
from classifier.model import RANDOM_WEIGHTS_KEY, ModelSpec, quiet_open_clip, register_model_configs

TINY_MODEL = "modbot-tiny"


def write_random_checkpoint(
    path: str | os.PathLike, seed: int = 0, model: str = TINY_MODEL
) -> Path:
    """Write random weights for ``model`` to ``path`` (a .safetensors file) and return it."""
    import torch
    from safetensors.torch import save_file

    register_model_configs()
    open_clip = import_open_clip()
    with quiet_open_clip(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = open_clip.create_model(model, pretrained=None)
    # safetensors refuses tensors that share memory; every CLIP weight is its own tensor.
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        state, str(path), metadata={RANDOM_WEIGHTS_KEY: "true", "model": model, "seed": str(seed)}
    )
    return path


def tiny_spec(checkpoint: str | os.PathLike, device: str = "cpu") -> ModelSpec:
    """The ModelSpec that loads a checkpoint written by ``write_random_checkpoint``."""
    return ModelSpec(
        name=TINY_MODEL,
        pretrained=None,
        checkpoint=checkpoint,
        device=device,
        allow_random_weights=True,
    )
