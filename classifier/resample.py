"""Pillow's bicubic resize, bit for bit, as tensor operations: the reference's view made
on the model's device instead of in a decode thread.

Why: the reference's ``thumbnail((512, 512))`` is most of what decoding a photo costs
(for a 1,600 px JPEG, ~25 of ~29 ms of a core here: BENCHMARKS.md), which caps what a
machine's cores can feed a GPU. Its pixels cannot be made another way (they are what
makes the reference's verdict one of ours), but Pillow's resize is integer arithmetic,
which a GPU can do exactly:

- the coefficients are computed as ``Resample.c``'s ``precompute_coeffs`` does (C
  doubles, the box as C floats, taps summed in order), then rounded to 22-bit fixed
  point as ``normalize_coeffs_8bpc`` does;
- each pass (in the order Pillow runs them) gathers each output's taps and sums the
  8-bit pixels times those integers, adds half and shifts right by 22 bits (a floor),
  then clamps to 0-255: integer arithmetic, so exact on any device and in any order.

``self_check`` compares the two on a few images at start: a Pillow that resizes
differently turns this path off instead of changing what the model sees.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import PIL

if TYPE_CHECKING:
    import torch

PRECISION_BITS = 22  # Resample.c: 32 - 8 - 2
PILLOW_MAJOR = int(PIL.__version__.split(".")[0])
BICUBIC_SUPPORT = 2.0


@dataclass(frozen=True)
class Resize:
    """One Pillow ``resize(size, BICUBIC, box)`` of an 8-bit image, without reduce()."""

    size: tuple[int, int]  # (width, height) out
    box: tuple[float, float, float, float]  # of the image in, as Pillow was given it


@dataclass(frozen=True)
class ReferenceSteps:
    """How the reference's view is made from the decoded (drafted) image: the
    thumbnail's resize, torchvision's resize (None: already the size), the crop."""

    thumbnail: Resize
    resize: Resize | None
    crop: tuple[int, int, int]  # left, top, size


def _bicubic(x: np.ndarray) -> np.ndarray:
    # Resample.c's bicubic_filter (a = -0.5), its operations in its order
    x = np.abs(x)
    near = (1.5 * x - 2.5) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * -0.5
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


@dataclass(frozen=True)
class Taps:
    """One pass: output ``i`` is ``sum(in[index[i, j]] * coeff[i, j] for j)``, the
    coefficients in Pillow's 22-bit fixed point (0 past the taps it uses)."""

    index: np.ndarray  # out x ksize, int64, within the input
    coeff: np.ndarray  # out x ksize, int32
    first: int  # the first input used
    last: int  # one past the last


@functools.lru_cache(maxsize=256)
def taps(in_size: int, in0: float, in1: float, out_size: int) -> Taps:
    """The taps of one bicubic pass over the span ``in0..in1`` of ``in_size`` pixels,
    as Resample.c's ``precompute_coeffs`` and ``normalize_coeffs_8bpc`` make them."""
    lo, hi = np.float32(in0), np.float32(in1)  # the box reaches C as floats
    scale = float(np.float32(hi - lo)) / out_size  # (double)(in1 - in0) / outSize
    filterscale = max(scale, 1.0)
    support = BICUBIC_SUPPORT * filterscale
    ksize = math.ceil(support) * 2 + 1
    center = float(lo) + (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    ss = 1.0 / filterscale
    xmin = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    xmax = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), in_size) - xmin
    tap = np.arange(ksize, dtype=np.int64)
    used = tap[None, :] < xmax[:, None]
    at = tap[None, :] + xmin[:, None]
    w = np.where(used, _bicubic(((at.astype(np.float64) - center[:, None]) + 0.5) * ss), 0.0)
    ww = np.zeros(out_size, dtype=np.float64)
    for j in range(ksize):  # in order, as the C loop adds them (not numpy's pairwise sum)
        ww = ww + w[:, j]
    k = np.where(ww[:, None] != 0.0, w / np.where(ww == 0.0, 1.0, ww)[:, None], w)
    scaled = k * float(1 << PRECISION_BITS)
    fixed = np.trunc(np.where(k < 0, scaled - 0.5, scaled + 0.5))
    index = np.minimum(at, in_size - 1)
    coeff = np.where(used, fixed, 0).astype(np.int32)
    return Taps(index, coeff, int(xmin[0]), int(xmin[-1] + xmax[-1]))


