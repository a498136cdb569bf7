"""An animation cut short inside a later frame's header: the frames before it are read,
as the reference reads the first, instead of the whole file being unreadable."""

import io
import struct

import numpy as np
import pytest
from PIL import Image

from classifier.budget import DecodeBudget, estimate
from classifier.preprocess import PreprocessConfig, decode

CFG = PreprocessConfig()


def gif_cut_in_a_local_palette() -> tuple[bytes, int]:
    """A 4-frame GIF (each frame its own palette) cut where Pillow's frame count fails
    with an error other than EOFError; and how many frames come before the cut."""
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 255, (9, 12, 3), dtype=np.uint8)
    base = Image.fromarray(np.kron(blocks, np.ones((10, 10, 1), dtype=np.uint8)))
    frames = [base.rotate(angle).convert("P") for angle in (0, 90, 180, 270)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    data = out.getvalue()
    for cut in range(len(data) // 8, len(data)):
        image = Image.open(io.BytesIO(data[:cut]))
        try:
            assert image.n_frames >= 1
        except EOFError:
            continue
        except Exception:  # IndexError from the palette check in Pillow 13
            return data[:cut], 1
    pytest.skip("this Pillow counts the frames of every cut GIF")


def test_a_gif_cut_inside_a_later_frames_palette_is_read_up_to_there():
    data, readable = gif_cut_in_a_local_palette()
    reference = Image.open(io.BytesIO(data))
    reference.thumbnail((512, 512))  # what the reference does: it reads the first frame
    regions = decode(data, CFG, DecodeBudget())
    assert len(regions) == readable
    assert 0 < estimate(data, CFG) < 100_000_000


def tiff_with_a_broken_second_page() -> bytes:
    """Two pages; the second page's directory holds no tags (Pillow: TypeError,
    "Missing dimensions", when it seeks there)."""
    pages = [Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (64, 48), (30, 30, 200))]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    data = bytearray(out.getvalue())
    order = "<" if data[:2] == b"II" else ">"
    first = struct.unpack_from(order + "I", data, 4)[0]
    entries = struct.unpack_from(order + "H", data, first)[0]
    second = struct.unpack_from(order + "I", data, first + 2 + 12 * entries)[0]
    struct.pack_into(order + "H", data, second, 0)  # no entries: no width, no height
    return bytes(data)


def test_a_tiff_whose_later_page_does_not_parse_is_read_up_to_there():
    data = tiff_with_a_broken_second_page()
    reference = Image.open(io.BytesIO(data))
    reference.thumbnail((512, 512))  # the reference reads the first page
    regions = decode(data, CFG, DecodeBudget())
    assert len(regions) == 1 and tuple(regions[0][24, 32]) == (200, 30, 30)
    assert 0 < estimate(data, CFG) < 100_000_000
