"""``fetch.max_bytes`` bounds what a server sends, compressed or not: a gzip or deflate
body that inflates to a small image but is padded with compressed nothing (empty
deflate blocks, empty gzip members), megabytes of it, is not read past ``max_bytes``
of what came, as a plain body would not be. Before, only the inflated bytes were
counted: such a body was read to its end (for as long as the server kept sending, up
to the download's deadline). Since test_s27a_junk_after_image the whole image within
the cap is judged (it was ``too_large`` here before, never judged).
"""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from test_s25c_redirect_host_limit import PNG

from modbot.fetch import Fetcher, FetchLimits, TooLarge

MB = 1024 * 1024


def deflate_padded(padding: int) -> bytes:
    """The PNG, then ``padding`` bytes of empty stored blocks, then the stream's end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 15)
    head = packer.compress(PNG) + packer.flush(zlib.Z_SYNC_FLUSH)
    empty = b"\x00\x00\x00\xff\xff"  # a stored block of no bytes (what a sync flush writes)
    return head + empty * (padding // len(empty)) + packer.flush()


def gzip_padded(padding: int) -> bytes:
    """The PNG in one gzip member, then ``padding`` bytes of empty members."""
    empty = gzip.compress(b"")
    return gzip.compress(PNG) + empty * (padding // len(empty))


class Server:
    """Sends ``body`` with ``encoding`` (no Content-Length, then closes); counts what
    it got onto the wire before the client went."""

    def __init__(self, body: bytes, encoding: str) -> None:
        self.body, self.encoding = body, encoding
        self.sent = 0

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/img"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                b"Content-Encoding: %s\r\n\r\n" % self.encoding.encode()
            )
            for start in range(0, len(self.body), 64 * 1024):
                piece = self.body[start : start + 64 * 1024]
                writer.write(piece)
                await writer.drain()
                self.sent += len(piece)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went, or the test is over
        finally:
            writer.close()


async def fetch(body: bytes, encoding: str, limits: FetchLimits):
    async with Server(body, encoding) as server:
        host = server.url.split("/")[2]
        async with Fetcher(limits, allowed_hosts={host}) as fetcher:
            try:
                return await fetcher.fetch(server.url), server.sent
            except TooLarge as exc:
                return exc, server.sent


@pytest.mark.parametrize(
    ("body", "encoding"),
    [(deflate_padded(24 * MB), "deflate"), (gzip_padded(24 * MB), "gzip")],
    ids=["deflate-empty-blocks", "gzip-empty-members"],
)
def test_compressed_padding_past_max_bytes_is_not_read(body, encoding):
    limits = FetchLimits(max_bytes=1 * MB, max_bytes_held=1 * MB)
    got, sent = asyncio.run(asyncio.wait_for(fetch(body, encoding, limits), 60))
    assert not isinstance(got, TooLarge), got
    assert got.data == PNG and got.ended_early.startswith(f"more than {MB} bytes came")
    assert sent < 12 * MB  # the client stopped reading (what socket buffers took aside)


def test_a_compressed_image_under_max_bytes_is_still_read():
    limits = FetchLimits(max_bytes=1 * MB, max_bytes_held=1 * MB)
    for body, encoding in ((deflate_padded(MB // 2), "deflate"), (gzip_padded(MB // 2), "gzip")):
        got, _ = asyncio.run(asyncio.wait_for(fetch(body, encoding, limits), 60))
        assert not isinstance(got, TooLarge) and got.data == PNG
