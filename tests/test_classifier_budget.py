"""Decoding within bounded memory: every frame is checked before it is decoded, each
decode's cost is estimated in bytes, and the decode threads share one budget."""

from __future__ import annotations

import io
import struct
import threading
import time

import pytest
from PIL import Image

from classifier import budget
from classifier.budget import DecodeBudget, estimate
from classifier.preprocess import PreprocessConfig, Unreadable, decode
from fakelemmy import hostile

CFG = PreprocessConfig()
GB = 1_000_000_000


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def mpo_with_huge_second_picture(width: int = 9000, height: int = 9000) -> bytes:
    """An MPO (a JPEG with more pictures) whose second picture's header says width x height."""
    small = Image.new("RGB", (64, 64), (200, 30, 30))
    data = bytearray(encode(small, "MPO", save_all=True, append_images=[small]))
    second = data.index(b"\xff\xd8", 2)  # the second picture's start
    sof = data.index(b"\xff\xc0", second)  # its frame header
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "data, reason",
    [
        (
            hostile.tiff_huge_later_pages(),
            "TIFF frame 2 of 3 is 13000x13000, 169 megapixels, over the 64 megapixel cap",
        ),
        (
            hostile.gif_huge_second_frame(),
            "GIF frame 2 of 2 is 12000x12000, 144 megapixels, over the 64 megapixel cap",
        ),
        (
            mpo_with_huge_second_picture(),
            "MPO frame 2 of 2 is 9000x9000, 81 megapixels, over the 64 megapixel cap",
        ),
    ],
    ids=["tiff-pages", "gif-frames", "mpo-pictures"],
)
def test_every_frame_is_checked_before_it_is_decoded(data, reason):
    # the first frame is small and fine: only reading every frame's header finds the bomb
    with pytest.raises(Unreadable, match=reason):
        decode(data, CFG, DecodeBudget(GB))


def test_a_webp_is_checked_and_paid_for_before_pillow_allocates_its_canvas(monkeypatch):
    from PIL import WebPImagePlugin

    def never(self):
        raise AssertionError("Pillow opened the WebP (and allocated its canvas)")

    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "_open", never)
    tiny_file = hostile.webp_lossless_uniform()  # 8000 x 8000 RGBA in 34 bytes
    assert len(tiny_file) < 40
    with pytest.raises(
        Unreadable,
        match=r"about 2\.\d GB of memory, more than the whole "
        r"decode budget of 1\.0 GB \(classifier.decode_memory\)",
    ):
        decode(tiny_file, CFG, DecodeBudget(GB))
    with pytest.raises(Unreadable, match="16383x16383, 268 megapixels, over the 64 megapixel cap"):
        decode(hostile.webp_lossless_uniform(16383, 16383), CFG)


@pytest.mark.parametrize(
    "name, low, high",
    [
        ("png_16bit", 2.0, 2.4),  # 16-bit grey: 2 bytes a pixel, then float64 scaling
        ("tiff_float", 2.2, 2.6),  # 32-bit float, read through a strip, then the same
        ("png_rgba", 1.6, 2.0),  # RGBA: composited on grey, four RGBA-sized copies
        ("webp_lossless_uniform", 2.0, 2.4),  # libwebp's two canvases and a copy, then alpha
    ],
)
def test_images_at_the_cap_are_costed_by_mode_and_bit_depth(name, low, high):
    data = hostile.IMAGE_BOMBS[name]()
    cost = estimate(data, CFG)
    assert low * GB <= cost <= high * GB, cost
    with pytest.raises(Unreadable, match=r"more than the whole decode budget of 1.0 GB"):
        decode(data, CFG, DecodeBudget(GB))
    # an ordinary photo costs a fraction of it: 8 bytes a pixel (decoded, resized)
    assert estimate(encode(Image.new("RGB", (4000, 4000)), "JPEG"), CFG) < 0.14 * GB


