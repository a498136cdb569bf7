"""DeepDanbooru, the second pass fedi-safety runs on images CLIP calls anime.

The model is AUTOMATIC1111's TorchDeepDanbooru port (MIT; originally Kichang Kim's
DeepDanbooru, MIT) of ``model-resnet_custom_v3``: a bottleneck ResNet over NHWC float
input in [0, 1], one sigmoid per Danbooru tag (9,176 in the published weights, ratings
included). ``DeepDanbooruNet`` is written here from that published architecture (the
layer list of horde-safety's ``deep_danbooru_model.py``, 792 lines, generated there
layer by layer): the same parameter names (``n_Conv_0`` ... ``n_Conv_178``), so the
published file loads as it is, and the same operations in the same order; the tests load
one state dict into both and compare. Its width is read from the weights, so tests use a
narrow random one through the same loading path.

As the reference runs it (horde-safety ``check_for_nsfw_anime_only``): the 512 px image
fedi-safety checks, in RGB, resized with LANCZOS to the size among 128..768 x 128..768
(steps of 128) whose pixel count is closest to the image's (first found on a tie; the
aspect ratio is not considered), scaled to [0, 1], NHWC; under CUDA autocast on a GPU.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from classifier.decision import Danbooru
from classifier.model import ModelError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model-resnet_custom_v3.pt"
WEIGHTS_URL = "https://github.com/AUTOMATIC1111/TorchDeepDanbooru/releases/download/v1/model-resnet_custom_v3.pt"
WEIGHTS_SHA256 = "3841542cda4dd037da12a565e854b3347bb2eec8fbcd95ea3941b2c68990a355"
RANDOM_WEIGHTS_KEY = "modbot.random_weights"  # in the state dict of test weights
SETTINGS = ("auto", "off")  # or a path to the weights file
# The most images the network runs on at once: its activations at 512 px are ~60 MB an
# image on a CPU (a batch of 32 took ~2.1 GB more than one image, 8 ~0.4 GB), outside
# the decode budget; the reference runs one at a time.
DANBOORU_BATCH = 8

# The published layer plan at width 64: (kind, bottleneck width, output width, stride).
# "proj": a block whose shortcut is a 1x1 conv, numbered before its main path; "after":
# the same, its shortcut numbered after (n_Conv_97..100); "id": an identity shortcut.
_PLAN = (
    [("proj", 64, 256, 1)]
    + [("id", 64, 256, 1)] * 2
    + [("proj", 128, 512, 2)]
    + [("id", 128, 512, 1)] * 7
    + [("proj", 256, 1024, 2)]
    + [("id", 256, 1024, 1)] * 19
    + [("after", 256, 1024, 2)]
    + [("id", 256, 1024, 1)] * 19
    + [("proj", 512, 2048, 2)]
    + [("id", 512, 2048, 1)] * 2
    + [("proj", 1024, 4096, 2)]
    + [("id", 1024, 4096, 1)] * 2
)


def resize_targets() -> list[tuple[int, int]]:
    """The sizes the model takes, in the reference's order (which decides ties)."""
    out = []
    for i in range(128, 769, 128):
        for j in range(128, 769, 128):
            out.append((i, j))
            if i != j:
                out.append((j, i))
    return out


TARGETS = resize_targets()


def resize_target(width: int, height: int) -> tuple[int, int]:
    """The target whose pixel count is closest to ``width x height``, first on a tie."""
    pixels = width * height
    best = TARGETS[0]
    for target in TARGETS[1:]:
        if abs(target[0] * target[1] - pixels) < abs(best[0] * best[1] - pixels):
            best = target
    return best


def model_input(source: np.ndarray) -> np.ndarray:
    """The reference's input for one image (H x W x 3 uint8 RGB): float32 H' x W' x 3."""
    image = Image.fromarray(source).convert("RGB")
    image = image.resize(resize_target(*image.size), Image.Resampling.LANCZOS)
    return np.array(image, dtype=np.float32) / 255


class DeepDanbooruError(ModelError):
    """DeepDanbooru cannot be used as configured; the message says what to do."""


