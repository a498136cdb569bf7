"""Loading a CLIP model: by name + pretrained tag from the Hugging Face cache, or from a
local checkpoint file or directory, on CUDA (fp16) or CPU (fp32).

Weights are never fetched behind the user's back with open_clip's ~50 s of retries: the
cache is checked offline first, and a download is only tried when the Hugging Face
endpoint answers a TCP connect within a few seconds. Random weights (tests, the demo,
benchmarks) need ``allow_random_weights=True`` and are marked in every verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.compat import import_open_clip

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MODEL_CONFIG_DIR = Path(__file__).parent / "model_configs"
# Written into the safetensors metadata of every checkpoint made by tiny.write_random_checkpoint.
RANDOM_WEIGHTS_KEY = "modbot.random_weights"
# Files open_clip publishes on the hub, best first (safetensors loads without pickle).
HF_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
CONNECT_TIMEOUT_S = 3.0


class ModelError(Exception):
    """The model could not be loaded; the message says what to do."""


class WeightsNotFound(ModelError):
    """The weights are neither in the local cache nor downloadable now."""


class RandomWeightsNotAllowed(ModelError):
    """Random weights were about to be used without ``allow_random_weights=True``."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load and where. ``checkpoint`` (file or directory) wins over the
    Hugging Face cache; ``pretrained`` then still names the weights (for the identity and
    the tag's settings, e.g. QuickGELU for ``openai``)."""

    name: str = "ViT-L-14"
    pretrained: str | None = "openai"
    checkpoint: str | os.PathLike | None = None
    device: str = "auto"
    allow_random_weights: bool = False
    hf_cache_dir: str | None = None


@dataclass
class LoadedModel:
    """A model ready for inference and what a verdict needs to say about it."""

    model: Any  # open_clip's CLIP (a torch.nn.Module; open_clip has no type information)
    tokenizer: Any  # open_clip's tokenizer: list[str] -> token tensor
    spec: ModelSpec
    identity: str  # shown in verdicts: "ViT-L-14/openai", "modbot-tiny/random-weights"
    fingerprint: str  # identity + which exact weights: part of the concept version
    random_weights: bool
    device: torch.device
    dtype: torch.dtype  # of the image input
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC tensor (any device) -> L2-normalised float32 features on the device."""
        import torch

        x = pixels.to(self.device, non_blocking=True).permute(
            0, 3, 1, 2
        )  # NCHW view, channels_last
        # normalised in float32 as open_clip's ToTensor and Normalize do, then rounded to
        # the model's dtype once, as the reference's autocast rounds its float32 input:
        # in float16 throughout, 1/255, the mean and the std would each be rounded first
        # (the std by ~2e-4 of itself), a bias on every pixel the reference never had
        x = x.to(torch.float32).div_(255.0)
        mean = torch.tensor(self.mean, device=self.device, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device, dtype=torch.float32).view(1, 3, 1, 1)
        x = x.sub_(mean).div_(std).to(self.dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            features = self.model.encode_image(x)
        return torch.nn.functional.normalize(features.float(), dim=-1)

    def encode_texts(self, texts: list[str], chunk: int = 128) -> torch.Tensor:
        """Prompts -> L2-normalised float32 features on the device."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), chunk):
                tokens = self.tokenizer(texts[start : start + chunk]).to(self.device)
                out.append(
                    torch.nn.functional.normalize(self.model.encode_text(tokens).float(), dim=-1)
                )
        return torch.cat(out)


_registered = False


@contextlib.contextmanager
def quiet_open_clip() -> Iterator[None]:
    """open_clip logs every loading step (and "initialized randomly") on the root logger;
    our own messages say what matters, so keep root quiet meanwhile."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def register_model_configs() -> None:
    """Make the bundled configurations (``modbot-tiny``) known to open_clip by name."""
    global _registered
    if not _registered:
        import_open_clip().add_model_config(MODEL_CONFIG_DIR)
        _registered = True


def resolve_device(device: str) -> torch.device:
    """``device`` (auto, cpu, cuda, cuda:N) as torch names it. ``ModelError`` for one this
    machine does not have, saying what to give instead: torch's own error would come
    only at the model's load, in words about the weights file."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ModelError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from exc
    if resolved.type != "cuda":
        return resolved
    if not torch.cuda.is_available():
        raise ModelError(
            f"device {device!r} asked for, but torch sees no CUDA GPU here (a CPU-only "
            "torch, or no driver): give cpu"
        )
    count = torch.cuda.device_count()
    if resolved.index is not None and resolved.index >= count:
        raise ModelError(
            f"device {device!r} asked for, but torch sees {count} CUDA GPU"
            f"{'s' * (count != 1)} here (cuda:0 to cuda:{count - 1}): give one of those, or cpu"
        )
    return resolved


def load_model(spec: ModelSpec) -> LoadedModel:
    """Build the model named by ``spec`` with its weights. Raises ``WeightsNotFound``
    (fast, with how to get them), ``RandomWeightsNotAllowed`` or ``ModelError``."""
    import torch

    open_clip = import_open_clip()
    register_model_configs()
    if spec.name not in open_clip.list_models() and not _is_local_dir_model(spec):
        raise ModelError(
            f"unknown model {spec.name!r}; open_clip knows e.g. ViT-L-14, ViT-B-32, modbot-tiny"
        )
    device = resolve_device(spec.device)
    tag_cfg = _tag_config(spec)
    checkpoint = _resolve_checkpoint(spec, tag_cfg)
    random_weights = checkpoint is None or is_random_checkpoint(checkpoint, spec)
    if random_weights and not spec.allow_random_weights:
        where = f"checkpoint {checkpoint} holds" if checkpoint else "no weights given: that means"
        raise RandomWeightsNotAllowed(
            f"{where} random weights for {spec.name}; their verdicts mean nothing. "
            "Give real weights, or pass allow_random_weights=True (--allow-random-weights) "
            "for tests and benchmarks only."
        )
    model = _build(spec, checkpoint, tag_cfg, device)
    identity, fingerprint = _identity(spec, checkpoint, random_weights, bool(tag_cfg))
    if random_weights:
        log.warning(
            "RANDOM WEIGHTS: %s is loaded with random weights; every verdict is meaningless "
            "and is marked random_weights=true. Never use this to moderate.",
            identity,
        )
    with quiet_open_clip():
        tokenizer = open_clip.get_tokenizer(name_for_tokenizer(spec))
    preprocess = getattr(model.visual, "preprocess_cfg", {}) or {}
    size = model.visual.image_size
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        spec=spec,
        identity=identity,
        fingerprint=fingerprint,
        random_weights=random_weights,
        device=device,
        dtype=torch.float16 if device.type == "cuda" else torch.float32,
        image_size=int(size[0] if isinstance(size, (tuple, list)) else size),
        mean=tuple(preprocess.get("mean", (0.48145466, 0.4578275, 0.40821073))),
        std=tuple(preprocess.get("std", (0.26862954, 0.26130258, 0.27577711))),
    )


