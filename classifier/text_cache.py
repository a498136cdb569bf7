"""Text embeddings of a concept set, computed once per concept version and kept on disk.

The file is ``<cache dir>/<concept version>.safetensors`` (``<concept
version>-float16.safetensors`` for a float16 model, on CUDA) with the prompts and the
precision in its metadata, and the SHA-256 of the embeddings' bytes: a file whose prompts,
precision or digest do not match is recomputed (a block lost in a crash reads as zeros,
without an error, and a zeroed prompt would never fire again), and a cache directory that cannot be written only costs the recomputation next time. The
same model embeds a prompt differently in float16 and float32 (by up to ~1e-4, enough to
move a 4-decimal similarity across a threshold), so a GPU engine never uses what a CPU
run computed, nor the reverse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from classifier.model import LoadedModel

log = logging.getLogger(__name__)

ENV_DIR = "MODBOT_TEXT_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$MODBOT_TEXT_CACHE_DIR``, else ``~/.cache/modbot/text-embeddings`` (XDG aware)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "modbot" / "text-embeddings"


def cache_file(
    loaded: LoadedModel, version: str, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Where the embeddings of concept ``version`` for ``loaded`` are cached. Raises
    RuntimeError when there is no cache directory (no ``$MODBOT_TEXT_CACHE_DIR``, no home)."""
    precision = str(loaded.dtype).removeprefix("torch.")
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    suffix = "" if precision == "float32" else f"-{precision}"
    return directory / f"{version}{suffix}.safetensors"


def text_embeddings(
    loaded: LoadedModel,
    prompts: tuple[str, ...],
    version: str,
    cache_dir: str | os.PathLike[str] | None = None,
) -> torch.Tensor:
    """float32 (len(prompts), dim) L2-normalised features on the model's device."""
    precision = str(loaded.dtype).removeprefix("torch.")
    try:
        path = cache_file(loaded, version, cache_dir)
    except RuntimeError as exc:  # Path.home(): HOME unset and no passwd entry
        log.warning(
            "text embeddings not cached: %s (set %s to a directory to keep them)", exc, ENV_DIR
        )
        return loaded.encode_texts(list(prompts))
    cached = _read(path, prompts, precision)
    if cached is not None:
        return cached.to(loaded.device)
    log.info("computing text embeddings for %d prompts (concept version %s)", len(prompts), version)
    embeddings = loaded.encode_texts(list(prompts))
    _write(path, embeddings, prompts, precision)
    return embeddings


def _read(path: Path, prompts: tuple[str, ...], precision: str) -> torch.Tensor | None:
    try:
        if not path.is_file():
            return None
    except OSError as exc:  # a directory it may not look into: is_file raises, not False
        log.warning("cannot read text-embedding cache %s: %s (computed now)", path, exc)
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            stored = json.loads(metadata.get("prompts", "null"))
            tensor = f.get_tensor("embeddings")
            digest = _digest(tensor)
    except Exception as exc:  # a damaged cache file is recomputed, never fatal
        log.warning("ignoring unreadable text-embedding cache %s: %s", path, exc)
        return None
    if stored != list(prompts) or tensor.shape[0] != len(prompts):
        log.warning("ignoring text-embedding cache %s: it holds other prompts", path)
        return None
    if metadata.get("precision") != precision:
        log.info("recomputing text-embedding cache %s: not computed in %s", path, precision)
        return None
    if "sha256" not in metadata:
        log.info("recomputing text-embedding cache %s: written before it held a digest", path)
        return None
    if metadata["sha256"] != digest:
        # safetensors checks the layout, not the numbers: damage inside them reads fine
        log.warning("ignoring damaged text-embedding cache %s: its contents changed", path)
        return None
    # A copy in memory of its own: read from the file, the tensor sits at the header's
    # offset, and the matrix product's last bits depend on that alignment; enough to
    # move a similarity rounded to 4 decimals, so a verdict would depend on whether
    # the cache was warm.
    return tensor.clone()


def _digest(tensor: torch.Tensor) -> str:
    """SHA-256 of the float32 values as the file stores them."""
    values = tensor.detach().float().cpu().contiguous()
    return hashlib.sha256(values.numpy().tobytes()).hexdigest()


def _write(path: Path, embeddings: torch.Tensor, prompts: tuple[str, ...], precision: str) -> None:
    from safetensors.torch import save_file

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own (concurrent writers), created as any file is, under the umask;
        # safetensors (and mkstemp) write owner-only files, which would keep the service's
        # user from reading a cache another filled (the Docker image's: at build, as root)
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        mode = stat.S_IMODE(os.stat(tmp).st_mode)
        values = embeddings.detach().float().cpu().contiguous()
        save_file(
            {"embeddings": values},
            tmp,
            metadata={
                "prompts": json.dumps(list(prompts)),
                "precision": precision,
                "sha256": _digest(values),
            },
        )
        os.chmod(tmp, mode)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())  # on disk before its name is: a crash leaves no zeros
        os.replace(tmp, path)  # atomic: concurrent engines never read half a file
    except Exception as exc:  # OSError, or safetensors' own error for a full disk
        log.warning("cannot write text-embedding cache %s: %s (recomputed next start)", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
