"""The text-embedding cache: a write that fails (a full disk, a quota) costs only the
recomputation next start, as its docstring promises; it never stops the engine."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from classifier import text_cache


class FakeModel(SimpleNamespace):
    device = torch.device("cpu")
    dtype = torch.float32

    def encode_texts(self, texts):
        return torch.nn.functional.normalize(torch.arange(1.0, 1.0 + 4 * len(texts)).view(-1, 4))


def test_a_full_disk_while_writing_the_cache_is_a_warning_not_a_crash(
    tmp_path, monkeypatch, caplog
):
    from safetensors import SafetensorError

    def full_disk(*args, **kwargs):  # what safetensors raises on ENOSPC/EFBIG: not an OSError
        raise SafetensorError("Error while serializing: I/O error: No space left on device")

    monkeypatch.setattr("safetensors.torch.save_file", full_disk)
    loaded = FakeModel(device=torch.device("cpu"))
    with caplog.at_level(logging.WARNING, logger="classifier.text_cache"):
        first = text_cache.text_embeddings(loaded, ("a", "b"), "v1", cache_dir=tmp_path)
    assert first.shape == (2, 4)
    assert "cannot write text-embedding cache" in caplog.text
    assert list(tmp_path.iterdir()) == [], "no half-written temporary file is left behind"


def test_the_cache_is_read_back_and_other_prompts_are_recomputed(tmp_path):
    calls = []

    class Counting(FakeModel):
        def encode_texts(self, texts):
            calls.append(list(texts))
            return super().encode_texts(texts)

    loaded = Counting(device=torch.device("cpu"))
    first = text_cache.text_embeddings(loaded, ("a", "b"), "v1", cache_dir=tmp_path)
    again = text_cache.text_embeddings(loaded, ("a", "b"), "v1", cache_dir=tmp_path)
    assert torch.equal(first, again) and calls == [["a", "b"]]
    # the same file name holding other prompts (never trusted by its name alone)
    other = text_cache.text_embeddings(loaded, ("a", "c"), "v1", cache_dir=tmp_path)
    assert other.shape == (2, 4) and calls[-1] == ["a", "c"]


@pytest.mark.parametrize("content", [b"", b"not safetensors", b"\x08" + b"\x00" * 7 + b"{}"])
def test_a_damaged_cache_file_is_recomputed(tmp_path, content):
    (tmp_path / "v1.safetensors").write_bytes(content)
    loaded = FakeModel(device=torch.device("cpu"))
    assert text_cache.text_embeddings(loaded, ("a",), "v1", cache_dir=tmp_path).shape == (1, 4)


def test_embeddings_computed_in_one_precision_are_not_used_in_the_other(tmp_path):
    """A CPU run (float32) and a GPU engine (float16 model) share the cache directory:
    each computes its own, as the same model embeds a prompt differently in each."""
    calls = []

    class Counting(FakeModel):
        def encode_texts(self, texts):
            calls.append(self.dtype)
            return super().encode_texts(texts)

    cpu, gpu = Counting(dtype=torch.float32), Counting(dtype=torch.float16)
    text_cache.text_embeddings(cpu, ("a", "b"), "v1", cache_dir=tmp_path)
    text_cache.text_embeddings(gpu, ("a", "b"), "v1", cache_dir=tmp_path)
    assert calls == [torch.float32, torch.float16], "the float16 engine read float32 embeddings"
    text_cache.text_embeddings(cpu, ("a", "b"), "v1", cache_dir=tmp_path)
    text_cache.text_embeddings(gpu, ("a", "b"), "v1", cache_dir=tmp_path)
    assert len(calls) == 2, "each precision's file is reused"


def test_a_cache_file_without_its_precision_is_recomputed(tmp_path):
    """A file written before the precision was recorded may hold float16 embeddings
    under the float32 name: it is computed again, once."""
    from safetensors.torch import save_file

    save_file(
        {"embeddings": torch.zeros(2, 4)},
        str(tmp_path / "v1.safetensors"),
        metadata={"prompts": '["a", "b"]'},
    )
    loaded = FakeModel()
    got = text_cache.text_embeddings(loaded, ("a", "b"), "v1", cache_dir=tmp_path)
    assert torch.equal(got, loaded.encode_texts(["a", "b"]))
    again = text_cache.text_embeddings(loaded, ("a", "b"), "v1", cache_dir=tmp_path)
    assert torch.equal(again, got)
