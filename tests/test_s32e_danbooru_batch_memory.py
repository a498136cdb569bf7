"""DeepDanbooru ran on as many anime images at once as the engine's batch held
(`batch_size`, 32 by default, up to 1,024), each at up to 512 px: on a CPU a batch of 32
took ~2.1 GB more than one image (8: ~0.4 GB), outside every budget the README's memory
bound counts, so a burst of anime images grew modbot by gigabytes. It now sees at most
`DANBOORU_BATCH` images at a time (the reference runs one), their inputs made a batch at
a time."""

import pytest
from support.reference import shifted_concepts

from classifier import Engine, load_model
from classifier.deepdanbooru import (
    DANBOORU_BATCH,
    WEIGHTS_FILE,
    load_deepdanbooru,
    write_random_weights,
)
from classifier.tiny import tiny_spec

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic", "1girl"]


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def test_deepdanbooru_sees_a_bounded_number_of_images_at_once(loaded, photos, tmp_path):
    weights = write_random_weights(tmp_path / WEIGHTS_FILE, TAGS, width=4, seed=2)
    danbooru = load_deepdanbooru(weights, loaded.device, allow_random_weights=True)
    assert danbooru is not None
    asked: list[int] = []  # images per evaluate call (the engine's batch)
    seen: list[int] = []  # images per run of the network
    evaluate = danbooru.evaluate

    def counting(sources, *args, **kwargs):
        asked.append(len(sources))
        return evaluate(sources, *args, **kwargs)

    danbooru.evaluate = counting  # type: ignore[method-assign]
    danbooru.net.register_forward_hook(lambda module, inputs, out: seen.append(len(inputs[0])))
    # one photo's size (one DeepDanbooru input size), 3 x DANBOORU_BATCH images
    image = photos["chelsea"]
    count = 3 * DANBOORU_BATCH
    # everything fires (anime included); a long wait: they are decided in one batch
    with Engine(
        loaded,
        shifted_concepts(0.4),
        danbooru=danbooru,
        max_batch=64,
        max_wait_ms=5000,
        text_cache_dir=tmp_path,
    ) as engine:
        verdicts = engine.classify_many([image] * count)
    assert all(v.deepdanbooru == "ran" for v in verdicts)
    assert max(asked) > DANBOORU_BATCH, asked  # the engine's batch held more than that
    assert sum(seen) == count
    assert max(seen) <= DANBOORU_BATCH, seen
