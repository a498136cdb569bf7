"""DeepDanbooru, the anime second pass, against the reference's own code (horde-safety
0.3.1): its architecture, its input, its loading, and the engine's verdicts with random
weights loaded through the same path the real ones take."""

from __future__ import annotations

import json
import logging
import os
import runpy
import subprocess
import sys
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from classifier.compat import import_open_clip

import_open_clip()

from horde_safety import deep_danbooru_model as ddm  # noqa: E402
from horde_safety.nsfw_checker_class import NSFWChecker  # noqa: E402
from loguru import logger  # noqa: E402
from support.reference import (  # noqa: E402
    fedi_safety_image,
    reference_interrogator,
    shifted_concepts,
    shifted_reference,
    variants,
)

from classifier import Engine, load_model  # noqa: E402
from classifier.decision import RATING_EXPLICIT, RATING_QUESTIONABLE, RATING_SAFE, REALISTIC  # noqa: E402
from classifier.deepdanbooru import (  # noqa: E402
    WEIGHTS_FILE,
    WEIGHTS_SHA256,
    WEIGHTS_URL,
    DeepDanbooruError,
    DeepDanbooruNet,
    load_deepdanbooru,
    model_input,
    write_random_weights,
)
from classifier.preprocess import decode_image  # noqa: E402
from classifier.tiny import tiny_spec, write_random_checkpoint  # noqa: E402

logger.disable("horde_safety")
ROOT = Path(__file__).resolve().parents[1]
TAGS = [RATING_SAFE, RATING_QUESTIONABLE, RATING_EXPLICIT, "bikini", REALISTIC] + [
    f"tag_{i}" for i in range(27)
]


class _Narrow:
    """torch.nn for horde-safety's module with every channel count divided by 16 (RGB
    input and tag outputs kept): its own layer list and forward, at a test's size."""

    def __getattr__(self, name):
        return getattr(torch.nn, name)

    @staticmethod
    def Conv2d(in_channels, out_channels, **kw):
        return torch.nn.Conv2d(
            in_channels if in_channels == 3 else in_channels // 16,
            out_channels if out_channels == 9176 else out_channels // 16,
            **kw,
        )


def test_the_published_layers_have_our_names_and_shapes():
    with torch.device("meta"):
        reference, ours = ddm.DeepDanbooruModel(), DeepDanbooruNet()
    assert {k: v.shape for k, v in reference.state_dict().items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }


def test_the_same_weights_give_the_same_output_as_the_reference_network():
    torch.manual_seed(0)
    with mock.patch.object(ddm, "nn", _Narrow()):
        reference = ddm.DeepDanbooruModel().eval()
    ours = DeepDanbooruNet(width=4, n_tags=9176).eval()
    ours.load_state_dict(reference.state_dict())  # strict: every name and shape
    for shape in [(1, 128, 128, 3), (2, 128, 256, 3)]:
        x = torch.rand(shape)
        with torch.inference_mode():
            assert torch.equal(reference(x), ours(x)), shape


def test_the_input_is_the_references(photos):
    """Target size (closest pixel count, first on a tie), LANCZOS, RGB, [0, 1], NHWC:
    what check_for_nsfw_anime_only hands its model, for fedi-safety's 512 px image."""
    seen = []

    class Recorder:
        tags = TAGS

        def evaluate_tensor(self, tensor):
            seen.append(tensor.numpy())
            return np.zeros(len(TAGS), np.float32)

    checker = NSFWChecker(reference_interrogator_stub(), Recorder())
    for name, data in variants(photos).items():
        image = fedi_safety_image(data)
        seen.clear()
        checker.check_for_nsfw_anime_only(image)
        source = decode_image(data, keep_source=True).source
        assert np.array_equal(seen[0][0], model_input(source)), name


def reference_interrogator_stub():
    from clip_interrogator import Interrogator

    return Interrogator.__new__(Interrogator)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_random_weights(tmp_path_factory.mktemp("dd") / WEIGHTS_FILE, TAGS, width=4, seed=1)


@pytest.fixture(scope="module")
def spread_weights(tmp_path_factory, weights):
    """Random weights whose tag probabilities spread over 0..1 (a random network's sit
    near 0.5), in the same file format."""
    state = torch.load(weights, weights_only=True)
    state["n_Conv_178.weight"] = state["n_Conv_178.weight"] * 60
    path = tmp_path_factory.mktemp("dd-spread") / WEIGHTS_FILE
    torch.save(state, path)
    return path


