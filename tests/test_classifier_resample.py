"""The reference's view made on the model's device (``classifier.resample``) is Pillow's,
pixel for pixel; which images take that path; the engine's verdicts do not change."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from support.reference import encode, shifted_concepts, variants

from classifier import ConceptSet, Engine, load_model, resample
from classifier.decision import RATING_EXPLICIT, RATING_QUESTIONABLE, RATING_SAFE, REALISTIC
from classifier.deepdanbooru import WEIGHTS_FILE, load_deepdanbooru, write_random_weights
from classifier.preprocess import PreprocessConfig, decode, decode_image
from classifier.resample import (
    Resize,
    horizontal_first,
    reference_images,
    reference_region,
    self_check,
)
from classifier.tiny import tiny_spec

TAGS = [RATING_SAFE, RATING_QUESTIONABLE, RATING_EXPLICIT, "bikini", REALISTIC, "tag_0"]


def _resize_here(image: Image.Image, size, box) -> np.ndarray:
    pixels = torch.from_numpy(np.array(image))
    if pixels.dim() == 2:
        pixels = pixels.unsqueeze(-1)
    out = resample.resize(pixels, Resize(size, box)).numpy()
    return out[..., 0] if image.mode == "L" else out


def test_resize_is_pillows_bit_for_bit_on_random_sizes_boxes_and_modes():
    rng = np.random.default_rng(7)
    orders = set()
    for _ in range(160):
        width, height = (int(v) for v in rng.integers(1, 260, 2))
        out_w, out_h = (int(v) for v in rng.integers(1, 220, 2))
        mode = "RGB" if rng.random() < 0.6 else "L"
        noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        image = Image.fromarray(noise, "RGB").convert(mode)
        box = (0, 0, width, height)
        if rng.random() < 0.5:  # a drafted JPEG's box: fractional edges
            box = (0.0, 0.0, width - float(rng.random()) * 0.9, height - float(rng.random()) * 0.9)
        expected = np.asarray(image.resize((out_w, out_h), Image.Resampling.BICUBIC, box=box))
        assert np.array_equal(_resize_here(image, (out_w, out_h), box), expected), (
            width,
            height,
            out_w,
            out_h,
            box,
            mode,
        )
        orders.add(horizontal_first(width, height, out_w, out_h))
    assert orders == ({True, False} if resample.PILLOW_MAJOR >= 13 else {True})


@pytest.fixture(scope="module")
def images(photos) -> dict[str, bytes]:
    """The reference-view test photos and variants, and three large ones: made once."""
    out = variants(photos)
    astronaut = Image.open(io.BytesIO(photos["astronaut"])).convert("RGB")
    out["grey-jpeg-900x700"] = encode(astronaut.convert("L").resize((900, 700)))
    out["2101x2061-drafted"] = encode(astronaut.resize((2101, 2061)))  # box 1050.5 x 1030.5
    out["4100x3000-reduced"] = encode(astronaut.resize((4100, 3000)))  # Pillow reduces first
    return out


def test_plain_photos_are_left_to_the_device_and_come_out_as_pillows_view(images):
    cfg = PreprocessConfig()
    deferred = set()
    for name, data in images.items():
        expected = decode(data, cfg)
        got = decode_image(data, cfg, defer=True)
        if got.deferred is None:
            # the host's path, as without defer
            assert len(got.regions) == len(expected), name
            assert all(np.array_equal(a, b) for a, b in zip(got.regions, expected)), name
            continue
        deferred.add(name)
        assert got.regions == [] and len(expected) == 1, name
        made = reference_region(torch.from_numpy(np.array(got.deferred.pixels)), got.deferred.steps)
        assert made.dtype == torch.uint8 and made.shape == (224, 224, 3)
        assert np.array_equal(made.numpy(), expected[0]), name  # pixel for pixel
    # bigger than the thumbnail, one RGB or grey frame, no EXIF turn, not very wide, and
    # not so big that Pillow's resize reduces it first
    assert deferred == {
        "china",
        "coffee",
        "grace_hopper",
        "1600x1067-big",
        "grey-jpeg-900x700",
        "2101x2061-drafted",
    }


def test_the_512_px_image_deepdanbooru_sees_is_made_there_too(images):
    cfg = PreprocessConfig()
    for name in ("coffee", "1600x1067-big", "grey-jpeg-900x700"):
        data = images[name]
        host = decode_image(data, cfg, keep_source=True)
        got = decode_image(data, cfg, keep_source=True, defer=True)
        assert got.deferred is not None and got.source is None, name
        pixels = torch.from_numpy(np.array(got.deferred.pixels))
        region, thumbnail = reference_images(pixels, got.deferred.steps)
        assert np.array_equal(region.numpy(), host.regions[0]), name
        assert host.source is not None and np.array_equal(thumbnail.numpy(), host.source), name


def _forget_taps():
    resample.taps.cache_clear()
    resample._taps_on.cache_clear()


def test_the_self_check_passes_here_and_catches_a_resize_that_is_not_pillows(monkeypatch):
    assert self_check("cpu") == ""
    # a bicubic with another sharpness (a = -0.75, as OpenCV's) is close, but not Pillow's
    monkeypatch.setattr(
        resample,
        "_bicubic",
        lambda x: np.where(
            np.abs(x) < 1.0,
            (1.25 * np.abs(x) - 2.25) * np.abs(x) ** 2 + 1,
            np.where(
                np.abs(x) < 2.0, -0.75 * (((np.abs(x) - 5) * np.abs(x) + 8) * np.abs(x) - 4), 0.0
            ),
        ),
    )
    _forget_taps()
    try:
        problem = self_check("cpu")
    finally:
        _forget_taps()
    assert problem.startswith("JPEG 1601x1203: ") and "pixels differ from Pillow" in problem


def test_the_engine_gives_the_same_verdicts_with_the_views_made_on_its_device(
    images, tiny_checkpoint, tmp_path
):
    images = list(images.values())
    loaded = load_model(tiny_spec(tiny_checkpoint))
    results = {}
    for on_device in (False, True):
        with Engine(
            loaded,
            ConceptSet.builtin(),
            max_batch=4,
            text_cache_dir=tmp_path,
            resample_on_device=on_device,
        ) as engine:
            assert engine.resample_on_device is on_device
            results[on_device] = [engine.classify_many([data])[0] for data in images]
            assert engine.stats["resampled_on_device"] == (6 if on_device else 0)
            assert engine.decode_budget.in_use == 0  # the decoded images were given back
    for host, device in zip(results[False], results[True]):
        assert device.sha256 == host.sha256 and device.regions == host.regions
        assert device.scores == host.scores  # the same pixels, one image a batch: the same
        assert device.prompt_scores == host.prompt_scores


def test_deepdanbooru_sees_the_same_image_when_the_views_are_made_on_the_device(
    images, tiny_checkpoint, tmp_path
):
    images = list(images.values())
    loaded = load_model(tiny_spec(tiny_checkpoint))
    weights = write_random_weights(tmp_path / WEIGHTS_FILE, TAGS, width=4, seed=1)
    state = torch.load(weights, weights_only=True)  # probabilities spread over 0..1
    state["n_Conv_178.weight"] = state["n_Conv_178.weight"] * 60
    torch.save(state, weights)
    danbooru = load_deepdanbooru(weights, "cpu", allow_random_weights=True)
    results = {}
    for on_device in (False, True):
        with Engine(
            loaded,
            shifted_concepts(0.4),  # everything fires: CLIP calls every image anime
            text_cache_dir=tmp_path,
            danbooru=danbooru,
            resample_on_device=on_device,
        ) as engine:
            results[on_device] = engine.classify_many(images)
            assert engine.stats["resampled_on_device"] == (6 if on_device else 0)
            assert engine.stats["deepdanbooru"] == len(images)
    for host, device in zip(results[False], results[True]):
        assert host.deepdanbooru == device.deepdanbooru == "ran"
        assert device.danbooru == host.danbooru


def test_a_cpu_engine_leaves_the_views_to_the_decode_threads_by_default(tiny_checkpoint, tmp_path):
    with Engine(load_model(tiny_spec(tiny_checkpoint)), text_cache_dir=tmp_path) as engine:
        assert engine.resample_on_device is False