@functools.lru_cache(maxsize=512)
def _taps_on(
    device: str, in_size: int, in0: float, in1: float, out_size: int, from_first: bool = False
) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """``taps`` as tensors on ``device`` (kept: copying them for every image would cost
    the inference thread more than the pass); ``from_first``: indices counted from the
    first input used (for rows cut to those the pass reads)."""
    import torch

    t = taps(in_size, in0, in1, out_size)
    index = torch.from_numpy(t.index - t.first if from_first else t.index).to(device)
    coeff = torch.from_numpy(t.coeff).to(device)
    return index, coeff, t.first, t.last


def _pass(x: torch.Tensor, index: torch.Tensor, coeff: torch.Tensor, axis: int) -> torch.Tensor:
    """One pass along ``axis`` (0: down the rows, 1: across) of an ``H x W x C`` uint8
    tensor, in integers as Pillow computes it (its products and sums fit in 32 bits),
    gathering at most ~128 MB of taps at a time."""
    import torch

    out_size, ksize = index.shape
    per_line = ksize * x.shape[2] * 4 * (x.shape[1] if axis == 0 else out_size)
    step = max(1, (128 << 20) // per_line)
    pieces = []
    if axis == 1:  # across: rows x out x ksize x C
        for start in range(0, x.shape[0], step):
            gathered = x[start : start + step][:, index]
            pieces.append((gathered * coeff[None, :, :, None]).sum(2))
    else:  # down: out x ksize x W x C
        for start in range(0, out_size, step):
            gathered = x[index[start : start + step]]
            pieces.append((gathered * coeff[start : start + step, :, None, None]).sum(1))
    total = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
    # (ss + 2^21) >> 22 (arithmetic: a floor), then clip8
    total = torch.bitwise_right_shift(total + (1 << (PRECISION_BITS - 1)), PRECISION_BITS)
    return total.clamp_(0, 255).to(torch.uint8)


def horizontal_first(width: int, height: int, out_w: int, out_h: int) -> bool:
    """Which pass Pillow runs first. Since Pillow 13 the vertical one, when the height
    shrinks by more than twice what the width does; before, always the horizontal."""
    if PILLOW_MAJOR < 13:
        return True
    return not (height - out_h > 0 and height - out_h > (width - out_w) * 2)


def resize(pixels: torch.Tensor, step: Resize) -> torch.Tensor:
    """``H x W x C`` uint8 (any device) -> Pillow's ``resize(step.size, BICUBIC,
    step.box)`` of it (``out_h x out_w x C`` uint8), on the same device."""
    height, width = pixels.shape[0], pixels.shape[1]
    out_w, out_h = step.size
    x0, y0, x1, y1 = (float(np.float32(v)) for v in step.box)
    # Resample.c's tests, the box's right edge against the size out included
    need_horizontal = out_w != width or x0 != 0.0 or x1 != out_w
    need_vertical = out_h != height or y0 != 0.0 or y1 != out_h
    device = str(pixels.device)
    x = pixels
    if not horizontal_first(width, height, out_w, out_h):
        if need_vertical:
            index, coeff, _, _ = _taps_on(device, height, y0, y1, out_h)
            x = _pass(x, index, coeff, 0)
        if need_horizontal:
            index, coeff, _, _ = _taps_on(device, width, x0, x1, out_w)
            x = _pass(x, index, coeff, 1)
        return x
    if need_horizontal:
        index, coeff, _, _ = _taps_on(device, width, x0, x1, out_w)
        if need_vertical:  # only the rows the vertical pass reads, as Pillow does
            _, _, first, last = _taps_on(device, height, y0, y1, out_h)
            x = x[first:last]
        x = _pass(x, index, coeff, 1)
    if need_vertical:
        index, coeff, _, _ = _taps_on(device, height, y0, y1, out_h, need_horizontal)
        x = _pass(x, index, coeff, 0)
    return x


def reference_images(
    pixels: torch.Tensor, steps: ReferenceSteps
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's view (``size x size x 3`` uint8) and its 512 px thumbnail in RGB
    (what DeepDanbooru looks at), on the pixels' device, from the decoded image
    (``H x W x C`` uint8, C 1 or 3) and its ``steps``."""
    if pixels.dim() == 2:
        pixels = pixels.unsqueeze(-1)
    thumbnail = resize(pixels, steps.thumbnail)
    x = resize(thumbnail, steps.resize) if steps.resize is not None else thumbnail
    left, top, size = steps.crop
    x = x[top : top + size, left : left + size]
    if x.shape[-1] == 1:  # L -> RGB repeats the grey, as Pillow's convert does
        x, thumbnail = x.expand(size, size, 3), thumbnail.expand(-1, -1, 3)
    return x.contiguous(), thumbnail


def reference_region(pixels: torch.Tensor, steps: ReferenceSteps) -> torch.Tensor:
    """The reference's view alone (see ``reference_images``)."""
    return reference_images(pixels, steps)[0]


def as_tensor(pixels: np.ndarray) -> torch.Tensor:
    """A decoded image's array as a tensor, without a copy. Pillow hands out read-only
    arrays; nothing here writes to them, so torch's warning about that is not shown."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        return torch.from_numpy(pixels)


@functools.lru_cache(maxsize=1)
def _check_images() -> tuple[tuple[str, bytes], ...]:
    """Photo-like test images (gradients and noise) that take each path: a JPEG not
    drafted, one drafted by 2 (a fractional box), a grey PNG, an RGB PNG. Made cheaply
    (int32, fast PNG compression): a GPU engine makes them at every start."""
    import io

    from PIL import Image

    rng = np.random.default_rng(13)
    out = []
    for name, (width, height), mode, fmt in (
        ("JPEG 1601x1203", (1601, 1203), "RGB", "JPEG"),
        ("JPEG 2101x2061", (2101, 2061), "RGB", "JPEG"),
        ("grey PNG 700x1050", (700, 1050), "L", "PNG"),
        ("PNG 1000x700", (1000, 700), "RGB", "PNG"),
    ):
        yy = np.arange(height, dtype=np.int32)[:, None, None]
        xx = np.arange(width, dtype=np.int32)[None, :, None]
        base = ((xx * 3 + yy * 5) * np.array([1, 2, 3], dtype=np.int32) >> 3) & 255
        noise = rng.integers(0, 48, (height, width, 3), dtype=np.int32)
        pixels = np.minimum(base + noise, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "RGB").convert(mode)
        buffer = io.BytesIO()
        image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 1}))
        out.append((name, buffer.getvalue()))
    return tuple(out)


def self_check(device: torch.device | str, size: int = 224) -> str:
    """'' when the reference's views made on ``device`` are Pillow's, pixel for pixel,
    on a few test images; otherwise what differed."""

    from classifier.preprocess import PreprocessConfig, decode_image

    cfg = PreprocessConfig(size=size)
    for name, data in _check_images():
        expected = decode_image(data, cfg).regions[0]
        deferred = decode_image(data, cfg, defer=True).deferred
        if deferred is None:
            return f"{name}: not left to the device"
        pixels = as_tensor(deferred.pixels).to(device)
        made = reference_region(pixels, deferred.steps).cpu().numpy()
        if not np.array_equal(made, expected):
            wrong = int((made != expected).any(axis=-1).sum())
            return (
                f"{name}: {wrong} of {size * size} pixels differ from Pillow "
                f"{PIL.__version__}'s resize"
            )
    return ""
