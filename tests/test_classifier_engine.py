"""Model loading and the batched engine, with the tiny random-weights model."""

import asyncio
import io
import json
import threading
import time

import numpy as np
import pytest
from PIL import Image

from classifier import (
    ConceptSet,
    CustomConcept,
    Engine,
    EngineClosed,
    ModelError,
    ModelSpec,
    RandomWeightsNotAllowed,
    Verdict,
    WeightsNotFound,
    load_model,
)
from classifier.compat import import_open_clip
from classifier.model import _resolve_checkpoint
from classifier.preprocess import decode
from classifier.tiny import TINY_MODEL, tiny_spec, write_random_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.safetensors", seed=0)


@pytest.fixture(scope="module")
def loaded(checkpoint):
    return load_model(tiny_spec(checkpoint))


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("text-cache")


@pytest.fixture(scope="module")
def engine(loaded, text_cache):
    with Engine(
        loaded, ConceptSet.builtin(), max_batch=8, max_wait_ms=5, text_cache_dir=text_cache
    ) as e:
        yield e


def jpeg(seed: int, size=(320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)  # smooth blobs, not noise
    image = Image.fromarray(small).resize(size, Image.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def gif(seeds) -> bytes:
    frames = [Image.open(io.BytesIO(jpeg(s, (120, 120)))).convert("RGB") for s in seeds]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80)
    return out.getvalue()


# -- loading --------------------------------------------------------------------------


def test_random_checkpoint_round_trip(checkpoint, loaded):
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(checkpoint))
    state = loaded.model.state_dict()
    assert saved.keys() == state.keys()
    assert all(torch.equal(saved[k], state[k].cpu()) for k in saved)
    assert loaded.identity == f"{TINY_MODEL}/random-weights"
    assert loaded.random_weights and loaded.device.type == "cpu"
    # the same seed writes the same weights: the same fingerprint (text cache, verdict cache)
    again = write_random_checkpoint(checkpoint.parent / "again.safetensors", seed=0)
    assert load_model(tiny_spec(again)).fingerprint == loaded.fingerprint
    other = write_random_checkpoint(checkpoint.parent / "other.safetensors", seed=1)
    assert load_model(tiny_spec(other)).fingerprint != loaded.fingerprint


def test_random_weights_need_the_explicit_flag(checkpoint, caplog):
    with pytest.raises(RandomWeightsNotAllowed, match=r"random weights.*allow_random_weights"):
        load_model(ModelSpec(name=TINY_MODEL, pretrained=None, checkpoint=checkpoint))
    with pytest.raises(RandomWeightsNotAllowed, match="no weights given"):
        load_model(ModelSpec(name=TINY_MODEL, pretrained=None))
    with caplog.at_level("WARNING", logger="classifier.model"):
        load_model(tiny_spec(checkpoint))
    assert "RANDOM WEIGHTS" in caplog.text


def test_missing_weights_fail_fast_with_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # The guard: no download is tried where none can work (open_clip's and the hub's
    # retry loop took ~50 s here, no internet); counted, not timed.
    import_open_clip()
    import huggingface_hub
    import open_clip.pretrained

    tried: list[str] = []

    def download(repo_id, *args, **kwargs):
        tried.append(repo_id)
        raise OSError("no network in this test")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", download)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: unreachable
    for offline in (False, True):
        if offline:
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        with pytest.raises(WeightsNotFound) as err:
            load_model(
                ModelSpec(name="ViT-L-14", pretrained="openai", hf_cache_dir=str(tmp_path / "hf"))
            )
        assert tried == []
        message = str(err.value)
        assert "ViT-L-14/openai weights are not in the Hugging Face cache" in message
        assert "hf download timm/vit_large_patch14_clip_224.openai" in message
        assert "--checkpoint" in message


def test_weights_in_the_hf_cache_are_found_offline(tmp_path):
    repo = tmp_path / "models--timm--vit_large_patch14_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    spec = ModelSpec(name="ViT-L-14", pretrained="openai", hf_cache_dir=str(tmp_path))
    import_open_clip()  # torchvision's ops on CPU torch first (classifier.compat)
    from open_clip.pretrained import get_pretrained_cfg

    found = _resolve_checkpoint(spec, get_pretrained_cfg("ViT-L-14", "openai"))
    assert found == snapshot / "open_clip_model.safetensors"


def test_bad_checkpoints_say_what_is_wrong(tmp_path):
    import torch
    from safetensors.torch import save_file

    with pytest.raises(WeightsNotFound, match="does not exist"):
        load_model(ModelSpec(name=TINY_MODEL, checkpoint=tmp_path / "nope.safetensors"))
    with pytest.raises(WeightsNotFound, match="no checkpoint"):
        load_model(ModelSpec(name=TINY_MODEL, checkpoint=tmp_path))
    wrong = tmp_path / "wrong.safetensors"
    save_file({"not.a.clip.weight": torch.zeros(3)}, str(wrong))
    with pytest.raises(ModelError, match="could not build modbot-tiny"):
        load_model(ModelSpec(name=TINY_MODEL, pretrained=None, checkpoint=wrong))
    with pytest.raises(ModelError, match="unknown model"):
        load_model(ModelSpec(name="ViT-Q-99"))
    with pytest.raises(ModelError, match="no pretrained weights called 'nonesuch'"):
        load_model(ModelSpec(name="ViT-B-32", pretrained="nonesuch"))


