"""A batch the GPU ran out of memory on (CLIP's, or DeepDanbooru's up to 8 images at
512 px) is tried again one image at a time. The retry ran inside the ``except`` that
caught the error: the error's traceback kept the failed batch's frames, and with them
its input and activations, on the GPU, and the CUDA cache was not emptied, so the
images tried alone could run out of memory too, each getting an error (its verdict
lost) where it fits by itself. Now the failed batch's frames are let go and the cache
emptied before the first image is tried alone. (No GPU here: the network's out of
memory is a fake's, its activations an object watched by a weak reference.)"""

from __future__ import annotations

import weakref

import pytest
import torch
from support.reference import shifted_concepts

from classifier import Engine, load_model
from classifier.deepdanbooru import load_deepdanbooru, write_random_weights
from classifier.tiny import tiny_spec

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic"]
PHOTOS = ["astronaut", "chelsea", "coffee"]


class Activations:
    """What a failed batch leaves in the frames of its network's forward."""


class Watch:
    """The order of events: a batch's out of memory, the cache emptied (and whether the
    failed batch's activations were gone by then), each image tried alone (the same)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bool]] = []
        self.left: weakref.ref | None = None

    def gone(self) -> bool:
        return self.left is not None and self.left() is None

    def out_of_memory(self, size: int) -> None:
        activations = Activations()  # held by this frame, as a forward holds its tensors
        self.left = weakref.ref(activations)
        self.events.append((f"batch of {size}", False))
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def emptied(self) -> None:
        self.events.append(("empty_cache", self.gone()))

    def alone(self) -> None:
        self.events.append(("alone", self.gone()))

    def check(self) -> None:
        kinds = [e for e, _ in self.events]
        assert kinds[0].startswith("batch of") and kinds[0] != "batch of 1", self.events
        assert kinds[1] == "empty_cache" and kinds[2:] == ["alone"] * (len(kinds) - 2)
        assert all(gone for _, gone in self.events[1:]), self.events


@pytest.fixture
def watch(monkeypatch) -> Watch:
    w = Watch()
    monkeypatch.setattr(torch.cuda, "empty_cache", w.emptied)
    return w


def engine_for(tiny_checkpoint, tmp_path, danbooru=None) -> Engine:
    # every image anime for CLIP; one batch for the three (a long wait for each)
    return Engine(
        load_model(tiny_spec(tiny_checkpoint)),
        shifted_concepts(0.4),
        max_batch=4,
        max_wait_ms=5000,
        text_cache_dir=tmp_path,
        danbooru=danbooru,
    )


def test_deepdanbooru_s_retry_one_at_a_time_starts_with_its_memory_freed(
    photos, tiny_checkpoint, tmp_path, watch
):
    danbooru = load_deepdanbooru(
        write_random_weights(tmp_path / "dd.pt", TAGS), "cpu", allow_random_weights=True
    )
    evaluate = danbooru.evaluate

    def on_the_gpu(sources, max_batch=8):
        if len(sources) > 1:
            watch.out_of_memory(len(sources))
        watch.alone()
        return evaluate(sources, max_batch)

    danbooru.evaluate = on_the_gpu
    with engine_for(tiny_checkpoint, tmp_path, danbooru) as engine:
        verdicts = engine.classify_many([photos[n] for n in PHOTOS])
    watch.check()
    # each image fits alone: each has DeepDanbooru's verdict, none an error
    assert [v.deepdanbooru for v in verdicts] == ["ran"] * 3


def test_clip_s_retry_one_at_a_time_starts_with_its_memory_freed(
    photos, tiny_checkpoint, tmp_path, watch
):
    engine = engine_for(tiny_checkpoint, tmp_path)
    encode = engine.loaded.encode_images

    def on_the_gpu(pixels):
        if len(pixels) > 1:
            watch.out_of_memory(len(pixels))
        watch.alone()
        return encode(pixels)

    engine.loaded.encode_images = on_the_gpu
    with engine:
        verdicts = engine.classify_many([photos[n] for n in PHOTOS])
    watch.check()
    assert [v.unreadable for v in verdicts] == [None] * 3
