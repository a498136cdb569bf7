"""A lying Content-Length hides no TIFF, ICO or JPEG XL (in its container) either.

Before, a TIFF, ICO or JPEG XL whose server announced more than it sent was never
judged ("a TIFF's strips may lie anywhere in the file, so its end is not read", "the
end of an image/x-icon file is not read"), whole or not. Now their structure is read:
a TIFF's IFDs and every strip or tile they point at (in any order), an ICO's directory
of images, a JPEG XL container's codestream box. A bare JPEG XL codestream still has no
end to read, and its refusal says so.
"""

from __future__ import annotations

import io
import random
import struct

import pytest
from PIL import Image
from test_fetch import HostileServer, run

from modbot.fetch import Fetcher, FetchSkipped, ProtocolFailure
from modbot.fetch.whole import whole_image_end

LIE = 100 * 1024 * 1024
IMAGE = Image.frombytes("RGB", (48, 40), random.Random(27).randbytes(48 * 40 * 3))


def encoded(**options) -> bytes:
    out = io.BytesIO()
    IMAGE.save(out, **options)
    return out.getvalue()


def box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I", 8 + len(content)) + kind + content


def reversed_strips_tiff() -> bytes:
    """A 2x2 grey TIFF as libtiff lays one out: the strips first (the second before the
    first), the IFD after them."""
    second, first = b"\x40\x80", b"\x10\x20"
    ifd_at = 8 + 4
    entries = [
        (256, 3, 1, 2),  # ImageWidth
        (257, 3, 1, 2),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # BlackIsZero
        (273, 4, 2, ifd_at + 2 + 12 * 8 + 4),  # StripOffsets: a table after the IFD
        (278, 3, 1, 1),  # RowsPerStrip
        (279, 3, 2, (2 << 16) | 2),  # StripByteCounts: two SHORTs, in the entry
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    offsets = struct.pack("<II", 10, 8)  # the first strip at 10, the second at 8
    return b"II*\x00" + struct.pack("<I", ifd_at) + second + first + ifd + offsets


JXL_CODESTREAM = b"\xff\x0a" + random.Random(2).randbytes(300)
JXL_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
JXL_FTYP = box(b"ftyp", b"jxl \x00\x00\x00\x00jxl ")
JXL_JXLC = JXL_SIGNATURE + JXL_FTYP + box(b"jxlc", JXL_CODESTREAM)
JXL_JXLP = (
    JXL_SIGNATURE
    + JXL_FTYP
    + box(b"jxlp", struct.pack(">I", 0) + JXL_CODESTREAM[:100])
    + box(b"jxlp", struct.pack(">I", 0x80000001) + JXL_CODESTREAM[100:])
)

WHOLE = {
    "tiff-lzw": (encoded(format="TIFF", compression="tiff_lzw"), "image/tiff"),
    "tiff-libtiff-layout": (reversed_strips_tiff(), "image/tiff"),
    "ico": (encoded(format="ICO", sizes=[(16, 16), (32, 32)]), "image/x-icon"),
    "jxl-jxlc": (JXL_JXLC, "image/jxl"),
    "jxl-jxlp": (JXL_JXLP, "image/jxl"),
}
MULTI_PAGE = encoded(format="TIFF", save_all=True, append_images=[IMAGE.rotate(90)])
CUT = {
    "tiff-second-page-cut": MULTI_PAGE[: len(MULTI_PAGE) - 100],
    "tiff-first-strip-missing": reversed_strips_tiff()[:9] + bytes(3),
    "ico-last-image-cut": WHOLE["ico"][0][:-1],
    "jxl-first-part-only": JXL_JXLP[: len(JXL_SIGNATURE + JXL_FTYP) + 8 + 104],
}


class LyingServer(HostileServer):
    """``/<image>``: a Content-Length of 100 MB, the image's bytes, then closed."""

    async def route(self, path, w):
        name = path.lstrip("/")
        data = {**{k: v[0] for k, v in WHOLE.items()}, **CUT, "jxl-bare": JXL_CODESTREAM}[name]
        w.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {LIE}\r\n\r\n".encode()
            + data
        )
        return False


async def fetch(name):
    async with (
        LyingServer() as server,
        Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher,
    ):
        try:
            return await fetcher.fetch(f"{server.base}/{name}")
        except FetchSkipped as exc:
            return exc


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_whole_image_is_whole_and_no_prefix_of_it_is(name):
    data = WHOLE[name][0]
    assert whole_image_end(data) == len(data)
    assert whole_image_end(data + b"junk after it") == len(data)
    assert [n for n in range(len(data)) if whole_image_end(data[:n]) is not None] == []


def test_a_multi_page_tiff_is_whole_only_with_every_page():
    end = whole_image_end(MULTI_PAGE)
    assert end is not None and end > len(MULTI_PAGE) // 2 + 100
    assert whole_image_end(MULTI_PAGE[: end - 1]) is None


def test_a_tiff_whose_ifds_point_at_each_other_ends():
    data = bytearray(reversed_strips_tiff())
    next_ifd_at = 12 + 2 + 12 * 8
    data[next_ifd_at : next_ifd_at + 4] = struct.pack("<I", 12)  # back to itself
    assert whole_image_end(bytes(data)) == len(data)


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_whole_image_under_a_lying_length_is_judged(name):
    data, media_type = WHOLE[name]
    got = run(fetch(name))
    # before: protocol_error, "... its end is not read, whole or not (never judged)"
    assert not isinstance(got, FetchSkipped), got
    assert got.data == data and got.media_type == media_type
    assert "a whole image, judged" in got.ended_early


@pytest.mark.parametrize("name", sorted(CUT))
def test_a_cut_image_under_a_lying_length_is_never_judged(name):
    assert whole_image_end(CUT[name]) is None
    got = run(fetch(name))
    assert isinstance(got, ProtocolFailure), got
    assert "not a whole image (never judged)" in got.message
    assert "is not read" not in got.message


def test_a_bare_jpeg_xl_codestream_says_why_it_is_not_judged():
    got = run(fetch("jxl-bare"))
    assert isinstance(got, ProtocolFailure), got
    assert (
        "a bare JPEG XL codestream has no length or end marker short of decoding it, "
        "whole or not (never judged)" in got.message
    )