def test_weights_load_through_one_path_and_say_what_they_are(
    weights, tmp_path, monkeypatch, caplog
):
    loaded = load_deepdanbooru(weights, "cpu", allow_random_weights=True)
    assert loaded.identity == "deepdanbooru/random-weights" and loaded.tags == TAGS
    with pytest.raises(DeepDanbooruError, match="random DeepDanbooru weights"):
        load_deepdanbooru(weights, "cpu")
    with pytest.raises(DeepDanbooruError, match=r"do not exist.*model-resnet_custom_v3.pt"):
        load_deepdanbooru(tmp_path / "nope.pt", "cpu")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(DeepDanbooruError, match="is not a DeepDanbooru weights file"):
        load_deepdanbooru(tmp_path / "junk.pt", "cpu")
    assert load_deepdanbooru("off", "cpu") is None
    # auto: where horde-safety and fedi-safety keep it ($HF_HOME), else off, and said so
    monkeypatch.setenv("HF_HOME", str(weights.parent))
    assert load_deepdanbooru("auto", "cpu", allow_random_weights=True).path == weights
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TRANSFORMERS_CACHE", raising=False)
    monkeypatch.delenv("AIWORKER_CACHE_HOME", raising=False)
    with caplog.at_level(logging.WARNING):
        assert load_deepdanbooru("auto", "cpu") is None
    assert "the anime second pass is OFF" in caplog.text and "sha256 3841542c" in caplog.text


def test_batched_equals_one_at_a_time(weights):
    net = load_deepdanbooru(weights, "cpu", allow_random_weights=True).net
    x = torch.rand(3, 128, 256, 3)
    with torch.inference_mode():
        batched = net(x)
        single = torch.cat([net(x[i : i + 1]) for i in range(3)])
    assert (batched - single).abs().max().item() < 1e-6


class ReferenceModel:
    """horde-safety's DeepDanbooruModel interface (tags, evaluate_tensor as it runs on a
    CPU) around our network: the reference's own code prepares the input and decides."""

    def __init__(self, loaded):
        self.tags, self.net = loaded.tags, loaded.net

    def evaluate_tensor(self, tensor):
        with torch.no_grad():
            return self.net(tensor)[0].detach().cpu().numpy()


