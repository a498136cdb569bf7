"""The text-embedding cache holds what every verdict is scored against: a file damaged
inside its data (a crash before the blocks reached the disk leaves zeros; a flipped bit)
reads without an error, so it must be checked, or every later verdict is silently
wrong (a zeroed prompt never fires)."""

from __future__ import annotations

import logging

import pytest
import torch

from classifier import text_cache
from classifier.model import load_model
from classifier.tiny import tiny_spec

PROMPTS = ("photo of a cat", "photo of a dog", "nude", "child")


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")
    if how == "zeros":  # the last 1 KB of the embeddings, as a lost block leaves it
        data[-1024:] = bytes(1024)
    else:  # one bit of one float
        data[header + 101] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["zeros", "a flipped bit"])
def test_embeddings_damaged_on_disk_are_recomputed(loaded, tmp_path, caplog, how):
    fresh = text_cache.text_embeddings(loaded, PROMPTS, "v1", cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.safetensors")
    _damage(path, how)
    with caplog.at_level(logging.WARNING, logger="classifier.text_cache"):
        again = text_cache.text_embeddings(loaded, PROMPTS, "v1", cache_dir=tmp_path)
    assert torch.equal(again, fresh)
    assert "ignoring" in caplog.text and str(path) in caplog.text
    # written again: the next start reads it
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="classifier.text_cache"):
        third = text_cache.text_embeddings(loaded, PROMPTS, "v1", cache_dir=tmp_path)
    assert torch.equal(third, fresh) and not caplog.text
