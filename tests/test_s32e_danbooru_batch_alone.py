"""DeepDanbooru failing on a batch (the GPU's memory: a batch of up to `batch_size`
anime images at 512 px, where one at a time fits) failed every anime image of it: each
caller got the error (the bot records classifier_error and tries again next cycle, in a
batch again). CLIP's failures are tried one image at a time; DeepDanbooru's now are too,
so only an image it fails on by itself gets the error."""

import pytest
from support.reference import shifted_concepts

from classifier import Engine, load_model
from classifier.deepdanbooru import WEIGHTS_FILE, load_deepdanbooru, write_random_weights
from classifier.tiny import tiny_spec

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic", "1girl"]


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def test_a_batch_deepdanbooru_fails_on_is_tried_image_by_image(loaded, photos, tmp_path):
    weights = write_random_weights(tmp_path / WEIGHTS_FILE, TAGS, width=4, seed=2)
    danbooru = load_deepdanbooru(weights, loaded.device, allow_random_weights=True)
    assert danbooru is not None
    sizes: list[int] = []
    evaluate = danbooru.evaluate

    def short_of_memory(sources, max_batch=8):
        sizes.append(len(sources))
        if len(sources) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return evaluate(sources, max_batch)

    danbooru.evaluate = short_of_memory  # type: ignore[method-assign]
    images = [photos[name] for name in sorted(photos)][:4]
    # everything fires (anime included); a long wait: the four are decided in one batch
    with Engine(
        loaded,
        shifted_concepts(0.4),
        danbooru=danbooru,
        max_wait_ms=5000,
        decode_workers=4,
        text_cache_dir=tmp_path,
    ) as engine:
        futures = [engine.submit(data) for data in images]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=120))
            except RuntimeError as exc:
                outcomes.append(exc)
    assert sizes[0] > 1, sizes  # the batch reached DeepDanbooru as one
    failed = [o for o in outcomes if isinstance(o, Exception)]
    assert not failed, failed
    # each had its second pass (its realistic tag, random here, may revoke anime)
    assert all(v.deepdanbooru == "ran" and "danbooru_nsfw" in v.scores for v in outcomes)
    assert all(v.danbooru for v in outcomes)  # its ratings, in each verdict
