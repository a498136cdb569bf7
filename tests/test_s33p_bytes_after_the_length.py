"""Bytes a server sends after the body its ``Content-Length`` announced (a script's
stray newline, or a host hiding its image) are not read, as browsers read none: the
image is judged, and the connection is not used again (Chromium's
``CanReuseConnection``: extra data after a response). aiohttp's parser refused such an
answer (``protocol_error``: "Data after `Connection: close`", or the bytes read as the
next answer's "Bad status line"), so a host answering so showed everyone its image and
the bot nothing to judge.

A public host name is played by a local server (the fetcher's ``dial``).
"""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from modbot.fetch import Fetcher, FetchSkipped

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (10, 160, 160)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()
N = len(PNG)
JUNK = b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc and more"


class Host:
    """Answers each request on a connection with ``answer`` (its status line too), in
    two writes when ``split`` (the first up to that byte), the connection kept open;
    counts the connections made to it."""

    def __init__(self, answer: bytes, split: int = 0) -> None:
        self.answer = answer
        self.split = split
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
                for piece in (self.answer[: self.split], self.answer[self.split :]):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.05)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(answer: bytes, times: int = 2, split: int = 0):
    async def go():
        async with Host(answer, split) as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                got = []
                for _ in range(times):
                    try:
                        got.append(await fetcher.fetch("http://images.example/a.png"))
                    except FetchSkipped as exc:
                        got.append(exc)
            return got, server.connections

    return asyncio.run(asyncio.wait_for(go(), 20))


HEAD = b" 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n" % N
ANSWERS = {
    "keep-alive": b"HTTP/1.1" + HEAD + b"\r\n" + PNG + JUNK,
    "connection-close": b"HTTP/1.1" + HEAD + b"Connection: close\r\n\r\n" + PNG + JUNK,
    "http1.0": b"HTTP/1.0" + HEAD + b"\r\n" + PNG + JUNK,
}


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS)
def test_the_image_is_judged_and_the_connection_not_used_again(answer):
    got, connections = fetch(answer)
    for one in got:
        assert not isinstance(one, FetchSkipped), one
        assert one.data == PNG and one.media_type == "image/png"
    assert connections == 2


def test_such_bytes_coming_with_the_end_of_a_body_begun_before_are_not_read_either():
    answer = ANSWERS["keep-alive"]
    got, connections = fetch(answer, split=len(answer) - len(JUNK) - 10)
    assert all(not isinstance(one, FetchSkipped) and one.data == PNG for one in got), got
    assert connections == 2


def test_an_answer_without_such_bytes_keeps_its_connection():
    got, connections = fetch(b"HTTP/1.1" + HEAD + b"\r\n" + PNG)
    assert all(not isinstance(one, FetchSkipped) and one.data == PNG for one in got), got
    assert connections == 1