def _net_class() -> type[torch.nn.Module]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class DeepDanbooruNet(nn.Module):
        """TorchDeepDanbooru's resnet_custom_v3 at ``width`` (64: the published model)."""

        def __init__(self, width: int = 64, n_tags: int = 9176) -> None:
            super().__init__()
            self.width, self.n_tags = width, n_tags
            self._blocks: list[
                tuple[int, tuple[int, ...]]
            ] = []  # (stride, indices: 3 main path convs [, shortcut conv])
            index = 0

            def conv(cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True) -> int:
                nonlocal index
                layer = nn.Conv2d(
                    int(cin),
                    int(cout),
                    kernel_size=(kernel, kernel),
                    stride=(stride, stride),
                    bias=bias,
                )
                self.add_module(f"n_Conv_{index}", layer)
                index += 1
                return index - 1

            conv(3, width, 7, 2)
            cin = width
            for kind, mid, out, stride in _PLAN:
                mid, out = mid * width // 64, out * width // 64
                if kind == "proj":
                    sc = conv(cin, out, 1, stride)
                    main = (conv(cin, mid, 1), conv(mid, mid, 3, stride), conv(mid, out, 1))
                    self._blocks.append((stride, (*main, sc)))
                elif kind == "after":
                    main = (conv(cin, mid, 1), conv(mid, mid, 3, stride), conv(mid, out, 1))
                    self._blocks.append((stride, (*main, conv(cin, out, 1, stride))))
                else:
                    self._blocks.append(
                        (1, (conv(out, mid, 1), conv(mid, mid, 3), conv(mid, out, 1)))
                    )
                cin = out
            self._head = conv(cin, n_tags, 1, bias=False)
            self._F = F

        def _conv(self, i: int) -> nn.Conv2d:
            return getattr(self, f"n_Conv_{i}")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            F = self._F
            x = x.permute(0, 3, 1, 2)
            x = F.relu(self._conv(0)(F.pad(x, [2, 3, 2, 3], value=0)))
            x = F.max_pool2d(
                F.pad(x, [0, 1, 0, 1], value=float("-inf")), kernel_size=(3, 3), stride=(2, 2)
            )
            for stride, convs in self._blocks:
                a, m, c = (self._conv(i) for i in convs[:3])
                pad = [1, 1, 1, 1] if stride == 1 else [0, 1, 0, 1]
                y = c(F.relu(m(F.pad(F.relu(a(x)), pad, value=0))))
                x = F.relu(torch.add(y, self._conv(convs[3])(x) if len(convs) == 4 else x))
            x = self._conv(self._head)(x)
            x = F.avg_pool2d(x, kernel_size=x.shape[-2:])
            return torch.sigmoid(torch.squeeze(torch.squeeze(x, 3), 2))

    return DeepDanbooruNet


def DeepDanbooruNet(width: int = 64, n_tags: int = 9176) -> torch.nn.Module:
    """A DeepDanbooru network (random weights); torch is imported on first use."""
    return _net_class()(width, n_tags)


@dataclass
class LoadedDanbooru:
    """A DeepDanbooru model ready to run, and what a verdict needs to say about it."""

    net: torch.nn.Module
    tags: list[str]
    device: torch.device
    identity: str  # "deepdanbooru/resnet_custom_v3", "deepdanbooru/random-weights", ...
    fingerprint: str  # identity + sha256 of the file: part of the concept version
    random_weights: bool
    path: Path

    def evaluate(
        self, sources: list[np.ndarray], max_batch: int = DANBOORU_BATCH
    ) -> list[Danbooru]:
        """DeepDanbooru's result for each image (H x W x 3 uint8, the 512 px image the
        reference checks), images of the same target size batched together, at most
        ``DANBOORU_BATCH`` at a time (their inputs made a batch at a time: memory)."""
        import torch

        max_batch = max(1, min(max_batch, DANBOORU_BATCH))
        results: list[Danbooru | None] = [None] * len(sources)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, source in enumerate(sources):  # model_input's target, from the size alone
            by_size.setdefault(resize_target(source.shape[1], source.shape[0]), []).append(i)
        cuda = self.device.type == "cuda"
        for indices in by_size.values():
            for start in range(0, len(indices), max_batch):
                chunk = indices[start : start + max_batch]
                inputs = np.stack([model_input(sources[i]) for i in chunk])
                pixels = torch.from_numpy(inputs).to(self.device)
                # as the reference: fp32 weights, autocast on CUDA, plain fp32 on CPU
                with torch.inference_mode(), torch.autocast("cuda", enabled=cuda):
                    out = self.net(pixels).detach().cpu().numpy()
                for row, i in zip(out, chunk):
                    results[i] = Danbooru.from_probabilities(row, self.tags)
        return results  # type: ignore[return-value]


def default_locations() -> list[Path]:
    """Where ``auto`` looks, in order: horde-safety's and fedi-safety's own place for
    the file (the Hugging Face cache folder: $HF_HOME, else $TRANSFORMERS_CACHE, else
    ~/.cache/huggingface), and the AI Horde worker's ($AIWORKER_CACHE_HOME/clip_blip)."""
    places = []
    for var in ("HF_HOME", "TRANSFORMERS_CACHE"):
        if os.environ.get(var):
            places.append(Path(os.environ[var]))
    places.append(Path.home() / ".cache" / "huggingface")
    if os.environ.get("AIWORKER_CACHE_HOME"):
        places.append(Path(os.environ["AIWORKER_CACHE_HOME"]) / "clip_blip")
    return [p / WEIGHTS_FILE for p in dict.fromkeys(places)]


