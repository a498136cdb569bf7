"""One decode counts an animation's frames once, not once for each time it opens the bytes.

``decode_image`` opens the same bytes up to four times (the plan, the GPU's deferred
view, the reference's view, our own regions), and each open counted the frames: for a
GIF or a TIFF, Pillow's count reads every frame's header to the end of the file. A
4.6 MB GIF of 200,000 one-pixel frames took 7.8 s to decode, 6 s of it counting the same
frames four times; now 1.8 s. The later opens take the first one's count. Counted, not
timed: Pillow's walks through the frames are counted.
"""

from __future__ import annotations

import io

import pytest
from PIL import GifImagePlugin, Image, TiffImagePlugin
from test_clsprep_truncated_animation import (
    gif_cut_in_a_local_palette,
    tiff_with_a_broken_second_page,
)

from classifier.budget import DecodeBudget
from classifier.preprocess import PreprocessConfig, decode_image

CFG = PreprocessConfig()


@pytest.fixture
def frame_counts(monkeypatch) -> list[str]:
    """The format of each image whose frames Pillow counted (walking every header)."""
    counted: list[str] = []
    for plugin in (GifImagePlugin.GifImageFile, TiffImagePlugin.TiffImageFile):
        real = plugin.n_frames.fget

        def counting(self, real=real):
            if self._n_frames is None:  # not counted yet on this open: Pillow walks the file
                counted.append(self.format)
            return real(self)

        monkeypatch.setattr(plugin, "n_frames", property(counting))
    return counted


def grey_gif(frames: int, size: int = 8) -> bytes:
    """Frame i is grey level i (frames <= 256)."""
    images = [Image.new("L", (size, size), i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=20)
    return out.getvalue()


@pytest.mark.parametrize("defer", [False, True])
def test_a_long_gif_is_counted_once_and_sampled_as_before(frame_counts, defer):
    decoded = decode_image(grey_gif(250), CFG, budget=DecodeBudget(10**9), defer=defer)
    assert frame_counts == ["GIF"]  # 3 without defer, 4 with it, before
    # the reference's view of frame 0, then frames 83, 166 and 249 as our own regions
    assert [int(region[0, 0, 0]) for region in decoded.regions] == [0, 83, 166, 249]


def test_a_multi_page_tiff_is_counted_once(frame_counts):
    pages = [Image.new("RGB", (64, 48), (40 * i, 0, 0)) for i in range(5)]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    decoded = decode_image(out.getvalue(), CFG, budget=DecodeBudget(10**9))
    assert frame_counts == ["TIFF"]
    assert [int(region[0, 0, 0]) for region in decoded.regions] == [0, 40, 120, 160]


@pytest.mark.parametrize(
    "data",
    [gif_cut_in_a_local_palette()[0], tiff_with_a_broken_second_page()],
    ids=["gif cut in a later palette", "tiff with a broken second page"],
)
def test_an_animation_whose_count_fails_is_read_up_to_there_counting_once(frame_counts, data):
    # the count fails past frame 1: the frames before it are read, as before, and the
    # later opens take that count instead of failing (and reopening the file) again
    decoded = decode_image(data, CFG, budget=DecodeBudget(10**9))
    assert len(decoded.regions) == 1
    assert len(frame_counts) == 1
