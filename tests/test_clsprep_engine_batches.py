"""One image the model fails on fails alone: the rest of its batch is classified."""

import io
from contextlib import contextmanager

import pytest
from PIL import Image

from classifier import ConceptSet, Engine, load_model
from classifier.tiny import tiny_spec, write_random_checkpoint


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    return load_model(tiny_spec(write_random_checkpoint(path, seed=0)))


def png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return out.getvalue()


@contextmanager
def engine_encoding_with(loaded, tmp_path, encode_images):
    """An engine whose model encodes with ``encode_images`` (the real one put back after)."""
    with Engine(
        loaded, ConceptSet.builtin(), max_batch=16, max_wait_ms=500, text_cache_dir=tmp_path
    ) as engine:
        engine.loaded.encode_images = encode_images
        try:
            yield engine
        finally:
            del engine.loaded.encode_images


def test_a_failing_image_does_not_fail_the_others_in_its_batch(loaded, tmp_path):
    real = loaded.encode_images
    seen: list[int] = []

    def poisoned(pixels):
        # stands for a failure one image causes (the device running out of memory on
        # it, an operator that refuses it): the black one
        seen.append(len(pixels))
        if any(int(p.max()) == 0 for p in pixels):
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(pixels)

    images = [png((200, 30, 30)), png((0, 0, 0)), png((30, 200, 30)), png((30, 30, 200))]
    with engine_encoding_with(loaded, tmp_path, poisoned) as engine:
        futures = [engine.submit(data) for data in images]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=60))
            except RuntimeError as exc:
                outcomes.append(exc)
        assert engine.decode_budget.in_use == 0
    assert max(seen) > 1, "the images were never in one batch: the test proves nothing"
    assert isinstance(outcomes[1], RuntimeError) and "out of memory" in str(outcomes[1])
    for k in (0, 2, 3):
        assert not isinstance(outcomes[k], Exception), outcomes[k]
        assert outcomes[k].regions == 1 and outcomes[k].unreadable is None


def test_an_image_the_model_gives_nan_for_is_an_error_not_clean(loaded, tmp_path):
    """NaN similarities (fp16 overflow, damaged weights) compare false with every
    threshold: decided as they are, the image would carry no label, so pass as clean."""
    import torch

    real = loaded.encode_images

    def overflowing(pixels):
        features = real(pixels)
        for k, p in enumerate(pixels):
            if int(p.max()) == 0:  # the black one
                features[k] = torch.nan
        return features

    images = [png((200, 30, 30)), png((0, 0, 0))]
    with engine_encoding_with(loaded, tmp_path, overflowing) as engine:
        futures = [engine.submit(data) for data in images]
        assert futures[0].result(timeout=60).unreadable is None
        with pytest.raises(ValueError, match="not numbers"):
            futures[1].result(timeout=60)
