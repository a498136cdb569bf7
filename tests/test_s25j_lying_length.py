"""A server that announces more bytes than it sends cannot keep an image from being
judged, and a body that is really cut short is still never judged.

Before, a host that announced a Content-Length larger than ``fetch.max_bytes`` got
``too_large`` from the header alone (final, no copy tried), and one that announced more
than it sent and closed the connection got ``protocol_error``: browsers show the image
in both cases, and the default rules act on a failed download only for new or remote
accounts, so an established account's link was never classified. Now the body is read
(within ``max_bytes``); when it stops before its announced end, the bytes that came are
judged only when they are a whole image by the format's own structure (JPEG's EOI after
the scan, PNG's IEND, GIF's trailer, WebP's RIFF size), and the fetch result and log say
the length was misdeclared. Anything else stays ``protocol_error`` (or ``timeout``).
"""

from __future__ import annotations

import asyncio
import io
import logging
import random

import pytest
from PIL import Image
from test_fetch import HostileServer, run, send

from modbot.fetch import Fetcher, FetchLimits, FetchSkipped, FetchTimeout, ProtocolFailure, TooLarge
from modbot.fetch.whole import whole_image_end

MB = 1024 * 1024
LIE = 100 * MB  # announced: over the default max_bytes (25 MB)


def noisy(size: tuple[int, int] = (48, 40)) -> Image.Image:
    """Pixels that are noise: the JPEG's scan holds stuffed FF bytes and restarts."""
    pixels = random.Random(25).randbytes(size[0] * size[1] * 3)
    return Image.frombytes("RGB", size, pixels)


def encoded(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    noisy().save(out, fmt, **options)
    return out.getvalue()


def gif_animated() -> bytes:
    out = io.BytesIO()
    frames = [noisy().convert("P"), noisy((48, 40)).rotate(90).convert("P")]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], comment=b";" * 40)
    return out.getvalue()


JPEG = encoded("JPEG", quality=90)
PROGRESSIVE = encoded("JPEG", quality=90, progressive=True)
RESTARTS = encoded("JPEG", quality=90, restart_marker_blocks=1)
PNG = encoded("PNG")
GIF = gif_animated()
WEBP = encoded("WEBP", quality=80)


def with_exif_thumbnail(main: bytes, thumbnail: bytes) -> tuple[bytes, int]:
    """``main`` with ``thumbnail`` in an APP1 segment after its SOI, and where the
    thumbnail's own EOI ends in the result."""
    payload = b"Exif\x00\x00" + thumbnail
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return main[:2] + app1 + main[2:], 2 + 4 + 6 + len(thumbnail)


