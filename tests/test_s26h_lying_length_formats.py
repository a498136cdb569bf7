"""A lying Content-Length hides no AVIF, HEIC or BMP, and a bare JPEG XL codestream cut
short says why it is not judged (TIFF, ICO and JPEG XL in its container: s27a).

Before, a JPEG/PNG/GIF/WebP whose server announced more than it sent was judged when
what came was a whole image, but an AVIF, HEIC or BMP in the same case was
``protocol_error`` ("not a whole image"), whole or not. Now their structure is read too
(the ISO BMFF ``meta`` box and the byte ranges its ``iloc`` names; a BMP's pixel array
by its header), and a format still not read says so in the refusal.
"""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image
from test_fetch import HostileServer, run

from modbot.fetch import Fetcher, FetchSkipped, ProtocolFailure
from modbot.fetch.whole import whole_image_end

LIE = 100 * 1024 * 1024


def encoded(fmt: str) -> bytes:
    pixels = random.Random(26).randbytes(48 * 40 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 40), pixels).save(out, fmt)
    return out.getvalue()


AVIF = encoded("AVIF")
# the same boxes under HEIC's brands: what is read is the container, not the codec
HEIC = AVIF[:8] + b"heic" + AVIF[12:16] + b"mif1heic" + AVIF[24:]
BMP = encoded("BMP")
TIFF = encoded("TIFF")
JXL = b"\xff\x0a" + random.Random(1).randbytes(300)


def _mdat_start(data: bytes) -> int:
    return data.index(b"mdat") - 4


WHOLE = {"avif": AVIF, "heic": HEIC, "bmp": BMP, "tiff": TIFF}
CUT = {
    "avif-half-mdat": AVIF[: (_mdat_start(AVIF) + len(AVIF)) // 2],
    "avif-no-mdat": AVIF[: _mdat_start(AVIF)],  # the boxes before it are all whole
    "avif-last-byte": AVIF[:-1],
    "heic-no-mdat": HEIC[: _mdat_start(HEIC)],
    "bmp-last-row": BMP[: len(BMP) - 48 * 3],
    "bmp-last-byte": BMP[:-1],
}
UNREAD = {
    "jxl": (JXL, "a bare JPEG XL codestream has no length or end marker"),
}


class LyingServer(HostileServer):
    """``/<image>``: a Content-Length of 100 MB, the image's bytes, then closed."""

    async def route(self, path, w):
        name = path.lstrip("/")
        data = {**WHOLE, **CUT, **{k: v[0] for k, v in UNREAD.items()}}[name]
        w.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {LIE}\r\n\r\n".encode()
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
    data = WHOLE[name]
    assert whole_image_end(data) == len(data)
    assert whole_image_end(data + b"junk after it") == len(data)
    assert [n for n in range(len(data)) if whole_image_end(data[:n]) is not None] == []


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("avif", "image/avif"), ("heic", "image/heic"), ("bmp", "image/bmp"), ("tiff", "image/tiff")],
)
def test_a_whole_image_under_a_lying_length_is_judged(name, media_type):
    got = run(fetch(name))
    # before: protocol_error, "not a whole image (never judged)"
    assert not isinstance(got, FetchSkipped), got
    assert got.data == WHOLE[name] and got.media_type == media_type
    assert got.ended_early.startswith(f"the server announced {LIE} bytes and sent")
    assert "a whole image, judged" in got.ended_early


@pytest.mark.parametrize("name", sorted(CUT))
def test_a_cut_image_under_a_lying_length_is_never_judged(name):
    got = run(fetch(name))
    assert isinstance(got, ProtocolFailure), got
    assert got.reason == "protocol_error"
    assert "not a whole image (never judged)" in got.message


@pytest.mark.parametrize("name", sorted(UNREAD))
def test_a_format_not_read_says_why_it_is_not_judged(name):
    data, why = UNREAD[name]
    assert whole_image_end(data) is None
    got = run(fetch(name))
    assert isinstance(got, ProtocolFailure), got
    # before: "not a whole image", as if it had been read and found cut
    assert f"{why}" in got.message and "whole or not (never judged)" in got.message
    assert "not a whole image" not in got.message


def test_an_avif_whose_extent_runs_to_the_end_of_the_file_is_not_whole():
    # an iloc extent of length 0 means "to the end of the file": which end, unknown
    data = bytearray(AVIF)
    iloc = data.index(b"iloc")
    # version 0, offset/length sizes 4/4, base 0: the first item's only extent's length
    assert data[iloc + 4] == 0 and data[iloc + 8] == 0x44 and data[iloc + 9] == 0x00
    length_at = iloc + 4 + 4 + 2 + 2 + 2 + 2 + 2 + 4
    assert int.from_bytes(data[length_at : length_at + 4], "big") > 0
    data[length_at : length_at + 4] = bytes(4)
    assert whole_image_end(bytes(data)) is None
