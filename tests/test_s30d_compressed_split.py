"""A gzip or deflate body is inflated whole however the network cuts it. Where a piece
that came ended one byte into a stream (a deflate body's first byte alone, or the first
byte of a gzip body's next member), that byte was inflated twice: a deflate body a
browser shows was refused as ``protocol_error``, and a gzip body of two members (``gzip
-c a b``, which browsers read whole) was taken to end after the first: half the image
was judged as the image, which the fetcher promises never to do.

A local server sends the body in two writes, the cut where it falls.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import zlib

import pytest
from PIL import Image

from modbot.fetch import Fetcher

_BUF = io.BytesIO()
Image.effect_noise((64, 48), 80).convert("RGB").save(_BUF, format="PNG")
PNG = _BUF.getvalue()
HALF = len(PNG) // 2
FIRST = gzip.compress(PNG[:HALF])
TWO_MEMBERS = FIRST + gzip.compress(PNG[HALF:])


async def fetch(body: bytes, cut: int, encoding: str):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                b"Content-Encoding: %s\r\n\r\n" % encoding.encode() + body[:cut]
            )
            await writer.drain()
            await asyncio.sleep(0.2)  # the client has read the first piece on its own
            writer.write(body[cut:])
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Fetcher(allowed_hosts={f"127.0.0.1:{port}"}) as fetcher:
            return await fetcher.fetch(f"http://127.0.0.1:{port}/img")
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("body", "cut", "encoding"),
    [
        (TWO_MEMBERS, len(FIRST) + 1, "gzip"),  # one byte into the second member
        (zlib.compress(PNG), 1, "deflate"),  # its zlib header's first byte alone
        (zlib.compress(PNG)[2:-4], 1, "deflate"),  # raw deflate, as some servers send
        (TWO_MEMBERS, len(FIRST), "gzip"),  # cuts that were read right: still are
        (zlib.compress(PNG), 2, "deflate"),
    ],
    ids=["gzip-member", "deflate", "raw-deflate", "gzip-at-member", "deflate-at-2"],
)
def test_a_compressed_body_cut_one_byte_into_a_stream_is_inflated_whole(body, cut, encoding):
    got = asyncio.run(asyncio.wait_for(fetch(body, cut, encoding), 20))

    assert got.data == PNG  # the whole image, as browsers show it
    assert got.ended_early is None
