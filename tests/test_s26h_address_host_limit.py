"""``fetch.per_host`` holds per server address too, not only per host name.

A hostile poster with wildcard DNS (``a1.evil.example``, ``a2.evil.example``... all one
slow server) must not get ``per_host`` slots per name until its slow links hold every
download slot of the bot. The fetcher resolves names with a fake resolver and dials a
local server, which counts the requests in flight (whatever their Host).
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from modbot.fetch import Fetcher, FetchLimits

PNG_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(PNG_BUF, format="PNG")
PNG = PNG_BUF.getvalue()

SLOW = "93.184.216.34"  # the hostile server's (public) address


class SlowServer:
    """Answers every request with a PNG after ``delay`` s; counts requests in flight."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.active = 0
        self.max_active = 0
        self.hosts: list[str] = []

    async def __aenter__(self) -> SlowServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                host = next(h for h in head.split("\r\n") if h.lower().startswith("host:"))
                self.hosts.append(host.split(":", 1)[1].strip())
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                try:
                    await asyncio.sleep(self.delay)
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(PNG) + PNG
                    )
                    await writer.drain()
                finally:
                    self.active -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _run(urls, resolve, limits, *, allowed=(), dial_others_to=None):
    async with SlowServer() as server:

        def dial(address: str, port: int) -> tuple[str, int]:
            if address == SLOW or address.startswith("2a00:1450:4001:800:"):
                return ("127.0.0.1", server.port)
            return ("127.0.0.1", dial_others_to or server.port)

        async with Fetcher(limits, allowed_hosts=allowed, resolver=resolve, dial=dial) as fetcher:
            got = await asyncio.gather(
                *(fetcher.fetch(url) for url in urls), return_exceptions=True
            )
        return got, server


def test_many_names_of_one_server_share_its_per_host_slots():
    async def wildcard(host: str, port: int) -> list[str]:
        return [SLOW]

    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    urls = [f"http://a{i}.evil.example/img.png" for i in range(12)]
    got, server = asyncio.run(asyncio.wait_for(_run(urls, wildcard, limits), 30))
    assert [g.data for g in got] == [PNG] * 12  # all downloaded, in turn
    assert len(set(server.hosts)) == 12
    # before: each name had slots of its own: 12 requests at once on the one server
    assert server.max_active == 2


def test_names_on_different_servers_still_download_side_by_side():
    async def two_servers(host: str, port: int) -> list[str]:
        return [SLOW] if host.startswith("a") else ["2a00:1450:4001:800::1"]

    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    urls = [f"http://{c}{i}.example/img.png" for c in "ab" for i in range(4)]
    got, server = asyncio.run(asyncio.wait_for(_run(urls, two_servers, limits), 30))
    assert [g.data for g in got] == [PNG] * 8
    assert server.max_active == 4  # two servers, two each


def test_ipv6_addresses_of_one_64_are_one_server():
    async def many_v6(host: str, port: int) -> list[str]:
        return [f"2a00:1450:4001:800::{int(host[1:].split('.')[0]) + 1:x}"]

    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    urls = [f"http://a{i}.evil.example/img.png" for i in range(8)]
    got, server = asyncio.run(asyncio.wait_for(_run(urls, many_v6, limits), 30))
    assert [g.data for g in got] == [PNG] * 8
    assert server.max_active == 2


def test_a_fresh_first_address_per_name_does_not_reach_the_slow_server_unbounded():
    # each name answers an address of its own first (nothing listens there), then the slow
    # server's: the slot is counted on the address dialled, so the fallback to the slow
    # server (since s27a) waits for that server's slots
    async def fresh_first(host: str, port: int) -> list[str]:
        number = int(host[1:].split(".")[0])
        return [f"8.8.{number}.7", SLOW]

    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    urls = [f"http://a{i}.evil.example/img.png" for i in range(10)]
    got, server = asyncio.run(
        asyncio.wait_for(_run(urls, fresh_first, limits, dial_others_to=_closed_port()), 30)
    )
    assert [g.data for g in got] == [PNG] * 10
    # a fallback counted on the dead address's slots: 10 at once on the slow server
    assert server.max_active == 2


def test_trusted_hosts_on_one_address_keep_their_own_slots():
    # the instance and its pict-rs may share an address: each keeps its per-name slots
    async def one_address(host: str, port: int) -> list[str]:
        return ["10.0.0.5"]

    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    urls = [f"http://{h}/img.png" for h in ("lemmy", "pictrs") for _ in range(4)]

    async def run():
        async with SlowServer() as server:

            def dial(address: str, port: int) -> tuple[str, int]:
                return ("127.0.0.1", server.port)

            async with Fetcher(
                limits, allowed_hosts=["lemmy", "pictrs"], resolver=one_address, dial=dial
            ) as fetcher:
                got = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
            return got, server

    got, server = asyncio.run(asyncio.wait_for(run(), 30))
    assert [g.data for g in got] == [PNG] * 8
    assert server.max_active == 4


def test_a_name_with_ipv4_and_ipv6_addresses_is_dialled_on_ipv4():
    # IPv6 sorted first where the machine has no route out for it: the IPv4 address the
    # name lists is dialled first
    async def dual_stack(host: str, port: int) -> list[str]:
        return ["2a00:1450:4001:900::1", SLOW]

    async def run():
        async with SlowServer(delay=0) as server:
            closed = _closed_port()

            def dial(address: str, port: int) -> tuple[str, int]:
                return ("127.0.0.1", server.port if address == SLOW else closed)

            async with Fetcher(FetchLimits(), resolver=dual_stack, dial=dial) as fetcher:
                return await fetcher.fetch("http://dual.example/img.png")

    got = asyncio.run(asyncio.wait_for(run(), 30))
    assert got.data == PNG  # before: the IPv6 address alone was dialled: connect_failed
