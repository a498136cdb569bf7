"""A DeepDanbooru weights file written in torch's legacy (pre-zip) format loads, but
the concept version `modbot report` works out without loading the model
(`describe_deepdanbooru`) mapped its tensors with mmap, which torch refuses for such a
file: with a path, report stopped ("not a DeepDanbooru weights file") while the bot
ran with it; with `auto` it would name another concept version than the engine's.
Such a file is now read whole for its description instead."""

from __future__ import annotations

import torch

from classifier.deepdanbooru import (
    WEIGHTS_FILE,
    describe_deepdanbooru,
    load_deepdanbooru,
    write_random_weights,
)

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic"]


def test_a_legacy_format_file_is_described_as_it_loads(tmp_path, monkeypatch):
    weights = write_random_weights(tmp_path / "hf" / WEIGHTS_FILE, TAGS, width=4)
    state = torch.load(str(weights), weights_only=True)
    torch.save(state, str(weights), _use_new_zipfile_serialization=False)
    loaded = load_deepdanbooru(weights, torch.device("cpu"), allow_random_weights=True)
    assert describe_deepdanbooru(weights) == loaded.fingerprint
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert describe_deepdanbooru("auto") == loaded.fingerprint