def test_a_checkpoint_directory_is_accepted(checkpoint, tmp_path):
    directory = tmp_path / "weights"
    directory.mkdir()
    (directory / "open_clip_model.safetensors").write_bytes(checkpoint.read_bytes())
    loaded = load_model(
        ModelSpec(name=TINY_MODEL, pretrained=None, checkpoint=directory, allow_random_weights=True)
    )
    assert loaded.random_weights and loaded.identity == f"{TINY_MODEL}/random-weights"


# -- engine ---------------------------------------------------------------------------


def test_verdict_carries_model_identity_scores_and_hash(engine):
    import hashlib

    data = jpeg(1)
    (v,) = engine.classify_many([data])
    assert v.model == f"{TINY_MODEL}/random-weights" and v.random_weights
    assert v.concept_version == engine.concept_version
    assert v.sha256 == hashlib.sha256(data).hexdigest()
    assert set(v.scores) == {"subject", "underage", "nsfw", "anime", "csam"}
    assert set(v.prompt_scores) == set(engine.concepts.prompts)
    assert v.regions == 1 and v.unreadable is None
    assert v.labels == tuple(sorted(k for k, s in v.scores.items() if s > 0 and k != "subject"))
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_batched_equals_one_at_a_time(loaded, text_cache):
    images = [
        jpeg(i, size)
        for i, size in enumerate([(320, 240), (200, 300), (1000, 150), (64, 64), (640, 427)] * 2)
    ]
    images += [gif([20, 21, 22, 23, 24]), b"<html>not an image</html>"]
    with Engine(loaded, max_batch=32, max_wait_ms=50, text_cache_dir=text_cache) as batched:
        together = batched.classify_many(images)
    with Engine(loaded, max_batch=1, max_wait_ms=0, text_cache_dir=text_cache) as single:
        alone = [single.classify_many([data])[0] for data in images]
    for a, b in zip(together, alone):
        assert a.labels == b.labels and a.regions == b.regions and a.unreadable == b.unreadable
        for key in a.prompt_scores:
            assert a.prompt_scores[key] == pytest.approx(b.prompt_scores[key], abs=1e-5)
        for key in a.scores:
            assert a.scores[key] == pytest.approx(b.scores[key], abs=1e-5)
    assert [v.regions for v in together[10:]] == [4, 0]


def test_one_image_encode_per_region(loaded, text_cache):
    encoded = []
    real = loaded.encode_images

    def counting(pixels):
        encoded.append(len(pixels))
        return real(pixels)

    with Engine(loaded, max_batch=16, text_cache_dir=text_cache) as e:
        e.loaded.encode_images = counting
        try:
            verdicts = e.classify_many([jpeg(i) for i in range(5)] + [jpeg(9, (1000, 150))])
        finally:
            del e.loaded.encode_images
    assert (
        sum(encoded) == sum(v.regions for v in verdicts) == 5 + 7
    )  # the wide one: centre + 6 tiles


def test_the_models_time_on_batches_is_counted(loaded, text_cache):
    # what a benchmark compares with wall time to tell whether the model was kept busy
    real = loaded.encode_images

    def slow(pixels):
        time.sleep(0.02)
        return real(pixels)

    with Engine(loaded, max_batch=4, text_cache_dir=text_cache) as e:
        e.loaded.encode_images = slow
        try:
            started = time.perf_counter()
            e.classify_many([jpeg(i) for i in range(6)])
            wall_us = (time.perf_counter() - started) * 1e6
        finally:
            del e.loaded.encode_images
        batches, busy_us = e.stats["batches"], e.stats["inference_us"]
    assert batches >= 2  # 6 images, at most 4 a batch
    assert 20_000 * batches <= busy_us <= wall_us


def test_regions_verdict_is_the_worst_region(engine):
    data = gif([30, 31, 32, 33])
    (v,) = engine.classify_many([data])
    regions = decode(data, engine.preprocess)
    per_region = engine._similarities(regions)
    assert v.regions == len(regions) == 4
    for i, text in enumerate(engine.concepts.prompts):
        assert v.prompt_scores[text] == pytest.approx(
            per_region[:, i].max(), abs=6e-5
        )  # rounded to 4 decimals


def test_unreadable_images_do_not_fail_their_batch(engine):
    verdicts = engine.classify_many([jpeg(3), b"", b"<svg></svg>", jpeg(4)[:300], jpeg(5)])
    assert [v.unreadable is None for v in verdicts] == [True, False, False, False, True]
    assert verdicts[1].unreadable == "empty file (0 bytes)"
    assert "SVG" in verdicts[2].unreadable
    assert verdicts[1].labels == () and verdicts[1].scores == {} and verdicts[1].regions == 0
    assert verdicts[1].model == engine.loaded.identity


