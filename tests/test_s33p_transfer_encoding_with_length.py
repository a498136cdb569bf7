"""An answer with a ``Content-Length`` beside a ``Transfer-Encoding`` browsers do not
read as chunked is read by its length, as browsers read it: any in HTTP/1.0 (which has
no transfer codings: RFC 9112 §6.1 calls its framing faulty; Chromium and Firefox
ignore it), one without chunked in HTTP/1.1. And an HTTP/1.1 answer listing chunked
anywhere is read by its chunks, as browsers read it. aiohttp's parser refused each
(``protocol_error``): a host answering so showed everyone its image and the bot nothing
to judge. The byte cap still holds, and such a connection is not used again.

A public host name is played by a local server (the fetcher's ``dial``).
"""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from PIL import Image

from modbot.fetch import Fetcher, FetchLimits, FetchSkipped

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (30, 30, 200)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()
N = len(PNG)


def chunked(body: bytes, size: int = 40) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


class Host:
    """Answers each request on a connection with ``answer`` (the whole answer, its
    status line too), the connection kept open; counts the connections made to it."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.connections = 0

    async def __aenter__(self) -> Host:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(answer: bytes, times: int = 1, limits: FetchLimits | None = None):
    """Each fetch's image (or refusal) of ``http://images.example/a.png``, answered with
    ``answer``; and the connections the server saw."""

    async def go():
        async with Host(answer) as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
                got = []
                for _ in range(times):
                    try:
                        got.append(await fetcher.fetch("http://images.example/a.png"))
                    except FetchSkipped as exc:
                        got.append(exc)
            return got, server.connections

    return asyncio.run(asyncio.wait_for(go(), 20))


HEAD = b" 200 OK\r\nContent-Type: image/png\r\n"
BY_LENGTH = {
    # (its keep-alive is not kept)
    "http1.0-chunked": b"HTTP/1.0"
    + HEAD
    + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n" % N
    + PNG,
    "http1.0-length-first": b"HTTP/1.0"
    + HEAD
    + b"Content-Length: %d\r\nTransfer-Encoding: identity\r\n\r\n" % N
    + PNG,
    "http1.1-gzip-coding": b"HTTP/1.1"
    + HEAD
    + b"Transfer-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % N
    + PNG,
}
BY_CHUNKS = {
    "http1.1-chunked-not-last": b"HTTP/1.1"
    + HEAD
    + b"Transfer-Encoding: chunked, gzip\r\nContent-Length: 7\r\n\r\n"
    + chunked(PNG),
}


@pytest.mark.parametrize(
    "answer", [*BY_LENGTH.values(), *BY_CHUNKS.values()], ids=[*BY_LENGTH, *BY_CHUNKS]
)
def test_the_image_browsers_show_is_judged_and_its_connection_not_used_again(answer):
    got, connections = fetch(answer, times=2)
    for one in got:
        assert not isinstance(one, FetchSkipped), one
        assert one.data == PNG and one.media_type == "image/png"
    assert connections == 2


def test_the_byte_cap_holds():
    answer = (
        b"HTTP/1.0" + HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5000\r\n\r\n"
    ) + os.urandom(5000)
    (got,), _ = fetch(answer, limits=FetchLimits(max_bytes=1000, max_bytes_held=1000))
    assert isinstance(got, FetchSkipped) and got.reason == "too_large", got


def test_lengths_that_differ_beside_a_coding_are_still_refused():
    answer = b"HTTP/1.0" + HEAD + b"Transfer-Encoding: chunked\r\n"
    answer += b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (N, N + 1) + PNG
    (got,), _ = fetch(answer)
    assert isinstance(got, FetchSkipped) and got.reason == "protocol_error", got
