"""Decoding hostile and awkward images into regions: nothing hides, nothing crashes."""

import io
import struct
import zlib
from unittest import mock

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from classifier.preprocess import PreprocessConfig, Unreadable, decode

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def near(pixel, colour, tol=40) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(pixel, colour))


def two_halves(size, first, second, vertical=False) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, first)
    box = (0, h // 2, w, h) if vertical else (w // 2, 0, w, h)
    image.paste(second, box)
    return image


def test_plain_image_is_one_centre_crop_of_model_size():
    regions = decode(encode(Image.new("RGB", (300, 200), RED), "JPEG"))
    assert len(regions) == 1
    assert regions[0].shape == (224, 224, 3) and regions[0].dtype == np.uint8
    assert near(regions[0][112, 112], RED)


def test_exif_orientation_is_applied():
    # stored left red / right blue; orientation 6 = displayed rotated 90 degrees clockwise
    image = two_halves((300, 200), RED, BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6
    reference, region = decode(encode(image, "JPEG", exif=exif))
    assert near(region[5, 112], RED) and near(region[218, 112], BLUE)  # top red, bottom blue
    assert near(region[112, 5], region[112, 218], tol=5)  # not left/right any more
    # the reference looks at the pixels as stored: that view is the first region
    assert near(reference[112, 5], RED) and near(reference[112, 218], BLUE)


def test_transparency_is_composited_on_neutral_grey():
    image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))  # invisible black
    image.paste((255, 0, 0, 255), (0, 0, 128, 256))  # visible red left half
    reference, region = decode(encode(image, "PNG"))
    assert near(region[112, 10], (255, 0, 0))
    assert near(region[112, 214], (128, 128, 128), tol=2)
    assert near(reference[112, 214], (0, 0, 0), tol=2)  # the reference drops alpha: black


def test_palette_transparency_is_composited():
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    reference, region = decode(encode(image, "GIF", transparency=0))
    assert near(region[100, 100], (128, 128, 128), tol=2)
    assert near(reference[100, 100], (0, 0, 0), tol=2)


def animation(colours, fmt, size=(64, 64)):
    frames = [Image.new("RGB", size, c) for c in colours]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_are_sampled_across_all_frames(fmt):
    colours = [(30 * i, 255 - 30 * i, (70 * i) % 256) for i in range(8)]
    regions = decode(animation(colours, fmt), PreprocessConfig(max_frames=4))
    assert len(regions) == 4
    # frames 0, 2, 5 and 7: the first and the last included, spread between
    for region, index in zip(regions, [0, 2, 5, 7]):
        assert near(region[112, 112], colours[index], tol=12), (fmt, index)


def test_a_single_frame_hidden_late_in_a_long_gif_is_reachable_by_default():
    colours = [(20, 20, 200 + i) for i in range(9)] + [RED]  # distinct: GIF merges equal frames
    regions = decode(animation(colours, "GIF"))
    assert near(regions[-1][112, 112], RED)
    assert len(regions) == PreprocessConfig().max_frames


@pytest.mark.parametrize("size", [(1200, 100), (100, 1200)])
def test_very_wide_or_tall_images_are_covered_by_tiles(size):
    image = Image.new("RGB", size, BLUE)
    w, h = size
    image.paste(RED, (w - 100, h - 100, w, h))  # content at the far end, outside the centre crop
    regions = decode(encode(image))
    centre, tiles = regions[0], regions[1:]
    assert not (np.abs(centre.astype(int) - RED).sum(axis=2) < 60).any()
    assert len(tiles) == PreprocessConfig().max_tiles  # 12:1 needs more than 6: squeezed to 6
    assert any((np.abs(t.astype(int) - RED).sum(axis=2) < 60).any() for t in tiles)
    assert all(t.shape == (224, 224, 3) for t in tiles)


def test_moderately_wide_images_get_square_tiles_and_3_2_photos_none():
    assert len(decode(encode(Image.new("RGB", (451, 300), RED)))) == 1  # 3:2 as the reference
    regions = decode(encode(two_halves((600, 200), RED, BLUE)))
    assert len(regions) == 1 + 3  # centre + three square tiles covering 672 px
    assert near(regions[1][112, 10], RED) and near(regions[-1][112, 214], BLUE)


def drafts(data: bytes) -> tuple[list, list]:
    with mock.patch.object(
        JpegImagePlugin.JpegImageFile,
        "draft",
        autospec=True,
        side_effect=JpegImagePlugin.JpegImageFile.draft,
    ) as draft:
        regions = decode(data)
    return regions, [c.args[1:] for c in draft.call_args_list]


def test_large_jpegs_are_decoded_in_draft_mode():
    # the reference's view: only the draft Pillow's thumbnail((512, 512)) asks for itself
    (region,), calls = drafts(encode(Image.new("RGB", (4000, 3000), GREEN), "JPEG"))
    assert calls == [(None, (1024, 1024))]
    assert near(region[112, 112], GREEN)
    # our own tiles of a very wide JPEG: drafted to just above the model size
    regions, calls = drafts(encode(Image.new("RGB", (8000, 1500), GREEN), "JPEG"))
    (mode, requested) = calls[-1]
    assert mode == "RGB" and min(requested) >= 224 and max(requested) < 8000
    assert len(regions) == 1 + PreprocessConfig().max_tiles


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height: the shape of a decompression bomb."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_pixel_cap_refuses_bombs_whatever_the_global_setting(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # someone switched Pillow's check off
    with pytest.raises(
        Unreadable, match=r"30000x30000 is 900 megapixels, over the 64 megapixel cap"
    ):
        decode(png_header_only(30000, 30000))
    with pytest.raises(Unreadable, match="megapixel cap"):
        decode(encode(Image.new("RGB", (200, 200))), PreprocessConfig(max_pixels=10_000))