EXIF_JPEG, THUMBNAIL_END = with_exif_thumbnail(JPEG, encoded("JPEG", quality=30))
WHOLE = {
    "jpeg": JPEG,
    "progressive": PROGRESSIVE,
    "restarts": RESTARTS,
    "exif": EXIF_JPEG,
    "png": PNG,
    "gif": GIF,
    "webp": WEBP,
}
CUT = {
    "jpeg-half": JPEG[: len(JPEG) // 2],
    "jpeg-no-eoi": JPEG[:-2],
    "exif-after-thumbnail": EXIF_JPEG[:THUMBNAIL_END],  # the thumbnail's FFD9 is no end
    "progressive-first-scans": PROGRESSIVE[: len(PROGRESSIVE) * 2 // 3],
    "png-no-iend": PNG[:-12],
    "gif-no-trailer": GIF[:-1],
    "webp-short": WEBP[:-10],
}


# --- the structure, every way it can be cut --------------------------------------


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_whole_image_ends_where_it_ends_and_no_prefix_of_it_is_whole(name):
    data = WHOLE[name]
    assert whole_image_end(data) == len(data)
    # bytes after it (a trailer some cameras write, junk) leave the image whole
    assert whole_image_end(data + b"\xff\xd9 trailing junk") == len(data)
    cut_whole = [n for n in range(len(data)) if whole_image_end(data[:n]) is not None]
    assert cut_whole == []


def gif_of_tiny_sub_blocks(size: int) -> bytes:
    """A whole GIF whose pixel data is in sub-blocks of one byte (two bytes a step)."""
    head = b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + b"\x2c" + bytes(4) + b"\x01\x00\x01\x00\x00"
    return head + b"\x02" + b"\x01\x44" * (size // 2) + b"\x00\x3b"


def test_a_walk_is_bounded_by_the_size_and_a_file_past_it_is_not_whole():
    # a crafted file of a step per two bytes would hold the event loop for seconds at
    # 25 MB: past its bound (4096 steps and one per 8 bytes for a GIF) it is not read
    small, large = gif_of_tiny_sub_blocks(4000), gif_of_tiny_sub_blocks(64 * 1024)
    assert whole_image_end(small) == len(small)
    assert whole_image_end(large) is None


def test_formats_not_read_are_never_whole():
    # BMP is read since test_s26h_lying_length_formats; TIFF, ICO and JPEG XL in its
    # container since test_s27a_whole_tiff_ico_jxl: a bare JPEG XL codestream is not
    assert whole_image_end(b"\xff\x0a" + bytes(100)) is None
    assert whole_image_end(b"") is None


# --- the download -----------------------------------------------------------------


class LyingServer(HostileServer):
    """``/lie/<image>/<announced>/<close|stall>``: that Content-Length, the image's
    bytes, then the connection closed or left open; ``/chunked/<image>``: one chunk and
    no last chunk, then closed; ``/honest/<image>``; ``/flood``: 100 MB announced and
    sent."""

    async def route(self, path, w):
        name, image, *rest = path.lstrip("/").split("/")
        data = {**WHOLE, **CUT}.get(image, b"")
        if name == "honest":
            return send(w, 200, data, "image/jpeg")
        if name == "lie":
            announced, how = rest
            w.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {announced}\r\n\r\n".encode()
                + data
            )
            if how == "stall":
                await w.drain()
                await asyncio.sleep(30)
            return False
        if name == "chunked":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n")
            w.write(b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(data) + data + b"\r\n")
            return False
        if name == "flood":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
            w.write(f"Content-Length: {LIE}\r\n\r\n".encode() + JPEG)
            for _ in range(LIE // MB):
                w.write(bytes(MB))
                await w.drain()
            return False
        return send(w, 500, b"unknown route", "text/plain")


async def fetch_with(path, limits=None):
    """The result (a Fetched or the refusal), the body budget's peak and what it holds
    after."""
    async with (
        LyingServer() as server,
        Fetcher(limits, allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher,
    ):
        try:
            got = await fetcher.fetch(server.base + path)
        except FetchSkipped as exc:
            got = exc
        return got, fetcher.body_budget.peak, fetcher.body_budget.in_use


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_more_announced_than_max_bytes_and_a_whole_image_sent_is_judged(name, caplog):
    caplog.set_level(logging.INFO, logger="modbot.fetch")
    data = WHOLE[name]
    got, peak, in_use = run(fetch_with(f"/lie/{name}/{LIE}/close?token=s3cret"))
    assert not isinstance(got, FetchSkipped), got
    assert got.data == data and got.media_type.startswith("image/")
    said = f"the server announced {LIE} bytes and sent {len(data)}"
    assert got.ended_early.startswith(said) and "a whole image, judged" in got.ended_early
    assert said in caplog.text and "s3cret" not in caplog.text
    # memory was held for max_bytes while reading, never for what the header said
    assert peak == FetchLimits().max_bytes and in_use == len(data)
    got.release()


def test_a_little_more_announced_than_sent_and_a_whole_image_is_judged():
    got, _peak, _in_use = run(fetch_with(f"/lie/png/{len(PNG) + 1000}/close"))
    assert got.data == PNG and got.media_type == "image/png"
    assert f"announced {len(PNG) + 1000} bytes and sent {len(PNG)}" in got.ended_early


@pytest.mark.parametrize("name", sorted(CUT))
@pytest.mark.parametrize("announced", ["much", "a little"])
def test_a_body_cut_short_is_never_judged(name, announced):
    data = CUT[name]
    size = LIE if announced == "much" else len(data) + 1000
    got, _peak, in_use = run(fetch_with(f"/lie/{name}/{size}/close"))
    assert isinstance(got, ProtocolFailure) and got.reason == "protocol_error"
    assert f"cut short: the server announced {size} bytes and sent {len(data)}" in got.message
    assert "not a whole image (never judged)" in got.message
    assert in_use == 0


def test_more_than_max_bytes_sent_is_too_large_even_when_whole():
    limits = FetchLimits(max_bytes=len(JPEG) - 1)
    got, _peak, in_use = run(fetch_with(f"/lie/jpeg/{LIE}/close", limits))
    assert isinstance(got, TooLarge) and got.reason == "too_large"
    assert f"more than {len(JPEG) - 1} bytes sent" in got.message
    assert in_use == 0
    # a whole image within the cap, then 100 MB of zeros: the image is judged, the rest
    # not read (since test_s27a_junk_after_image; before, too_large)
    got, _peak, in_use = run(fetch_with("/flood/jpeg", FetchLimits(max_bytes=MB)))
    assert got.data == JPEG
    assert got.ended_early.startswith(f"more than {MB} bytes came; the first {len(JPEG)} are")


def test_a_correct_length_is_fetched_as_before():
    got, _peak, _in_use = run(fetch_with("/honest/jpeg"))
    assert got.data == JPEG and got.ended_early is None
    # a whole image cut short by its own header's length is whole to the parser too
    got, _peak, _in_use = run(fetch_with("/honest/jpeg-half"))
    assert got.data == CUT["jpeg-half"] and got.ended_early is None


def test_a_chunked_body_without_its_last_chunk_is_judged_only_when_whole():
    got, _peak, _in_use = run(fetch_with("/chunked/png"))
    assert got.data == PNG and got.ended_early.startswith(f"{len(PNG)} bytes came")
    got, _peak, _in_use = run(fetch_with("/chunked/png-no-iend"))
    assert isinstance(got, ProtocolFailure) and "not a whole image" in got.message


def test_a_server_that_stalls_after_a_whole_image_does_not_hide_it():
    # not closing the connection is the next trick: the read timeout ends it
    limits = FetchLimits(read_timeout=0.3)
    got, _peak, _in_use = run(fetch_with(f"/lie/jpeg/{LIE}/stall", limits))
    assert got.data == JPEG and "download stopped (timeout)" in got.ended_early
    got, _peak, _in_use = run(fetch_with(f"/lie/jpeg-half/{LIE}/stall", limits))
    assert isinstance(got, FetchTimeout) and "read timed out; cut short" in got.message
    # nor does the whole download's deadline while it stalls (a trickle would pass the
    # read timeout)
    limits = FetchLimits(read_timeout=5, total_timeout=0.5)
    got, _peak, _in_use = run(fetch_with(f"/lie/gif/{LIE}/stall", limits))
    assert got.data == GIF and "(timeout)" in got.ended_early
    got, _peak, _in_use = run(fetch_with(f"/lie/gif-no-trailer/{LIE}/stall", limits))
    assert isinstance(got, FetchTimeout) and "0.5 s in all; cut short" in got.message
