"""On a GPU the model runs in float16. The reference (clip-interrogator, as fedi-safety
runs it) normalises each image in float32 (open_clip's ToTensor and Normalize, on the
CPU) and hands that to the float16 model under autocast, which rounds it to float16
once. The model must see those very numbers: normalising in float16 rounds 1/255, the
mean and the std each to float16 first (the std by ~2e-4 of itself), a bias on every
pixel that moves similarities against the reference's thresholds.

The model here is a stand-in that records its input; the float16 engine is built on the
CPU (torch does these float16 operations there too), so no GPU is needed."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from classifier.compat import import_open_clip
from classifier.model import LoadedModel

open_clip = import_open_clip()

from open_clip.transform import PreprocessCfg, image_transform_v2  # noqa: E402

MEAN = (0.48145466, 0.4578275, 0.40821073)  # ViT-L-14/openai's (open_clip's OPENAI_*)
STD = (0.26862954, 0.26130258, 0.27577711)


class Recorder(torch.nn.Module):
    """A model that keeps the image input it was given and answers features."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: torch.Tensor | None = None

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x.detach().clone()
        return torch.ones(x.shape[0], 8, dtype=x.dtype)


def test_a_float16_model_sees_the_references_input_rounded_once():
    rng = np.random.default_rng(5)
    regions = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    recorder = Recorder()
    loaded = LoadedModel(
        model=recorder,
        tokenizer=None,
        spec=None,  # type: ignore[arg-type]
        identity="stand-in",
        fingerprint="stand-in",
        random_weights=True,
        device=torch.device("cpu"),
        dtype=torch.float16,  # as load_model sets it on CUDA
        image_size=224,
        mean=MEAN,
        std=STD,
    )
    loaded.encode_images(torch.from_numpy(regions))
    assert recorder.seen is not None and recorder.seen.dtype == torch.float16

    # the reference: open_clip's eval transform's last two steps on the region (the
    # first region is already Resize + CenterCrop + RGB), float32, then autocast's cast
    transform = image_transform_v2(
        PreprocessCfg(size=224, mode="RGB", interpolation="bicubic", mean=MEAN, std=STD),
        is_train=False,
    )
    to_tensor, normalize = transform.transforms[-2:]
    expected = torch.stack([normalize(to_tensor(Image.fromarray(r))) for r in regions]).half()

    differ = (recorder.seen != expected).sum().item()
    assert differ == 0, f"{differ} of {expected.numel()} input values differ from the reference's"
