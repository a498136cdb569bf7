"""A link to another server's pict-rs with a rendition query (``?thumbnail=256``) and
the same link without it are two images, each fetched and judged as written: that
server is not the instance's, and what it answers for each URL is what people are shown
there. Merging them (fetching only the original) would let a host answer the original
with a clean image and the rendition with another; fetching only the rendition would
judge a resized copy, whose hash no list holds. The instance's own uploads are read
once, as the file pict-rs stores (``acquire``), whatever the link asks for.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from modbot.fetch import Fetcher
from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buf, format="PNG")
    return buf.getvalue()


CLEAN, OTHER = png((20, 130, 30)), png((200, 10, 10))


def test_a_remote_original_and_its_rendition_are_each_fetched_as_written():
    async def go(urls: list[str]) -> list[bytes]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.readuntil(b"\r\n\r\n")
            body = OTHER if b"thumbnail=" in request.split(b"\r\n", 1)[0] else CLEAN
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def resolve(host: str, _port: int) -> list[str]:
            return ["93.184.216.34"]

        try:
            dial = lambda address, _port: ("127.0.0.1", port)  # noqa: E731
            async with Fetcher(resolver=resolve, dial=dial) as fetcher:
                return [(await fetcher.fetch(url)).data for url in urls]
        finally:
            server.close()

    original = "http://remote.example/pictrs/image/abc.png"
    text = f"![]({original}) and ![]({original}?thumbnail=256)"
    refs = image_refs(Item("comment", 1, None, "x", text=text), instance_url=INSTANCE)
    urls = [url for ref in refs for url in ref.fetch_urls]
    assert urls == [original, f"{original}?thumbnail=256"]
    assert asyncio.run(asyncio.wait_for(go(urls), 20)) == [CLEAN, OTHER]
