"""On a GPU the reference's view is made on the device by the decode threads (a few at a
time), not by the inference thread alone, which spent ~2 ms of CPU an image sending its
~50 operations on an H200 while the GPU waited; where a decode thread fails to make it,
the inference thread makes it, and the verdict is the same."""

import threading

import pytest

from classifier import ConceptSet, Engine, load_model
from classifier import engine as engine_module
from classifier.preprocess import PreprocessConfig, decode_image
from classifier.tiny import tiny_spec
from tests.test_s25_decode_processes import photo

IMAGES = [photo(20 + k, size) for k, size in enumerate([(800, 600), (760, 580), (900, 700)])]


def verdicts(tiny_checkpoint, tmp_path, on_device, **options):
    with Engine(
        load_model(tiny_spec(tiny_checkpoint)),
        ConceptSet.builtin(),
        max_batch=4,
        text_cache_dir=tmp_path,
        resample_on_device=on_device,
        **options,
    ) as engine:
        got = [engine.classify_many([data])[0] for data in IMAGES]
        return got, dict(engine.stats)


@pytest.fixture(scope="module")
def host(tiny_checkpoint, tmp_path_factory):
    return verdicts(tiny_checkpoint, tmp_path_factory.mktemp("host"), False)[0]


def same(a, b):
    assert [(v.sha256, v.regions, v.scores, v.prompt_scores) for v in a] == [
        (v.sha256, v.regions, v.scores, v.prompt_scores) for v in b
    ]


def test_the_views_are_made_by_the_decode_threads(tiny_checkpoint, tmp_path, host):
    assert all(decode_image(d, PreprocessConfig(size=224), defer=True).deferred for d in IMAGES)
    got, stats = verdicts(tiny_checkpoint, tmp_path, True)
    assert stats["resampled_on_device"] == stats["resampled_by_decode_threads"] == len(IMAGES)
    same(got, host)


def test_a_view_a_decode_thread_could_not_make_is_made_by_the_inference_thread(
    tiny_checkpoint, tmp_path, host, monkeypatch
):
    made_by, real, failed = [], engine_module.reference_images, []

    def flaky(pixels, steps):
        name = threading.current_thread().name
        if name.startswith("modbot-decode") and not failed:
            failed.append(name)
            raise RuntimeError("CUDA out of memory (as a test says it)")
        made_by.append(name)
        return real(pixels, steps)

    monkeypatch.setattr(engine_module, "reference_images", flaky)
    got, stats = verdicts(tiny_checkpoint, tmp_path, True)
    assert failed and made_by.count("modbot-inference") == 1
    assert stats["resampled_on_device"] == len(IMAGES)
    assert stats["resampled_by_decode_threads"] == len(IMAGES) - 1
    same(got, host)


def test_with_no_resample_threads_the_inference_thread_makes_them(tiny_checkpoint, tmp_path, host):
    # (the way before, kept for benchmarks/gpu_feed.py to compare on a GPU)
    got, stats = verdicts(tiny_checkpoint, tmp_path, True, resample_threads=0)
    assert stats["resampled_on_device"] == len(IMAGES)
    assert stats["resampled_by_decode_threads"] == 0
    same(got, host)
