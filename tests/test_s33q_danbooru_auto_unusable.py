"""`classifier.deepdanbooru: auto` (the default) with a weights file in the Hugging Face
cache that cannot be used (a download cut short, an error page saved under the name,
another network's file) stopped modbot at start: "... is not a DeepDanbooru weights
file". Without the file, `auto` says the anime pass is off and goes on; with a file it
cannot use it now does the same, naming the file and why. A path given stays a clear
error. The concept version `modbot report` works out without loading the model
(`describe_deepdanbooru`) says the pass is off too, as the engine runs it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classifier.deepdanbooru import (
    WEIGHTS_FILE,
    DeepDanbooruError,
    describe_deepdanbooru,
    load_deepdanbooru,
    write_random_weights,
)
from classifier.tiny import write_random_checkpoint

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic"]


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _error_page(path: Path) -> None:
    path.write_bytes(b"<html><body>rate limited</body></html>")


def _too_few_tags(path: Path) -> None:
    state = torch.load(str(path), weights_only=True)
    state["tags"] = state["tags"][:3]
    torch.save(state, str(path))


def _another_network(path: Path) -> None:
    state = torch.load(str(path), weights_only=True)
    state["n_Conv_5.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save(state, str(path))


SPOILT = {
    "cut-short": _cut_short,
    "error-page": _error_page,
    "too-few-tags": _too_few_tags,
    "another-network": _another_network,
}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """$HF_HOME, where auto looks first; nowhere else to look."""
    folder = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(folder))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRANSFORMERS_CACHE", raising=False)
    monkeypatch.delenv("AIWORKER_CACHE_HOME", raising=False)
    return folder


@pytest.mark.parametrize("how", sorted(SPOILT))
def test_auto_leaves_the_anime_pass_off_for_a_file_it_cannot_use(cache, how, caplog):
    weights = write_random_weights(cache / WEIGHTS_FILE, TAGS, width=4)
    SPOILT[how](weights)
    caplog.set_level(logging.WARNING)
    assert load_deepdanbooru("auto", torch.device("cpu"), allow_random_weights=True) is None
    said = caplog.text
    assert str(weights) in said and "cannot be used" in said, said
    assert "anime second pass is OFF" in said and "classifier.deepdanbooru: off" in said
    assert describe_deepdanbooru("auto") is None  # the same concept version as the engine's
    # named by its path, the same file is a clear error, at start
    with pytest.raises(DeepDanbooruError, match=r"DeepDanbooru weights file|tags for"):
        load_deepdanbooru(weights, torch.device("cpu"), allow_random_weights=True)
    with pytest.raises(DeepDanbooruError):
        describe_deepdanbooru(weights)


def test_auto_still_loads_and_describes_a_good_file(cache):
    weights = write_random_weights(cache / WEIGHTS_FILE, TAGS, width=4)
    loaded = load_deepdanbooru("auto", torch.device("cpu"), allow_random_weights=True)
    assert loaded is not None and loaded.path == weights
    assert describe_deepdanbooru("auto") == loaded.fingerprint
    # test weights where they are not allowed stay an error, as before
    with pytest.raises(DeepDanbooruError, match="random DeepDanbooru weights"):
        load_deepdanbooru("auto", torch.device("cpu"))


@pytest.mark.slow
def test_modbot_classify_goes_on_without_the_anime_pass_and_says_why(photos, tmp_path):
    checkpoint = write_random_checkpoint(tmp_path / "clip.safetensors", seed=3)
    weights = write_random_weights(tmp_path / "hf" / WEIGHTS_FILE, TAGS, width=4)
    _cut_short(weights)
    (tmp_path / "a.jpg").write_bytes(photos["chelsea"])
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path)}
    env.pop("AIWORKER_CACHE_HOME", None), env.pop("TRANSFORMERS_CACHE", None)
    env.pop("MODBOT_RULES", None)
    done = subprocess.run(
        [
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
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"{weights} is not a DeepDanbooru weights file" in done.stderr
    assert "anime second pass is OFF" in done.stderr
    (verdict,) = json.loads(done.stdout)
    assert verdict["deepdanbooru"] in ("off", "not_needed") and verdict["danbooru"] == {}
