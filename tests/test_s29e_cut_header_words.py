"""An image cut short inside its headers (a download broken off early) is said to be a
truncated or corrupt image of its format, not "not an image of a supported format":
the admin reading the report must know the file is damaged, not of a kind modbot
does not read."""

import io

import numpy as np
import pytest
from PIL import Image

from classifier.preprocess import Unreadable, decode_image


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(1)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    "fmt, keep", [("PNG", 30), ("AVIF", 0.3), ("AVIF", 0.95), ("TIFF", 12), ("GIF", 14)]
)
def test_a_file_cut_in_its_headers_is_said_truncated_of_its_format(fmt, keep):
    data = _encoded(fmt)
    cut = data[: keep if isinstance(keep, int) else int(len(data) * keep)]
    with pytest.raises(Unreadable) as caught:
        decode_image(cut)
    reason = caught.value.reason
    assert f"truncated or corrupt {fmt} image" in reason, reason
    assert "not an image of a supported format" not in reason


def test_bytes_of_no_format_read_here_still_say_so():
    with pytest.raises(Unreadable, match="not an image of a supported format"):
        decode_image(b"\x00\x01\x02\x03 plain binary, no image header at all")
