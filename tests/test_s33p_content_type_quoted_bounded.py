"""A page where an image should be is refused ``not_an_image`` with words that name the
``Content-Type`` it was served as: the server's words, so they are bounded and shown
printable. Before, a host's header (up to the 16 KiB a header line may hold) went whole
into the refusal: into each decision record, the report and the log line, and a byte
that is not UTF-8 went there as a lone surrogate, which nothing writing UTF-8 can encode.

A public host name is played by a local server (the fetcher's ``dial``).
"""

from __future__ import annotations

import asyncio
import logging

from modbot.fetch import Fetcher, FetchSkipped

PAGE = b"<!doctype html><html>not an image</html>"


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def refusal(content_type: bytes) -> FetchSkipped:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(PAGE) + PAGE
        )
        await writer.drain()
        writer.close()

    async def go() -> FetchSkipped:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dial = lambda address, _port: ("127.0.0.1", port)  # noqa: E731
        try:
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                try:
                    await fetcher.fetch("http://pages.example/a.png")
                except FetchSkipped as exc:
                    return exc
        finally:
            server.close()
        raise AssertionError("a page was taken for an image")

    return asyncio.run(asyncio.wait_for(go(), 20))


def test_a_long_content_type_is_cut_in_the_refusals_words(caplog):
    caplog.set_level(logging.INFO, logger="modbot.fetch")
    got = refusal(b"text/html; " + b"x" * 12_000)
    assert got.reason == "not_an_image"
    assert got.message.startswith("an HTML/XML page, not an image (served as text/html; xxx")
    assert len(got.message) < 250
    assert "x" * 300 not in caplog.text


def test_a_content_type_that_is_not_utf8_is_shown_escaped():
    got = refusal(b"text/html; charset=caf\xe9\x07")
    assert got.reason == "not_an_image"
    got.message.encode("utf-8")  # raised UnicodeEncodeError: a lone surrogate
    assert "(served as text/html; charset=caf\\xe9\\x07)" in got.message
