"""Deferred pixels from a decoding process go straight into page-locked memory for an
engine on a GPU (one copy in the engine's process, not two), and come back as before
where there is none (a CPU build of torch)."""

import numpy as np
import pytest
import torch

from classifier import decode_processes
from classifier.decode_processes import ProcessDecoder
from classifier.preprocess import PreprocessConfig, decode_image
from tests.test_s25_decode_processes import photo


@pytest.fixture(scope="module")
def decoder():
    with ProcessDecoder(1) as d:
        yield d


def test_deferred_pixels_land_in_the_memory_given_for_them(decoder, monkeypatch):
    made = []

    def pinned_empty(shape, dtype):  # torch.empty(pin_memory=True) needs CUDA: stand in
        made.append(torch.empty(shape, dtype=torch.uint8))
        return made[-1]

    monkeypatch.setattr(decode_processes, "_pinned_empty", pinned_empty)
    cfg, data = PreprocessConfig(size=64), photo(7, (1600, 1200))
    here = decode_image(data, cfg, defer=True)
    there = decoder.decode(data, cfg, defer=True, pin=True)
    assert there.deferred.pixels is made[0]  # no second copy of it
    assert np.array_equal(there.deferred.pixels.numpy(), here.deferred.pixels)
    assert there.deferred.steps == here.deferred.steps
    # not asked for (a CPU engine), or nothing deferred: plain arrays, nothing allocated
    assert isinstance(decoder.decode(data, cfg, defer=True).deferred.pixels, np.ndarray)
    host = decoder.decode(data, cfg, defer=False, pin=True)
    assert host.deferred is None and len(made) == 1
    assert [r.tobytes() for r in host.regions] == [
        r.tobytes() for r in decode_image(data, cfg).regions
    ]


def test_without_page_locked_memory_the_pixels_come_back_as_an_array(decoder):
    # this machine's torch has no CUDA: torch.empty(pin_memory=True) raises, and the
    # pixels come back as they did before
    cfg, data = PreprocessConfig(size=64), photo(8)
    there = decoder.decode(data, cfg, defer=True, pin=True)
    if not torch.cuda.is_available():
        assert isinstance(there.deferred.pixels, np.ndarray)
    assert np.array_equal(
        np.asarray(there.deferred.pixels), decode_image(data, cfg, defer=True).deferred.pixels
    )