@dataclass(frozen=True)
class ModelIdentity:
    """What a loaded model says of itself (``LoadedModel``'s fields of the same names),
    known without loading it: all a concept version needs (``describe_model``)."""

    identity: str
    fingerprint: str
    random_weights: bool
    image_size: int


def describe_model(spec: ModelSpec) -> ModelIdentity:
    """What ``load_model(spec)`` would say of its model, found without building it or
    loading its weights (the weights' SHA-256 is read where the Hugging Face cache's
    file name does not give it): ``modbot report`` needs the concept version only.
    Raises as ``locate_weights``, and ``RandomWeightsNotAllowed`` as ``load_model``."""
    checkpoint = locate_weights(spec)
    random_weights = checkpoint is None or is_random_checkpoint(checkpoint, spec)
    if random_weights and not spec.allow_random_weights:
        raise RandomWeightsNotAllowed(f"{spec.name}: random weights, not allowed")
    identity, fingerprint = _identity(spec, checkpoint, random_weights, bool(_tag_config(spec)))
    config = import_open_clip().get_model_config(name_for_tokenizer(spec))
    if not config:
        raise ModelError(f"no configuration for {spec.name}")
    size = config["vision_cfg"]["image_size"]
    return ModelIdentity(
        identity,
        fingerprint,
        random_weights,
        int(size[0] if isinstance(size, (tuple, list)) else size),
    )


