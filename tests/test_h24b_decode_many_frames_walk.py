"""An animation of very many tiny frames: the frames walked to reach the ones looked at
are bounded, not only their pixels.

Reaching frame n of a GIF, APNG, WebP or AVIF decodes every frame before it, and
``frame_pixel_budget`` (256 megapixels) bounds the pixels that walk decodes. A frame of
one pixel costs Pillow about as much as one of a few thousand, so a 23 MB GIF of a
million one-pixel frames was walked to its end: ~25 s of a decode thread per decode, and
again for its perceptual hash. Each frame now counts as at least 64x64 pixels in that
walk: at most 62,500 frames, however small. Counted, not timed.
"""

from __future__ import annotations

import io

import pytest
from PIL import GifImagePlugin, Image
from test_h24_fetch_many_frames import gif_of_tiny_frames

from classifier.budget import DecodeBudget, plan
from classifier.preprocess import PreprocessConfig, Unreadable, _frame_indices, decode_image

# room for 50 frames of 64x64 (or smaller) in the walk
SMALL = PreprocessConfig(frame_pixel_budget=50 * 64 * 64)


def frames_decoded(monkeypatch, data: bytes, cfg: PreprocessConfig) -> tuple[int, int]:
    """(frames Pillow decoded, regions made) decoding ``data`` as the classifier does."""
    count = [0]
    real_seek = GifImagePlugin.GifImageFile._seek

    def counted(self, frame, update_image=True):
        count[0] += bool(update_image)  # n_frames reads headers only: not counted
        return real_seek(self, frame, update_image)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", counted)
    decoded = decode_image(data, cfg, budget=DecodeBudget(10**9))
    return count[0], len(decoded.regions)


def test_a_gif_of_tiny_frames_is_walked_through_no_further_than_the_frame_budget(monkeypatch):
    walked, regions = frames_decoded(monkeypatch, gif_of_tiny_frames(1000), SMALL)
    assert regions == 4  # still four frames looked at, spread over what is walked
    # not the 1000 (1005 before): frame 0 again for each open and the reference's view
    assert walked <= 50 + 5, walked


def test_the_walk_of_the_default_config_stops_at_62500_tiny_frames():
    data = gif_of_tiny_frames(70_000)
    with Image.open(io.BytesIO(data)) as image:
        indices = _frame_indices(image, PreprocessConfig())
    assert indices[0] == 0 and indices[-1] == 62_499  # 256 megapixels / 4096


def test_an_ordinary_animation_is_sampled_as_before(monkeypatch):
    # 64x64 frames or larger count their own pixels: where the four frames looked at are,
    # and so the verdict, does not change
    frames = [Image.new("L", (64, 64), 4 * i) for i in range(60)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        assert _frame_indices(image, SMALL) == [0, 16, 33, 49]
        assert _frame_indices(image, PreprocessConfig()) == [0, 20, 39, 59]


def test_a_plan_asked_to_walk_past_the_budget_in_tiny_frames_refuses_it():
    data = gif_of_tiny_frames(1000)
    with Image.open(io.BytesIO(data)) as image, pytest.raises(Unreadable) as refused:
        plan(image, [0, 999], SMALL, data)
    assert "frame 1000" in refused.value.reason
    assert "at least 4096 pixels" in refused.value.reason
