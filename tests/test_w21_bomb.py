"""An image whose headers declare more pixels than Pillow's own bomb check allows
(twice ``Image.MAX_IMAGE_PIXELS``) is refused with modbot's message (its size, the cap),
not Pillow's: locally, in ``estimate`` and through the worker."""

from __future__ import annotations

import httpx
import pytest
from support.worker import TOKEN

from classifier import ConceptSet, Engine, load_model
from classifier.budget import estimate
from classifier.preprocess import PreprocessConfig, Unreadable, decode
from classifier.tiny import tiny_spec
from fakelemmy import hostile

CAP = r"30000x30000 is 900 megapixels, over the 64 megapixel cap \(decompression bomb\?\)"
BOMBS = {
    "png": hostile.png_bomb(30_000, 30_000),
    "tiff": hostile._tiff([(30_000, 30_000, 8, 1, 1)]),
    "gif": hostile.gif_frames((64,), screen=30_000),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_past_pillows_own_check_gets_modbots_message(kind):
    with pytest.raises(Unreadable, match=CAP):
        decode(BOMBS[kind])
    with pytest.raises(Unreadable, match=CAP):
        estimate(BOMBS[kind], PreprocessConfig())


def test_the_local_engine_and_the_worker_say_the_same(tiny, worker):
    with Engine(load_model(tiny_spec(tiny.checkpoint)), ConceptSet.builtin()) as engine:
        local = engine.classify_many([BOMBS["png"]])[0]
    answer = httpx.post(
        f"{worker.url}/v1/classify",
        content=BOMBS["png"],
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert answer.status_code == 200
    for said in (local.unreadable, answer.json()["unreadable"]):
        assert said is not None and "over the 64 megapixel cap" in said, said
        assert "exceeds limit" not in said  # not Pillow's own words