def test_async_callers_share_batches(engine):
    images = [jpeg(100 + i) for i in range(24)]
    expected = engine.classify_many(images)

    async def main():
        return await asyncio.gather(*(engine.classify(d) for d in images))

    got = asyncio.run(main())
    assert [v.sha256 for v in got] == [v.sha256 for v in expected]
    for a, b in zip(got, expected):
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_backpressure_bounds_images_in_flight(loaded, text_cache):
    gate = threading.Event()
    started = []
    with Engine(loaded, max_queue=3, max_batch=4, decode_workers=8, text_cache_dir=text_cache) as e:
        real = e._decode

        def slow_decode(data, future):
            started.append(data)
            gate.wait(10)
            real(data, future)

        e._decode = slow_decode

        async def main():
            tasks = [asyncio.create_task(e.classify(jpeg(200 + i))) for i in range(10)]
            await asyncio.sleep(0.3)
            in_flight = len(started)
            waiting = sum(not t.done() for t in tasks)
            gate.set()
            verdicts = await asyncio.gather(*tasks)
            return in_flight, waiting, verdicts

        in_flight, waiting, verdicts = asyncio.run(main())
    assert in_flight == 3  # the other 7 wait for a slot, holding no decoded pixels
    assert waiting == 10
    assert len(verdicts) == 10 and all(v.unreadable is None for v in verdicts)


def test_cancelled_callers_do_not_leak_slots(loaded, text_cache):
    with Engine(loaded, max_queue=2, text_cache_dir=text_cache) as e:

        async def main():
            tasks = [asyncio.create_task(e.classify(jpeg(300 + i))) for i in range(6)]
            await asyncio.sleep(0)
            for t in tasks[::2]:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # every slot is free again: as many new images as the queue holds get through
            return await asyncio.wait_for(
                asyncio.gather(*(e.classify(jpeg(400 + i)) for i in range(4))), 30
            )

        assert len(asyncio.run(main())) == 4


def test_closed_engine_refuses(loaded, text_cache):
    e = Engine(loaded, text_cache_dir=text_cache)
    e.close()
    e.close()  # idempotent
    with pytest.raises(EngineClosed):
        e.classify_many([jpeg(1)])


def test_text_embeddings_are_cached_per_concept_version(loaded, tmp_path):
    concepts = ConceptSet.builtin([CustomConcept("gore", ["a bloody wound"], 0.22)])
    with Engine(loaded, concepts, text_cache_dir=tmp_path) as first:
        (v1,) = first.classify_many([jpeg(7)])
    files = list(tmp_path.glob("*.safetensors"))
    assert [f.stem for f in files] == [first.concept_version]
    assert "gore" in v1.scores

    def fail(texts):
        raise AssertionError("text embeddings recomputed despite the cache")

    loaded.encode_texts, real = fail, loaded.encode_texts
    try:
        with Engine(loaded, concepts, text_cache_dir=tmp_path) as second:
            (v2,) = second.classify_many([jpeg(7)])
    finally:
        loaded.encode_texts = real
    assert v2.scores == pytest.approx(v1.scores, abs=1e-6)
    # another concept set is another version and another file; a damaged file is recomputed
    with Engine(loaded, ConceptSet.builtin(), text_cache_dir=tmp_path) as third:
        assert third.concept_version != first.concept_version
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    files[0].write_bytes(b"garbage")
    with Engine(loaded, concepts, text_cache_dir=tmp_path) as fourth:
        (v4,) = fourth.classify_many([jpeg(7)])
    assert v4.scores == pytest.approx(v1.scores, abs=1e-6)


def test_hostile_files_get_verdicts_and_never_break_a_batch(engine):
    from fakelemmy import hostile

    names = list(hostile.ALL)
    samples = [hostile.ALL[n]() for n in names]
    verdicts = dict(zip(names, engine.classify_many([jpeg(11), *samples, jpeg(12)])[1:-1]))
    assert set(verdicts) == set(hostile.ALL)
    assert "truncated or corrupt" in verdicts["truncated_jpeg"].unreadable
    assert "decompression bomb" in verdicts["png_bomb"].unreadable
    assert verdicts["svg"].unreadable.startswith("not an image: SVG")
    assert verdicts["html_page"].unreadable == "not an image: an HTML page"
    assert verdicts["zero_byte"].unreadable == "empty file (0 bytes)"
    # a valid JPEG with 30 MB of padding is an image (the size cap is fetch.py's job)
    assert verdicts["large_file"].unreadable is None and verdicts["large_file"].regions == 1
    assert verdicts["animated_gif"].regions == 4 and verdicts["animated_webp"].regions == 4


def test_real_photos_batched_equal_one_at_a_time(loaded, text_cache):
    from pathlib import Path

    photos = [p.read_bytes() for p in sorted((Path(__file__).parent / "data").glob("*.jpg"))]
    if not photos:
        pytest.skip("no photos in tests/data")
    with Engine(loaded, max_batch=8, text_cache_dir=text_cache) as e:
        together = e.classify_many(photos)
        alone = [e.classify_many([p])[0] for p in photos]
    for a, b in zip(together, alone):
        assert a.unreadable is None and a.regions == 1
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
