"""A redirect goes where browsers follow it. A Location of ``/\\other.example/a.png``,
``http:\\\\other.example\\a.png`` or ``http:///other.example/a.png`` leads a browser to
``other.example`` (the WHATWG URL parser reads a backslash as a slash in an http(s)
URL, and skips any number of slashes before its host); modbot read each as a path on
the redirecting host, and fetched that path instead. One redirect sent to everyone
then showed people the image on ``other.example`` and modbot whatever the first host
served at that path: a decoy it never shows anyone else. Now the image fetched is the
one people are shown, and a Location reaching a private address so is refused.

Every name resolves to a public address and is dialled at one local server, which
records the host and path of each request.
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG

from modbot.fetch import Fetcher, PrivateAddress


class Server:
    """``/jump`` redirects to ``location``; anything else is the PNG."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.requests: list[tuple[str, str]] = []  # (host, path)

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *lines = head.split("\r\n")
            host = next(v for k, _, v in (h.partition(":") for h in lines) if k.lower() == "host")
            path = line.split(" ")[1]
            self.requests.append((host.strip(), path))
            if path == "/jump":
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: %s\r\n" % self.location.encode()
                    + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(PNG) + PNG
                )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


async def follow(location: str):
    async with Server(location) as server:
        dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
        async with Fetcher(resolver=_public, dial=dial) as fetcher:
            try:
                got: object = await fetcher.fetch("http://images.example/jump")
            except PrivateAddress as exc:
                got = exc
    return got, server.requests


@pytest.mark.parametrize(
    "location",
    [
        "/\\other.example/a.png",
        "\\\\other.example\\a.png",
        "http:\\\\other.example\\a.png",
        "http:///other.example/a.png",
        "//other.example/a.png",  # (followed before too)
        " http://other.example/a.png",  # blanks around a Location are no part of it
    ],
)
def test_a_redirect_goes_to_the_host_browsers_go_to(location):
    got, requests = asyncio.run(asyncio.wait_for(follow(location), 20))

    assert not isinstance(got, PrivateAddress), got
    assert got.data == PNG
    assert requests == [("images.example", "/jump"), ("other.example", "/a.png")]


def test_a_backslash_in_a_redirect_s_query_stays_in_it():
    got, requests = asyncio.run(asyncio.wait_for(follow("/a.png?x=\\y"), 20))

    assert got.data == PNG
    assert requests[1][0] == "images.example"
    assert requests[1][1] in ("/a.png?x=\\y", "/a.png?x=%5Cy")


@pytest.mark.parametrize("location", ["/\\10.0.0.1/a.png", "http:///127.0.0.1/a.png"])
def test_a_redirect_browsers_follow_into_the_private_network_is_refused(location):
    got, requests = asyncio.run(asyncio.wait_for(follow(location), 20))

    assert isinstance(got, PrivateAddress), got
    assert requests == [("images.example", "/jump")]  # no decoy path asked for