def how_to_get() -> str:
    return (
        f"Download {WEIGHTS_URL} (~614 MB, sha256 {WEIGHTS_SHA256}) into $HF_HOME (or "
        f"~/.cache/huggingface), where fedi-safety keeps it too, or set classifier.deepdanbooru "
        "to its path; the Docker image has it."
    )


def find_weights(setting: str | os.PathLike) -> Path | None:
    """The weights file ``setting`` names: None for ``off``, or for ``auto`` when none of
    ``default_locations()`` has it. A path that does not exist is an error."""
    if str(setting) == "off":
        return None
    if str(setting) == "auto":
        return next((p for p in default_locations() if _is_file(p)), None)
    path = Path(setting).expanduser()
    try:
        there = path.is_file()
    except OSError as exc:  # a folder it may not look into: is_file raises, not False
        raise DeepDanbooruError(
            f"DeepDanbooru weights {path} cannot be read ({exc.strerror or exc}): give this "
            f"user access to it, or another path. {how_to_get()}"
        ) from exc
    if not there:
        raise DeepDanbooruError(f"DeepDanbooru weights {path} do not exist. {how_to_get()}")
    return path


def _is_file(path: Path) -> bool:
    """Whether ``auto`` finds the weights at ``path``; a place this user may not look
    into (a HOME or HF_HOME kept from another user) is passed over, saying so, as a
    place without the file is, rather than stopping modbot."""
    try:
        return path.is_file()
    except OSError as exc:
        log.warning("DeepDanbooru: cannot look for %s (%s); passed over", path, exc.strerror or exc)
        return False


def load_deepdanbooru(
    setting: str | os.PathLike[str], device: torch.device, allow_random_weights: bool = False
) -> LoadedDanbooru | None:
    """The model ``setting`` names on ``device``, or None (``off``, or ``auto`` without
    a usable file: the caller says the anime pass is off). Raises ``DeepDanbooruError``
    (``auto``: only for test weights where they are not allowed)."""
    path = find_weights(setting)
    if path is None:
        if str(setting) == "auto":
            log.warning(
                "DeepDanbooru weights not found (%s): the anime second pass is OFF; images CLIP calls "
                "anime get CLIP's verdict only (each verdict says deepdanbooru: off). %s",
                ", ".join(map(str, default_locations())),
                how_to_get(),
            )
        else:
            log.info("DeepDanbooru is off (classifier.deepdanbooru: off)")
        return None
    import torch

    try:
        state, tags, random_weights, width, n_tags = _read_weights(path, mmap=False)
        net = DeepDanbooruNet(width, n_tags)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:  # a tensor of another shape, one missing or extra
            raise _not_weights(path, exc) from exc
        digest = _sha256(path)
    except DeepDanbooruError as exc:
        if str(setting) != "auto":
            raise
        _passed_over(exc)
        return None
    if random_weights and not allow_random_weights:
        raise DeepDanbooruError(
            f"{path} holds random DeepDanbooru weights (tests only); give the real ones. {how_to_get()}"
        )
    identity = _identity(path, digest, random_weights)
    if random_weights:
        log.warning(
            "RANDOM WEIGHTS: DeepDanbooru %s has random weights; its tags mean nothing", path
        )
    elif digest != WEIGHTS_SHA256:
        log.warning(
            "DeepDanbooru weights %s are not the published %s (sha256 differs): not the reference's model",
            path,
            WEIGHTS_FILE,
        )
    net.eval().to(device)
    return LoadedDanbooru(
        net, tags, torch.device(device), identity, f"{identity}@{digest}", random_weights, path
    )


def _passed_over(exc: DeepDanbooruError) -> None:
    """``auto`` found a file it cannot use (a download cut short, another file under the
    name, one this user may not read): as without the file, the anime pass is off and
    modbot goes on, saying so; a path given stops it instead."""
    log.warning(
        "DeepDanbooru: the weights classifier.deepdanbooru: auto found cannot be used: %s "
        "The anime second pass is OFF; images CLIP calls anime get CLIP's verdict only "
        "(each verdict says deepdanbooru: off). Replace the file, or set "
        "classifier.deepdanbooru: off to mean it.",
        exc,
    )


def _not_weights(path: Path, exc: BaseException) -> DeepDanbooruError:
    return DeepDanbooruError(
        f"{path} is not a DeepDanbooru weights file ({type(exc).__name__}: {exc}). {how_to_get()}"
    )