def test_pillow_own_bomb_error_is_unreadable_too(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Unreadable, match="decompression bomb"):
        decode(encode(Image.new("RGB", (100, 100))))


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty file (0 bytes)"),
        (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "not an image: an HTML page"),
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
            "not an image: SVG",
        ),
        (b"<svg></svg>", "not an image: SVG"),
        (b'{"error": "couldnt_find_object"}', "not an image: JSON"),
        (bytes(range(256)) * 4, "not an image of a supported format"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "not an image of a supported format"),
    ],
)
def test_bytes_that_are_not_an_image(data, reason):
    with pytest.raises(Unreadable) as err:
        decode(data)
    assert reason in err.value.reason


def test_truncated_images_are_unreadable():
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8))
    for fmt in ("JPEG", "PNG"):
        data = encode(noisy, fmt)
        with pytest.raises(Unreadable, match="truncated or corrupt"):
            decode(data[: len(data) // 2])
    with pytest.raises(Unreadable):
        decode(b"\xff\xd8\xff\xe0" + b"\0" * 10)  # a JPEG signature and nothing else


def test_unusual_modes_decode():
    grey16 = Image.fromarray((np.arange(256 * 256).reshape(256, 256) % 65535).astype(np.uint16))
    cmyk = Image.new("CMYK", (300, 300), (0, 255, 255, 0))
    for image, fmt in [
        (grey16, "PNG"),
        (cmyk, "JPEG"),
        (Image.new("L", (50, 70), 200), "PNG"),
        (Image.new("1", (90, 90), 1), "BMP"),
    ]:
        regions = decode(encode(image, fmt))
        assert all(region.shape == (224, 224, 3) for region in regions)
        assert len(regions) == (2 if image.mode == "I;16" else 1)  # 16-bit: also scaled to 8 bits
    (cmyk_region,) = decode(encode(cmyk, "JPEG"))
    assert near(cmyk_region[112, 112], (255, 0, 0), tol=60)


def test_a_broken_late_frame_keeps_the_frames_before_it():
    data = animation([RED, GREEN, BLUE, RED, GREEN], "GIF", size=(200, 200))
    regions = decode(data[: int(len(data) * 0.8)])
    assert regions and near(regions[0][112, 112], RED)


def test_draft_mode_and_exif_orientation_together():
    exif = Image.Exif()
    exif[0x0112] = 8  # displayed rotated 90 degrees counter-clockwise: stored right half on top
    _, region = decode(encode(two_halves((3000, 2000), RED, BLUE), "JPEG", exif=exif))
    assert near(region[5, 112], BLUE) and near(region[218, 112], RED)
    assert near(region[60, 5], region[60, 218], tol=5)  # no left/right split any more


def test_an_extreme_strip_does_not_blow_up():
    strip = Image.new("RGB", (100_000, 1), RED)  # 0.1 megapixels, under any cap
    regions = decode(encode(strip))
    assert len(regions) == 1 + PreprocessConfig().max_tiles
    assert all(r.shape == (224, 224, 3) for r in regions)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_a_broken_exif_block_does_not_make_an_image_unreadable(fmt):
    # Pillow reads these images (and the reference classifies them); only parsing the
    # EXIF block fails: its orientation is unknown, the pixels are not
    image = two_halves((300, 200), RED, BLUE)
    regions = decode(encode(image, fmt, exif=b"Exif\x00\x00GARBAGE GARBAGE"))
    assert len(regions) == 1
    assert near(regions[0][112, 5], RED) and near(regions[0][112, 218], BLUE)
    # a truncated file is still refused, EXIF or not
    data = encode(
        Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 300, 3), dtype=np.uint8)),
        fmt,
        exif=b"Exif\x00\x00GARBAGE GARBAGE",
    )
    with pytest.raises(Unreadable, match="truncated or corrupt"):
        decode(data[: len(data) // 2])


def test_an_exif_block_pillow_cannot_write_back_still_turns_the_image():
    # orientation 6 and a YResolution stored as text: Pillow reads it, but
    # ImageOps.exif_transpose, which writes the block back, raises TypeError on it
    def entry(tag: int, kind: int, count: int, value: bytes) -> bytes:
        return struct.pack(">HHI", tag, kind, count) + value

    exif = (
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x02"
        + entry(0x0112, 3, 1, b"\x00\x06\x00\x00")
        + entry(0x011B, 2, 4, b"abc\x00")
        + b"\x00\x00\x00\x00"
    )
    reference, region = decode(encode(two_halves((300, 200), RED, BLUE), "JPEG", exif=exif))
    assert near(region[5, 112], RED) and near(region[218, 112], BLUE)  # turned
    assert near(reference[112, 5], RED) and near(reference[112, 218], BLUE)  # as stored
