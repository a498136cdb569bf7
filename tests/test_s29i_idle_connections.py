"""Connections kept for reuse are bounded, however many hosts the links name.

aiohttp's connection ``limit`` (``fetch.concurrency``) counts only the connections in
use: every idle one was kept for the keep-alive time. A comment (or a batch) linking
hundreds of distinct hosts left hundreds of sockets open at once, each a file descriptor
(the process's ``ulimit -n`` is shared with the state file, the decode processes and the
gate) plus its buffers, whatever ``fetch.concurrency`` said. The fetcher resolves every
name to a public address with a fake resolver and dials a local keep-alive server,
which counts the connections still open.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from modbot.fetch import Fetcher, FetchLimits

PNG_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(PNG_BUF, format="PNG")
PNG = PNG_BUF.getvalue()


class KeepAliveServer:
    """Answers every request with a PNG, keeping the connection open for the next;
    ``open``: the connections the client has not closed."""

    def __init__(self) -> None:
        self.open = 0
        self.accepted = 0
        self.tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> KeepAliveServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        self.open += 1
        self.accepted += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                    + f"Content-Length: {len(PNG)}\r\n\r\n".encode()
                    + PNG
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


async def _settled(server: KeepAliveServer, at_most: int) -> int:
    """The connections still open once the closes made have reached the server."""
    for _ in range(100):
        if server.open <= at_most:
            break
        await asyncio.sleep(0.02)
    return server.open


def test_links_to_many_hosts_leave_no_more_idle_connections_than_the_concurrency():
    async def go() -> tuple[int, int]:
        async with KeepAliveServer() as server:
            limits = FetchLimits(max_concurrency=4, per_host_concurrency=2)
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
                for batch in range(5):
                    got = await asyncio.gather(
                        *(fetcher.fetch(f"http://h{batch}-{i}.example/a.png") for i in range(20))
                    )
                    assert all(g.data == PNG for g in got)
                    for g in got:
                        g.release()
                return await _settled(server, limits.max_concurrency), server.accepted

    still_open, accepted = asyncio.run(asyncio.wait_for(go(), 30))
    assert accepted == 100  # one connection per host name: nothing to reuse
    assert still_open <= 4, f"{still_open} idle connections kept past fetch.concurrency (4)"


def test_images_from_one_named_host_reuse_its_connection():
    """A name's requests dial its pinned address, and a kept connection is reused only
    when it was made to that address: one whose whole (small) answer had come before
    the request returned was never recorded as made there, and was closed as stale at
    the next request, so every image from a remote host paid a new connection (and TLS
    handshake)."""

    async def go() -> int:
        async with KeepAliveServer() as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                for n in range(5):
                    got = await fetcher.fetch(f"http://images.example/{n}.png")
                    assert got.data == PNG
                    got.release()
            return server.accepted

    assert asyncio.run(asyncio.wait_for(go(), 30)) == 1