def _read_weights(
    path: Path, *, mmap: bool
) -> tuple[dict[str, torch.Tensor], list[str], bool, int, int]:
    """A weights file's state dict (its tensors mapped, not read, with ``mmap``), its
    tags, whether it holds test weights, the network's width and its number of tags.
    ``DeepDanbooruError`` for a file that cannot be read or is not such a file."""
    import torch

    try:
        # torch maps only its zip format: a file in its legacy format is read whole
        mmap = mmap and zipfile.is_zipfile(path)
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)
        tags = list(state.pop("tags"))
        random_weights = bool(state.pop(RANDOM_WEIGHTS_KEY, False))
        width, n_tags = state["n_Conv_0.weight"].shape[0], state["n_Conv_178.weight"].shape[0]
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        AttributeError,
        TypeError,
        EOFError,
        pickle.UnpicklingError,
    ) as exc:
        raise _not_weights(path, exc) from exc
    if len(tags) != n_tags:
        raise DeepDanbooruError(f"{path}: {len(tags)} tags for {n_tags} outputs")
    return state, tags, random_weights, int(width), int(n_tags)


def describe_deepdanbooru(setting: str | os.PathLike[str]) -> str | None:
    """The ``fingerprint`` ``load_deepdanbooru(setting, ...)`` would give its model, or
    None when the anime pass is off (``auto``: also with a file it cannot use, as the
    load passes it over): found without building the network (the published file is
    known by its SHA-256; another one's tensors are mapped, not read, and their shapes
    checked against the network's). Raises ``DeepDanbooruError``."""
    path = find_weights(setting)
    if path is None:
        return None
    try:
        digest = _sha256(path)
        random_weights = False
        if digest != WEIGHTS_SHA256:
            state, _, random_weights, width, n_tags = _read_weights(path, mmap=True)
            _check_shapes(path, state, width, n_tags)
    except DeepDanbooruError:
        if str(setting) != "auto":
            raise
        return None
    return f"{_identity(path, digest, random_weights)}@{digest}"


def _check_shapes(path: Path, state: dict[str, torch.Tensor], width: int, n_tags: int) -> None:
    """What ``load_state_dict`` would refuse: a tensor missing, extra or of another
    shape. The network is made on the meta device: no memory for its weights."""
    import torch

    with torch.device("meta"):
        wanted = {k: tuple(v.shape) for k, v in DeepDanbooruNet(width, n_tags).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != wanted:
        odd = sorted(set(found) ^ set(wanted)) or sorted(k for k in wanted if found[k] != wanted[k])
        raise _not_weights(path, ValueError(f"its tensors are not the network's: {odd[:3]}"))


def _identity(path: Path, digest: str, random_weights: bool) -> str:
    if random_weights:
        return "deepdanbooru/random-weights"
    if digest == WEIGHTS_SHA256:
        return "deepdanbooru/resnet_custom_v3"
    return f"deepdanbooru/{path.name}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
    except OSError as exc:  # read before: a file this user may not read, a disk error
        raise DeepDanbooruError(
            f"DeepDanbooru weights {path} cannot be read ({exc.strerror or exc}): give this "
            f"user access to it, or another path. {how_to_get()}"
        ) from exc
    return digest.hexdigest()


def write_random_weights(
    path: str | os.PathLike, tags: list[str], width: int = 4, seed: int = 0
) -> Path:
    """Random weights for tests and the demo, in the published file's format (a torch
    state dict with its ``tags``), marked as random."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DeepDanbooruNet(width, len(tags))
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**state, "tags": list(tags), RANDOM_WEIGHTS_KEY: True}, str(path))
    return path


def download_weights(dest_dir: str | os.PathLike | None = None, timeout: float = 60.0) -> Path:
    """Fetch the published weights into ``dest_dir`` (default: the first of
    ``default_locations()``), checking the sha256. For the Docker build."""
    dest = Path(dest_dir) / WEIGHTS_FILE if dest_dir else default_locations()[0]
    if dest.is_file() and _sha256(dest) == WEIGHTS_SHA256:
        return dest
    if any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "MODBOT_OFFLINE")
    ):
        raise DeepDanbooruError(
            f"offline (HF_HUB_OFFLINE): cannot download {WEIGHTS_URL}. {how_to_get()}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(WEIGHTS_URL, timeout=timeout) as response,
            open(part, "wb") as f,
        ):
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                f.write(block)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DeepDanbooruError(f"cannot download {WEIGHTS_URL}: {exc}. {how_to_get()}") from exc
    if digest.hexdigest() != WEIGHTS_SHA256:
        part.unlink(missing_ok=True)
        raise DeepDanbooruError(
            f"{WEIGHTS_URL} has sha256 {digest.hexdigest()}, expected {WEIGHTS_SHA256}"
        )
    os.replace(part, dest)
    return dest
