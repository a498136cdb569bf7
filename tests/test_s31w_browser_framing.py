"""An answer framed as browsers accept it is read: ``Transfer-Encoding: chunked`` with a
``Content-Length`` (the chunks say where the body ends: RFC 9112 §6.3), and a
``Content-Length`` repeated with one value (two fields, or ``n, n``). aiohttp's parser
refused both, so a host answering so showed everyone its image and the bot
``protocol_error``: never judged. The byte cap still holds, a length that differs
between its copies is still refused (browsers refuse it), and a connection whose answer
had both framings is not used again.

A public host name is played by a local server (the fetcher's ``dial``): the requests
take the path any link's do, the address checked before connecting.
"""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from PIL import Image

from modbot.fetch import Fetcher, FetchLimits, ProtocolFailure, TooLarge

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()
N = len(PNG)


def chunked(body: bytes, size: int = 40) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


class Host:
    """A server answering each request with ``answer`` (after the status line), in
    pieces of ``piece`` bytes, closing the connection after it when ``close``; counts the
    connections made to it."""

    def __init__(
        self, answer: bytes, piece: int = 0, status: bytes = b"200 OK", close: bool = False
    ) -> None:
        self.answer = b"HTTP/1.1 " + status + b"\r\nContent-Type: image/png\r\n" + answer
        self.piece = piece
        self.close = close
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
                step = self.piece or len(self.answer)
                for at in range(0, len(self.answer), step):
                    writer.write(self.answer[at : at + step])
                    await writer.drain()
                    if self.piece:
                        await asyncio.sleep(0)
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(answer: bytes, times: int = 1, limits: FetchLimits | None = None, **host: object):
    async def go():
        async with Host(answer, **host) as server:  # type: ignore[arg-type]
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
                got = []
                for _ in range(times):
                    try:
                        got.append(await fetcher.fetch("http://images.example/a.png"))
                    except (ProtocolFailure, TooLarge) as exc:
                        got.append(exc)
            return got, server.connections

    return asyncio.run(asyncio.wait_for(go(), 20))


CHUNKED_AND_LENGTH = {
    "chunked-then-length": b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % N
    + chunked(PNG),
    "length-then-chunked": b"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunked(PNG),
    "chunked-last-coding": b"Content-Length: %d\r\nTransfer-Encoding: identity, Chunked\r\n\r\n" % N
    + chunked(PNG),
}
REPEATED_LENGTH = {
    "two-fields": b"Content-Length: %d\r\nX-A: b\r\ncontent-length:%d\r\n\r\n" % (N, N) + PNG,
    "list": b"Content-Length: %d, %d\r\n\r\n" % (N, N) + PNG,
    "three-in-two-fields": b"Content-Length: %d,%d\r\nContent-Length: %d \r\n\r\n" % (N, N, N)
    + PNG,
}


@pytest.mark.parametrize(
    "answer",
    [*CHUNKED_AND_LENGTH.values(), *REPEATED_LENGTH.values()],
    ids=[*CHUNKED_AND_LENGTH, *REPEATED_LENGTH],
)
def test_an_answer_framed_as_browsers_accept_is_judged(answer):
    (got,), _ = fetch(answer)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_its_head_in_one_byte_pieces_after_an_interim_answer_is_read_too():
    answer = (
        b"\r\n"  # (ends the 103's head, whose Content-Type the Host class wrote)
        + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        + chunked(PNG)
    )
    (got,), _ = fetch(answer, piece=1, status=b"103 Early Hints")
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_lengths_that_differ_are_refused_as_browsers_refuse_them():
    (got,), _ = fetch(b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (N, N + 1) + PNG)
    assert isinstance(got, ProtocolFailure)
    assert "Content-Length" in got.message


def test_a_head_cut_short_is_still_a_broken_answer():
    (got,), _ = fetch(b"Content-Length: %d\r\nX-Half: " % N, close=True)
    assert isinstance(got, ProtocolFailure)


@pytest.mark.parametrize(
    "answer",
    [
        b"Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n" + chunked(os.urandom(5000)),
        b"Content-Length: 5000\r\nContent-Length: 5000\r\n\r\n" + os.urandom(5000),
    ],
    ids=["chunked-and-length", "repeated-length"],
)
def test_the_byte_cap_holds(answer):
    (got,), _ = fetch(answer, limits=FetchLimits(max_bytes=1000, max_bytes_held=1000))
    assert isinstance(got, TooLarge)


def test_a_connection_that_had_both_framings_is_not_used_again():
    got, connections = fetch(CHUNKED_AND_LENGTH["chunked-then-length"], times=2)
    assert all(g.data == PNG for g in got)
    assert connections == 2
    # an answer framed one way keeps its connection, as before
    got, connections = fetch(b"Content-Length: %d\r\n\r\n" % N + PNG, times=2)
    assert all(g.data == PNG for g in got)
    assert connections == 1


def test_thousands_of_interim_answers_in_one_piece_are_refused():
    # (read in turn before, seconds of a busy event loop: test_s31t_interim_answers)
    interim = b"\r\n" + b"HTTP/1.1 100 Continue\r\n\r\n" * 3000
    answer = interim + b"HTTP/1.1 200 OK\r\nContent-Length: %d, %d\r\n\r\n" % (N, N) + PNG
    (got,), _ = fetch(answer, status=b"100 Continue")
    assert isinstance(got, ProtocolFailure)
    assert "interim (1xx) answers" in got.message


@pytest.mark.parametrize(
    "length", [b"Content-Length: abc\r\n", b"Content-Length:\r\n", b"Content-Length: 4x, 4x\r\n"]
)
def test_a_length_that_is_no_number_is_read_to_the_connections_end(length):
    (got,), _ = fetch(length + b"\r\n" + PNG, close=True)
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    # and within the cap, as any body
    (got,), _ = fetch(
        length + b"\r\n" + os.urandom(5000),
        limits=FetchLimits(max_bytes=1000, max_bytes_held=1000),
        close=True,
    )
    assert isinstance(got, TooLarge)