def locate_weights(spec: ModelSpec) -> Path | None:
    """The weights file ``load_model(spec)`` would load, found without loading or
    downloading anything (seconds, not the minutes a load takes): None when the spec
    asks for no weights (random). ``WeightsNotFound`` (with how to get them) when they
    are not on this machine; ``ModelError`` for an unknown model or tag."""
    if not _is_local_dir_model(spec):
        open_clip = import_open_clip()
        register_model_configs()
        if spec.name not in open_clip.list_models():
            raise ModelError(
                f"unknown model {spec.name!r}; open_clip knows e.g. ViT-L-14, ViT-B-32, modbot-tiny"
            )
    tag_cfg = _tag_config(spec)
    if spec.checkpoint is not None or not spec.pretrained:
        return _resolve_checkpoint(spec, tag_cfg)
    hub = tag_cfg.get("hf_hub", "")
    if not hub:
        return _resolve_checkpoint(spec, tag_cfg)  # raises: a URL download only
    repo_id, filename = os.path.split(hub)
    candidates = (filename,) if filename else HF_WEIGHT_FILES
    cached = _hf_cached(repo_id, candidates, spec.hf_cache_dir)
    if cached is None:
        raise WeightsNotFound(
            f"{spec.name}/{spec.pretrained} weights are not in the Hugging Face cache "
            f"({spec.hf_cache_dir or os.environ.get('HF_HOME') or '~/.cache/huggingface'}); "
            "the first start downloads them when huggingface.co can be reached (HF_HUB_OFFLINE "
            f"unset). {_how_to_get(spec, repo_id, candidates[0])}"
        )
    return cached


def _is_local_dir_model(spec: ModelSpec) -> bool:
    return (
        spec.checkpoint is not None and (Path(spec.checkpoint) / "open_clip_config.json").is_file()
    )


def name_for_tokenizer(spec: ModelSpec) -> str:
    if spec.checkpoint is not None and _is_local_dir_model(spec):
        return f"local-dir:{Path(spec.checkpoint).expanduser()}"
    return spec.name


def _tag_config(spec: ModelSpec) -> dict:
    if not spec.pretrained:
        return {}
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    cfg = get_pretrained_cfg(spec.name, spec.pretrained)
    if not cfg and spec.checkpoint is None:
        tags = ", ".join(list_pretrained_tags_by_model(spec.name)) or "none"
        raise ModelError(
            f"{spec.name} has no pretrained weights called {spec.pretrained!r} "
            f"(known: {tags}); or give a checkpoint file"
        )
    return cfg or {}


def _resolve_checkpoint(spec: ModelSpec, tag_cfg: dict) -> Path | None:
    """The weights file to load, or None for a random initialisation."""
    if spec.checkpoint is not None:
        path = Path(spec.checkpoint).expanduser()
        if path.is_dir():
            found = _checkpoint_in_dir(path)
            if found is None:
                raise WeightsNotFound(
                    f"no checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) in directory {path}"
                )
            return found
        if not path.is_file():
            raise WeightsNotFound(f"checkpoint {path} does not exist")
        return path
    if not spec.pretrained:
        return None
    hub = tag_cfg.get("hf_hub", "")
    if not hub:
        raise WeightsNotFound(
            f"{spec.name}/{spec.pretrained} is only published as a URL download; download "
            f"{tag_cfg.get('url', 'its weights')} yourself and pass it as the checkpoint"
        )
    repo_id, filename = os.path.split(hub)  # "org/repo/" means the default file names
    candidates = (filename,) if filename else HF_WEIGHT_FILES
    cached = _hf_cached(repo_id, candidates, spec.hf_cache_dir)
    if cached is not None:
        return cached
    return _hf_download(spec, repo_id, candidates)


