"""A whole image followed by more than ``max_bytes`` of junk is judged by the bytes up to
its end, the junk not read past the cap.

Before: such a download was ``too_large`` ("more than N bytes sent, over the limit"),
although the image itself was whole and under the cap (browsers show it, and ignore
what follows). Now, when a body passes ``max_bytes``, what came within the cap is read
by the format's own structure (``whole.whole_image_end``): a whole image there is
judged, its bytes only (the hash is the image's, whatever junk followed); anything
else stays ``too_large``. Nothing past the cap (and the chunk that crossed it) is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random

from PIL import Image
from test_fetch import HostileServer, run

from modbot.fetch import Fetcher, FetchLimits, FetchSkipped, TooLarge

CAP = 64 * 1024
JUNK = 512 * 1024 * 1024  # far past the cap: sent while anyone reads
IMAGE = Image.frombytes("RGB", (40, 30), random.Random(4).randbytes(40 * 30 * 3))


def encoded(fmt: str) -> bytes:
    out = io.BytesIO()
    IMAGE.save(out, fmt)
    return out.getvalue()


PNG = encoded("PNG")
BIG_PNG_START = PNG[:33] + bytes(CAP * 2)  # a PNG whose chunks run past the cap


class JunkServer(HostileServer):
    """``/<name>/<length|chunked>``: the image's bytes, then junk, 512 MB in all;
    counts the bytes it could send."""

    sent = 0

    async def route(self, path, w):
        _, name, framing = path.split("/")
        head = {"png": PNG, "cut": BIG_PNG_START}[name]
        length = len(head) + JUNK
        framing_header = (
            f"Content-Length: {length}" if framing == "length" else "Transfer-Encoding: chunked"
        )
        w.write(f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n{framing_header}\r\n\r\n".encode())
        block = random.Random(5).randbytes(16 * 1024)
        try:
            for data in [head, *([block] * (JUNK // len(block)))]:
                w.write(data if framing == "length" else b"%x\r\n%s\r\n" % (len(data), data))
                await w.drain()
                self.sent += len(data)
        except ConnectionError:
            pass
        return False


async def fetch(path):
    async with (
        JunkServer() as server,
        Fetcher(
            FetchLimits(max_bytes=CAP, max_bytes_held=CAP),
            allowed_hosts={f"127.0.0.1:{server.port}"},
        ) as fetcher,
    ):
        try:
            got = await fetcher.fetch(f"{server.base}{path}")
        except FetchSkipped as exc:
            got = exc
        await asyncio.sleep(0.2)  # what the server could still send before it saw the close
        return got, server.sent


def test_a_whole_image_before_junk_past_the_cap_is_judged():
    for framing in ("length", "chunked"):
        got, sent = run(fetch(f"/png/{framing}"))
        # before: too_large, "more than 65536 bytes sent, over the limit"
        assert not isinstance(got, FetchSkipped), (framing, got)
        assert got.data == PNG and got.media_type == "image/png"
        assert got.sha256 == hashlib.sha256(PNG).hexdigest()
        assert got.ended_early == (
            f"more than {CAP} bytes came; the first {len(PNG)} are a whole image, judged "
            "(what follows it was not read)"
        )
        assert sent < 64 * 1024 * 1024  # the 512 MB were not read (socket buffers aside)


def test_an_image_that_runs_past_the_cap_is_still_too_large():
    got, sent = run(fetch("/cut/length"))
    assert isinstance(got, TooLarge), got
    assert got.reason == "too_large"
    assert got.message == f"more than {CAP} bytes sent, over the limit"
    assert sent < 64 * 1024 * 1024
