"""Which 1xx answers are interim (bodiless, another head after them) is what aiohttp's
parser says: 100, 102 and 103, and any other but 101 with no length above 0 and no
``Transfer-Encoding`` (llhttp; its pure-Python parser reads no 1xx body either). Before,
every 1xx but 101 was taken for one, while llhttp reads a body after 104-199 by its
length: the head rewrite then ran inside that body, the two disagreed on where the answer
ended, and an image everyone sees through aiohttp was ``protocol_error``. Now such an
answer reaches the parser as it came. (That a bodiless one is interim:
``test_s31r_any_interim_code``.)

A public host name is played by a local server (the fetcher's ``dial``), as in
``test_s31w_browser_framing``.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from test_s31w_browser_framing import PNG, Host, N, _public

from modbot.fetch import Fetcher, ProtocolFailure
from modbot.fetch.framing import as_browsers_frame


def both_ways(answer: bytes, status: bytes) -> tuple[bytes | str, bytes | str]:
    """The body the fetcher reads from ``answer`` and the body aiohttp alone reads (no
    head rewrite), or "refused" for a broken answer."""

    async def go():
        async with Host(answer, status=status) as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                try:
                    wrapped: bytes | str = (await fetcher.fetch("http://images.example/")).data
                except ProtocolFailure:
                    wrapped = "refused"
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.get(f"http://127.0.0.1:{server.port}/") as response:
                        plain: bytes | str = await response.read()
                except aiohttp.ClientResponseError:
                    plain = "refused"
        return wrapped, plain

    return asyncio.run(asyncio.wait_for(go(), 20))


# looks like a head, and is the 1xx answer's body for llhttp: not rewritten
BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n"
WITH_A_BODY = {
    "length": b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY,
    "chunked": b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
}
IMAGE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % N + PNG


@pytest.mark.parametrize("answer", WITH_A_BODY.values(), ids=list(WITH_A_BODY))
@pytest.mark.parametrize("code", [104, 150, 199])
def test_a_1xx_answer_with_a_body_ends_where_the_parser_says(code, answer):
    wrapped, plain = both_ways(answer + IMAGE, b"%d Odd" % code)
    assert wrapped == plain


@pytest.mark.parametrize("end", [b"\r\n", b"Content-Length: 0\r\n\r\n"], ids=["none", "0"])
@pytest.mark.parametrize("code", [104, 150, 199])
def test_a_1xx_answer_read_as_interim_is_bodiless_for_the_parser_too(code, end):
    # had the parser read a body after it, the image would be lost one way only
    wrapped, plain = both_ways(end + IMAGE, b"%d Odd" % code)
    assert wrapped == plain == PNG


@pytest.mark.parametrize(
    ("code", "fields", "interim"),
    [
        (100, b"Content-Length: 0\r\n", True),
        (102, b"Content-Length: 0\r\n", True),
        (103, b"Content-Length: 0\r\n", True),
        (101, b"", False),
        (104, b"", True),
        (150, b"Content-Length: 0\r\n", True),
        (199, b"Content-Length: 00, 0\r\n", True),
        (104, b"Content-Length: 3\r\n", False),
        (150, b"Content-Length: 0, 3\r\n", False),
        (199, b"Content-Length: x\r\n", False),
        (104, b"Transfer-Encoding: chunked\r\n", False),
        (200, b"", False),
    ],
)
def test_the_interim_codes_are_the_parsers(code, fields, interim):
    assert as_browsers_frame(b"HTTP/1.1 %d X\r\n%s\r\n" % (code, fields))[1] is interim