def _checkpoint_in_dir(path: Path) -> Path | None:
    preferred = [
        path / name for name in (*HF_WEIGHT_FILES, "model.safetensors", "pytorch_model.bin")
    ]
    for candidate in preferred:
        if candidate.is_file():
            return candidate
    found = sorted(p for p in path.iterdir() if p.suffix in CHECKPOINT_SUFFIXES and p.is_file())
    return found[0] if found else None


def _hf_cached(repo_id: str, filenames: Sequence[str], cache_dir: str | Path | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        hit = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(hit, str) and os.path.isfile(hit):
            return Path(hit)
    return None


def _how_to_get(spec: ModelSpec, repo_id: str, filename: str) -> str:
    return (
        f"On a machine with internet run `hf download {repo_id} {filename}` (huggingface_hub) "
        "and copy its Hugging Face cache (~/.cache/huggingface, or $HF_HOME) here; or pass the "
        "downloaded file as the checkpoint (`checkpoint: PATH` under `classifier:` in "
        f"rules.yaml; --checkpoint PATH --pretrained {spec.pretrained} for `modbot classify` "
        "and `modbot worker`)."
    )


def _hf_download(spec: ModelSpec, repo_id: str, filenames: Sequence[str]) -> Path:
    label = f"{spec.name}/{spec.pretrained}"
    how = _how_to_get(spec, repo_id, filenames[0])
    if _offline():
        raise WeightsNotFound(
            f"{label} weights are not in the Hugging Face cache and HF_HUB_OFFLINE is set. {how}"
        )
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not _reachable(endpoint):
        raise WeightsNotFound(
            f"{label} weights are not in the Hugging Face cache and {endpoint} cannot be reached. {how}"
        )
    from huggingface_hub import hf_hub_download

    log.info("downloading %s weights from %s (%s)", label, endpoint, repo_id)
    errors = []
    for filename in filenames:
        try:
            return Path(hf_hub_download(repo_id, filename, cache_dir=spec.hf_cache_dir))
        except Exception as exc:  # the hub client raises many types; report them all
            errors.append(f"{filename}: {exc}")
    raise WeightsNotFound(f"{label} weights could not be downloaded ({'; '.join(errors)}). {how}")


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _reachable(url: str) -> bool:
    """A TCP connect to the endpoint (or the HTTPS proxy) within a few seconds."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    parsed = urllib.parse.urlsplit(proxy or url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except (OSError, TypeError):
        return False


def is_random_checkpoint(path: Path, spec: ModelSpec | None = None) -> bool:
    """The checkpoint holds random test weights (``tiny.write_random_checkpoint`` marks
    them in the safetensors metadata): a model loaded from it classifies nothing.
    ``ModelError`` for a damaged file, saying what to delete where ``spec`` (the one
    it was found for) tells where it came from: the Hugging Face cache's blob too."""
    if path.suffix != ".safetensors":
        return False
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get(RANDOM_WEIGHTS_KEY) == "true"
    except Exception as exc:
        advice = (
            _damaged_advice(spec, path)
            if spec is not None
            else "It is damaged (an interrupted download or copy?): download it again "
            "(delete it first where it is in the Hugging Face cache)"
        )
        raise ModelError(
            f"checkpoint {path} is not a readable safetensors file: {exc}. {advice}"
        ) from exc


def _build(
    spec: ModelSpec, checkpoint: Path | None, tag_cfg: dict[str, Any], device: torch.device
) -> Any:
    import torch

    open_clip = import_open_clip()
    precision = "fp16" if device.type == "cuda" else "fp32"
    preprocess = {
        k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg
    }
    name = spec.name
    pretrained = str(checkpoint) if checkpoint is not None else None
    extra: dict[str, Any] = {}
    local_dir = spec.checkpoint is not None and _is_local_dir_model(spec)
    if local_dir:
        # open_clip would pick the directory's weights by its own rules (it never takes a
        # .pt, say, and then stays random without a word): load the file named here, the
        # one the identity, the fingerprint and the random-weights check were made of
        name, pretrained = f"local-dir:{Path(str(spec.checkpoint)).expanduser()}", None
        extra = {"load_weights": False, "pretrained_text": False}
    try:
        with quiet_open_clip(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # a random initialisation is reproducible (text cache, tests)
            model = open_clip.create_model(
                name,
                pretrained=pretrained,
                precision=precision,
                device=device,
                force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
                force_preprocess_cfg=preprocess or None,
                **extra,
            )
            if local_dir and checkpoint is not None:
                open_clip.load_checkpoint(model, str(checkpoint), strict=True)
    except Exception as exc:  # torch.load and open_clip raise many types on a bad file
        if checkpoint is None:
            raise ModelError(
                f"could not build {spec.name} from a random initialisation: {exc}"
            ) from exc
        raise ModelError(
            f"could not build {spec.name} from {checkpoint}: {_load_failure(exc)}. "
            f"{_damaged_advice(spec, checkpoint)}"
        ) from exc
    model.eval()
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


def _load_failure(exc: Exception) -> str:
    """Why a weights file did not load, in words (torch.load's unpickling errors advise
    loading with weights_only=False, which would run code from a file that is broken)."""
    import pickle

    if isinstance(exc, (pickle.UnpicklingError, EOFError)) or (
        isinstance(exc, KeyError) and isinstance(exc.args[0] if exc.args else None, int)
    ):
        return f"it is not a PyTorch checkpoint or it is cut short ({type(exc).__name__})"
    if isinstance(exc, StopIteration):
        return "it holds no weights"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + " ..."


def _damaged_advice(spec: ModelSpec, checkpoint: Path) -> str:
    if spec.checkpoint is None:
        # the cache's snapshot entry is a link into blobs/: deleting the link alone, the
        # hub links the same damaged blob again
        blob = os.path.realpath(checkpoint)
        also = f" and the file it links to, {blob}," if blob != str(checkpoint) else ""
        return (
            "The copy in the Hugging Face cache is damaged (an interrupted download?): "
            f"delete {checkpoint}{also} and start again to download it again"
        )
    return (
        f"The file is damaged (an interrupted download or copy?) or is not a {spec.name} "
        "checkpoint: download it again, or give the model name it was made for"
    )


def _identity(
    spec: ModelSpec, checkpoint: Path | None, random_weights: bool, tagged: bool
) -> tuple[str, str]:
    import torch

    if random_weights:
        identity = f"{spec.name}/random-weights"
        weights = (
            _file_digest(checkpoint, random_weights=True)
            if checkpoint
            else f"init-seed0-torch{torch.__version__}"
        )
    else:
        assert checkpoint is not None  # real weights are read from a file
        identity = f"{spec.name}/{spec.pretrained if tagged else checkpoint.name}"
        weights = _file_digest(checkpoint)
    if _is_local_dir_model(spec):
        # the directory's open_clip_config.json builds the model (its layers, QuickGELU,
        # mean and std): the same weights under another configuration are another model
        config = Path(str(spec.checkpoint)).expanduser() / "open_clip_config.json"
        weights += f"+config:{hashlib.sha256(config.read_bytes()).hexdigest()[:16]}"
    return identity, f"{identity}@{weights}"


def _file_digest(path: Path, random_weights: bool = False) -> str:
    """Which exact weights: the file's SHA-256, which is the blob's name in the Hugging
    Face cache, so the same file gives the same fingerprint from the cache or copied
    elsewhere. Random test weights (``tiny.write_random_checkpoint``) are hashed with
    their safetensors header's keys sorted: its metadata's key order varies between
    writes of the same tensors."""
    real = Path(os.path.realpath(path))
    if real.parent.name == "blobs" and len(real.name) == 64 and not random_weights:
        return real.name
    digest = hashlib.sha256()
    with open(real, "rb") as f:
        if random_weights and real.suffix == ".safetensors":
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
            digest.update(json.dumps(header, sort_keys=True).encode())
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
