"""On an IPv6-only network with DNS64, a host with only IPv4 addresses is answered as
its NAT64 address (``64:ff9b::<the IPv4 address>``): that is the host, and it is judged
by the IPv4 address inside. modbot refused every such host as ``private_address``
(``ipaddress`` calls all of ``::/8`` reserved), so no image on an IPv4-only host was
ever checked there, and counted them all as one server (one IPv6 /64), so they shared
one host's ``per_host`` slots. A NAT64 address of a private IPv4 address stays refused.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from modbot.fetch import Fetcher, FetchLimits, PrivateAddress, is_public_address

PNG_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(PNG_BUF, format="PNG")
PNG = PNG_BUF.getvalue()

# DNS64's answers for two IPv4-only hosts (93.184.216.34 and .35), and for one whose
# only address is the cloud's metadata service
ANSWERS = {
    "a.example": ["64:ff9b::5db8:d822"],
    "b.example": ["64:ff9b::5db8:d823"],
    "metadata.example": ["64:ff9b::a9fe:a9fe"],
}


class SlowServer:
    """Answers every request with a PNG after ``delay`` s; counts requests in flight."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.active = 0
        self.max_active = 0

    async def __aenter__(self) -> SlowServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
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


async def _dns64(host: str, port: int) -> list[str]:
    return ANSWERS[host]


def _fetch(urls: list[str], limits: FetchLimits | None = None) -> tuple[list, int, list]:
    dialled: list[str] = []

    async def go() -> tuple[list, int]:
        async with SlowServer() as server:

            def dial(address: str, port: int) -> tuple[str, int]:
                dialled.append(address)
                return ("127.0.0.1", server.port)

            async with Fetcher(limits, resolver=_dns64, dial=dial) as fetcher:
                got = await asyncio.gather(
                    *(fetcher.fetch(url) for url in urls), return_exceptions=True
                )
            return got, server.max_active

    got, max_active = asyncio.run(asyncio.wait_for(go(), 30))
    return got, max_active, dialled


def test_an_ipv4_only_host_reached_through_nat64_is_fetched():
    (got,), _, dialled = _fetch(["http://a.example/a.png"])
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    assert dialled == ["64:ff9b::5db8:d822"]


def test_a_nat64_address_of_a_private_one_is_refused_without_connecting():
    (got,), _, dialled = _fetch(["http://metadata.example/latest/meta-data/"])
    assert isinstance(got, PrivateAddress)
    assert "64:ff9b::a9fe:a9fe" in got.message
    assert dialled == []


def test_two_ipv4_only_hosts_behind_nat64_are_two_servers_for_per_host():
    limits = FetchLimits(per_host_concurrency=1)
    got, max_active, _ = _fetch(["http://a.example/1.png", "http://b.example/1.png"] * 2, limits)
    assert all(not isinstance(g, Exception) for g in got), got
    assert max_active == 2, "one slot each, not one for every IPv4-only host"


@pytest.mark.parametrize(
    "address, public",
    [
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("::ffff:93.184.216.34", True),  # mapped: that IPv4 address
        ("64:ff9b::a00:1", False),
        ("64:ff9b::7f00:1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b:1::5db8:d822", False),  # the local-use prefix: the network's own
        ("::5db8:d822", False),  # IPv4-compatible: deprecated, never routed
    ],
)
def test_an_ipv4_address_inside_ipv6_is_judged_as_itself(address, public):
    assert is_public_address(address) is public
