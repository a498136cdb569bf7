"""A redirect whose ``Location`` holds bytes that are not UTF-8 is followed as browsers
follow it: each such byte percent-escaped (Chromium's EscapeNonASCII). It was refused
as ``protocol_error``, so a host could show people its image through such a redirect
and the bot nothing to judge. The hop is checked as any other: a private address is
still refused, and a host that is no host name is ``bad_url`` (browsers show nothing).

A public host name is played by a local server (the fetcher's ``dial``): the requests
take the path any link's do, the address checked before connecting.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from modbot.fetch import Fetcher, FetchSkipped

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (200, 30, 30)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()
DECOY = b"GIF89a not the image"


class Host:
    """Redirects ``/start`` to ``location`` (raw bytes), serves the PNG at
    ``/a%FF.png`` and a decoy at any other path; records each request's path."""

    def __init__(self, location: bytes) -> None:
        self.location = location
        self.paths: list[bytes] = []

    async def __aenter__(self) -> Host:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1]
        self.paths.append(path)
        if path == b"/start":
            answer = b"HTTP/1.1 302 Found\r\nLocation: " + self.location + b"\r\n"
            answer += b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        else:
            body = PNG if path == b"/a%FF.png" else DECOY
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
            answer += b"Content-Length: %d\r\n\r\n" % len(body) + body
        writer.write(answer)
        await writer.drain()
        writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def fetch(location: bytes):
    """The image (or refusal) at ``http://images.example/start``, which redirects to
    ``location``; with the paths the server saw and the addresses dialled."""

    async def go():
        dialled: list[str] = []
        async with Host(location) as server:

            def dial(address: str, port: int) -> tuple[str, int]:
                dialled.append(address)
                return ("127.0.0.1", server.port)

            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                try:
                    got = await fetcher.fetch("http://images.example/start")
                except FetchSkipped as exc:
                    got = exc
            return got, server.paths, dialled

    return asyncio.run(asyncio.wait_for(go(), 20))


def test_a_location_with_a_byte_that_is_not_utf8_is_followed_as_browsers_do():
    got, paths, _ = fetch(b"/a\xff.png")
    assert not isinstance(got, FetchSkipped), got
    assert got.data == PNG and got.media_type == "image/png"
    assert got.final_url == "http://images.example/a%FF.png"
    assert paths == [b"/start", b"/a%FF.png"]


def test_such_a_redirect_into_the_private_network_is_still_refused():
    got, paths, dialled = fetch(b"http://10.0.0.7/a\xff.png")
    assert isinstance(got, FetchSkipped) and got.reason == "private_address", got
    assert paths == [b"/start"] and dialled == ["93.184.216.34"]


def test_such_a_redirect_to_a_host_that_is_no_name_is_refused_as_browsers_refuse_it():
    got, paths, _ = fetch(b"http://exa\xffmple.com/a.png")
    assert isinstance(got, FetchSkipped) and got.reason == "bad_url", got
    assert "not UTF-8" in got.message
    assert paths == [b"/start"]
    # no byte the server sent is quoted raw (a lone surrogate no log can encode)
    got.message.encode()