@pytest.mark.slow
def test_engine_verdicts_equal_the_reference_with_deepdanbooru(spread_weights, photos, tmp_path):
    loaded = load_model(tiny_spec(write_random_checkpoint(tmp_path / "clip.safetensors", seed=3)))
    danbooru = load_deepdanbooru(spread_weights, "cpu", allow_random_weights=True)
    every = variants(photos)
    images = {
        name: every[name]
        for name in (
            "astronaut",
            "chelsea",
            "coffee",
            "china",
            "grace_hopper",
            "451x300",
            "1001x337-wide",
            "150x100-small",
            "rgba-png",
            "exif-rotated",
        )
    }
    ci = reference_interrogator(loaded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = np.concatenate(
            [
                ci.similarities(ci.image_to_features(fedi_safety_image(d)), ["anime", "cartoon"])
                for d in images.values()
            ]
        )
    delta = 0.2 - float(np.quantile(sims, 0.7))  # about half the images are anime for CLIP
    checker = shifted_reference(ci, delta)
    checker.deep_danbooru_model = ReferenceModel(danbooru)
    seen = {"ran": 0, "not_needed": 0, "nsfw by danbooru": 0, "realistic": 0}
    with Engine(
        loaded, shifted_concepts(delta), max_batch=1, text_cache_dir=tmp_path, danbooru=danbooru
    ) as engine:
        verdicts = dict(zip(images, engine.classify_many(list(images.values()))))
    for name, data in images.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = checker.check_for_nsfw(
                fedi_safety_image(data), prompt="", model_info={"nsfw": True, "tags": []}
            )
        v = verdicts[name]
        expected = {
            label
            for label, on in [
                ("anime", ref.is_anime),
                ("nsfw", ref.is_nsfw),
                ("underage", ref.is_underage_subject),
                ("csam", ref.is_csam),
            ]
            if on
        }
        assert expected <= set(v.labels), name
        if v.regions == 1:
            assert set(v.labels) == expected, name
        ran = (
            RATING_SAFE in ref.nsfw_concepts_identified
        )  # the reference reports its ratings when it ran
        if v.regions == 1:
            assert (v.deepdanbooru == "ran") == ran, name
        else:  # another region CLIP calls anime also runs it
            assert v.deepdanbooru == "ran" or not ran, name
        if ran:
            ratings = {
                k: ref.nsfw_concepts_identified[k]
                for k in (RATING_SAFE, RATING_QUESTIONABLE, RATING_EXPLICIT)
            }
            assert v.danbooru == {**ratings, **ref.anime_concepts_identified}, name
            assert (
                v.scores["danbooru_nsfw"] > 0 or "nsfw" not in expected or ref.matched_predicates
            ), name
            seen["nsfw by danbooru"] += v.scores["danbooru_nsfw"] > 0
            seen["realistic"] += REALISTIC in v.danbooru
            assert all(
                v.scores[f"danbooru:{t}"] == pytest.approx(p - 0.5)
                for t, p in ref.anime_concepts_identified.items()
                if not t.startswith("rating:")
            )
        seen[v.deepdanbooru] += 1
    print(seen)
    assert (
        seen["ran"] >= 3 and seen["not_needed"] >= 2 and 1 <= seen["nsfw by danbooru"] < seen["ran"]
    ), seen


def test_without_weights_anime_images_say_the_pass_is_off(photos, tmp_path):
    loaded = load_model(tiny_spec(write_random_checkpoint(tmp_path / "clip.safetensors", seed=3)))
    with Engine(
        loaded, shifted_concepts(0.4), text_cache_dir=tmp_path
    ) as engine:  # everything fires
        (v,) = engine.classify_many([photos["chelsea"]])
    assert "anime" in v.labels and v.deepdanbooru == "off" and v.danbooru == {}
    assert not any(k.startswith("danbooru") for k in v.scores)


@pytest.mark.slow
def test_classify_cli_runs_without_the_weights_and_says_so(photos, tmp_path):
    checkpoint = write_random_checkpoint(tmp_path / "clip.safetensors", seed=3)
    (tmp_path / "a.jpg").write_bytes(photos["chelsea"])
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path)}
    env.pop("AIWORKER_CACHE_HOME", None), env.pop("TRANSFORMERS_CACHE", None)
    cmd = [
        sys.executable,
        "-m",
        "modbot",
        "classify",
        str(tmp_path / "a.jpg"),
        "--json",
        "--model",
        "modbot-tiny",
        "--pretrained",
        "none",
        "--checkpoint",
        str(checkpoint),
        "--allow-random-weights",
        "--device",
        "cpu",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert (
        "DeepDanbooru weights not found" in done.stderr
        and "anime second pass is OFF" in done.stderr
    )
    (verdict,) = json.loads(done.stdout)
    assert verdict["deepdanbooru"] == "not_needed" and verdict["danbooru"] == {}
    # with weights: loaded, named in the verdict's concept version, no warning
    weights = write_random_weights(tmp_path / "dd" / WEIGHTS_FILE, TAGS, width=4)
    done = subprocess.run(
        [*cmd, "--deepdanbooru", str(weights)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0 and "not found" not in done.stderr
    assert json.loads(done.stdout)[0]["concept_version"] != verdict["concept_version"]
    done = subprocess.run(
        [*cmd, "--deepdanbooru", str(tmp_path / "missing.pt")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 2 and "missing.pt do not exist" in done.stderr


def test_the_docker_weights_step_fetches_deepdanbooru_too(tmp_path):
    # the build's weights step (deploy/fetch-weights, run before the code is copied)
    # downloads the published file, by its published sha256, into $HF_HOME ...
    script = runpy.run_path(str(ROOT / "deploy" / "fetch-weights"))
    assert (WEIGHTS_FILE, WEIGHTS_URL, WEIGHTS_SHA256) in script["DOWNLOADS"]
    # ... where auto finds it (random weights are refused there)
    write_random_weights(tmp_path / WEIGHTS_FILE, TAGS)
    check = "from classifier.deepdanbooru import load_deepdanbooru; print(load_deepdanbooru('auto', 'cpu', allow_random_weights=True).path)"
    found = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HOME": str(tmp_path)},
    )
    assert found.stdout.strip() == str(tmp_path / WEIGHTS_FILE), found.stderr