def test_decodes_wait_for_each_other_within_the_budget():
    # four 2000 x 2000 RGBA images cost ~117 MB each: a 200 MB budget decodes one at a time
    images = [
        encode(Image.new("RGBA", (2000, 2000), (i * 40, 10, 10, 128)), "PNG") for i in range(4)
    ]
    cost = estimate(images[0], CFG)
    assert 100e6 < cost < 150e6
    shared = DecodeBudget(200_000_000)
    active, most = [0], [0]
    lock = threading.Lock()
    original = shared.reserve

    def reserve(nbytes, what="decoding this image"):
        held = original(nbytes, what)
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        release = held.release

        def counted_release():
            with lock:
                active[0] -= 1 if held.nbytes else 0
            release()

        held.release = counted_release
        return held

    shared.reserve = reserve
    results: list = []
    threads = [
        threading.Thread(target=lambda d=d: results.append(len(decode(d, CFG, shared))))
        for d in images
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 4 and all(n >= 1 for n in results)  # every image decoded
    assert most[0] == 1 and shared.waits >= 1
    assert shared.peak <= shared.total and shared.in_use == 0


def test_the_budget_serves_in_order_and_refuses_what_never_fits():
    shared = DecodeBudget(100)
    with pytest.raises(Unreadable, match="more than the whole decode budget"):
        shared.reserve(101)
    first = shared.reserve(60)
    order: list[str] = []

    def take(name: str, nbytes: int) -> None:
        with shared.reserve(nbytes):
            order.append(name)

    big = threading.Thread(target=take, args=("big", 60))
    big.start()
    time.sleep(0.2)
    small = threading.Thread(target=take, args=("small", 10))  # fits now, but comes later
    small.start()
    time.sleep(0.2)
    assert order == [], "nobody overtakes the one waiting first"
    first.release()
    big.join(5)
    small.join(5)
    assert order == ["big", "small"] and shared.in_use == 0 and shared.peak <= 100
    assert shared.refused == 1


def test_an_animation_whose_canvas_grows_is_costed_frame_by_frame():
    # 64 x 64 at first, then five 8000 x 8000 frames: every frame up to the last sampled
    # one is decoded on the (grown) canvas, 320 megapixels over the 256 allowed
    grown = hostile.gif_frames((64, 8000, 8000, 8000, 8000, 8000), screen=64)
    with pytest.raises(
        Unreadable,
        match=r"reaching frame 6 of this GIF animation decodes "
        r"320 megapixels \(its canvas grows\)",
    ):
        decode(grown, CFG, DecodeBudget(10 * GB))
    # a small animation that grows a little is read, every frame
    small = hostile.gif_huge_second_frame(size=300, first=64)
    assert len(decode(small, CFG, DecodeBudget(GB))) == 2


def test_a_frame_pillow_reads_larger_than_its_header_said_is_refused(monkeypatch):
    # should Pillow ever read a GIF's blocks differently from modbot's walk of them
    monkeypatch.setattr(budget, "_gif_extents", lambda data, wanted: [(64, 64)] * wanted)
    with pytest.raises(
        Unreadable,
        match=r"GIF frame 2 is 300x300 RGB where its headers said "
        r"64x64 RGBA: refused",
    ):
        decode(hostile.gif_huge_second_frame(size=300), CFG, DecodeBudget(GB))


def test_ordinary_images_still_decode_within_the_default_budget(photos):
    shared = DecodeBudget()
    for data in photos.values():
        assert decode(data, CFG, shared)
    assert 0 < shared.largest < 100e6 and shared.in_use == 0


@pytest.mark.parametrize(
    "mode, fmt, per_pixel",
    [("RGB", "PNG", 4), ("RGBA", "PNG", 8), ("L", "PNG", 1), ("RGB", "WEBP", 4)],
)
def test_a_thin_strip_is_costed_for_the_reference_views_enlargement(mode, fmt, per_pixel):
    # 1 x 600 is thumbnailed to 1 x 512, which torchvision's Resize(224) makes 224 x 114688
    # (26 megapixels, an RGBA one resized through RGBa) before the centre crop: the file
    # is a few hundred bytes, the decode ~100 MB
    strip = encode(Image.new(mode, (1, 600), (200,) * len(mode)), fmt)
    enlarged = 224 * (224 * 512 // 1)
    assert estimate(strip, CFG) >= enlarged * per_pixel
    small = DecodeBudget(enlarged * per_pixel // 2)
    with pytest.raises(Unreadable, match="more than the whole decode budget"):
        decode(strip, CFG, small)
    assert small.in_use == 0
    assert decode(strip, CFG, DecodeBudget(GB))
