"""Out of memory while decoding says nothing of the image (the machine was short, not the
file broken): the image is not recorded `unreadable` (a verdict the state keeps, which a
rule such as "unreadable at the door" or one removing unreadable images acts on) but
fails as an error the bot skips as `classifier_error` and tries again. Before, a decode
thread's MemoryError, and a decoding process's, became the verdict "could not decode:
MemoryError"."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import classifier.decode_processes as decode_processes
from classifier import ConceptSet, Engine, load_model
from classifier.tiny import tiny_spec, write_random_checkpoint


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    checkpoint = write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "t.safetensors")
    return load_model(tiny_spec(checkpoint))


def test_a_decode_thread_out_of_memory_is_an_error_not_unreadable(loaded, tmp_path):
    with Engine(loaded, ConceptSet.builtin(), max_batch=2, text_cache_dir=tmp_path) as engine:

        def short(data):
            raise MemoryError("cannot allocate 512 MB")

        engine._decode_image = short
        with pytest.raises(MemoryError):
            engine.classify_many([jpeg()])
        assert engine.stats["unreadable"] == 0
        del engine._decode_image
        (verdict,) = engine.classify_many([jpeg()])  # the engine goes on
        assert verdict.unreadable is None


def test_a_decoding_process_out_of_memory_comes_back_as_such(monkeypatch):
    def short(*args, **kwargs):
        raise MemoryError("cannot allocate 512 MB")

    monkeypatch.setattr(decode_processes, "decode_image", short)
    kind, words = decode_processes._decode(jpeg(), None, False, False, 0)
    assert kind == "memory" and "cannot allocate" in words
