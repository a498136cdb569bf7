"""Behind NAT64 on a prefix of the network's own, an IPv6 address is judged by the IPv4
address inside it, once the network has said where its prefix is (RFC 7050: its DNS64's
answer for ``ipv4only.arpa``). When the very first of those lookups failed (the DNS not
answering it), no prefix was known for 5 minutes and every address inside the
network's prefix was judged public: a link to ``prefix::169.254.169.254`` (or a name
answering it) reached the cloud's metadata service through the translator.

Now, until one lookup has answered, an IPv6 address that a NAT64 prefix could map to a
private IPv4 address is not dialled (``dns_error``, saying why); IPv4 addresses are
judged as ever, and the lookup is asked again sooner while nothing is known.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
import socket

import pytest
from PIL import Image

from modbot.fetch import Fetcher, FetchSkipped, PrivateAddress, UnresolvableHost
from modbot.fetch import addresses as addresses_module
from modbot.fetch.addresses import NAT64_PROBE

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()

PREFIX = "2a01:4f8:c17:64::"  # the network's own NAT64 prefix, in public IPv6 space


def at(ipv4: str) -> str:
    return str(ipaddress.IPv6Address(PREFIX) + int(ipaddress.IPv4Address(ipv4)))


ANSWERS = {
    "metadata.example": [at("169.254.169.254")],
    "a.example": [at("93.184.216.34")],
    "dual.example": ["93.184.216.34", at("93.184.216.34")],
    "v4.example": ["93.184.216.34"],
}
METADATA_LITERAL = f"http://[{at('169.254.169.254')}]/latest/meta-data/"


class Network:
    """A DNS64 on ``PREFIX`` whose first ``failures`` answers for the probe fail as a
    DNS that does not answer fails (EAI_AGAIN), and a server every name is dialled to."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.probes = 0
        self.dialled: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        if host == NAT64_PROBE:
            self.probes += 1
            if self.probes <= self.failures:
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            return [at("192.0.0.170"), at("192.0.0.171")]
        if host not in ANSWERS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ANSWERS[host]

    async def __aenter__(self) -> Fetcher:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PNG) + PNG)
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]

        def dial(address: str, _port: int) -> tuple[str, int]:
            self.dialled.append(address)
            return ("127.0.0.1", port)

        self.fetcher = Fetcher(resolver=self.resolve, dial=dial)
        return await self.fetcher.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.fetcher.__aexit__(*exc)
        self.server.close()


async def outcome(fetcher: Fetcher, url: str) -> bytes | FetchSkipped:
    try:
        return (await fetcher.fetch(url)).data
    except FetchSkipped as exc:
        return exc


def run(network: Network, *urls: str) -> list[bytes | FetchSkipped]:
    async def go():
        async with network as fetcher:
            return [await outcome(fetcher, url) for url in urls]

    return asyncio.run(asyncio.wait_for(go(), 20))


@pytest.mark.parametrize("url", ["http://metadata.example/latest/meta-data/", METADATA_LITERAL])
def test_a_first_learn_that_failed_judges_no_address_inside_the_prefix_public(url, caplog):
    caplog.set_level(logging.INFO)
    network = Network(failures=1)
    (got,) = run(network, url)
    assert isinstance(got, UnresolvableHost), got  # dns_error: not refused on principle
    assert "NAT64" in got.message and NAT64_PROBE in got.message
    assert network.dialled == []
    assert network.probes == 1
    assert "NAT64 prefixes not learned" in caplog.text


def test_ipv4_addresses_are_fetched_meanwhile_and_a_dual_stack_host_on_its_ipv4():
    network = Network(failures=1)
    v4, dual = run(network, "http://v4.example/a.png", "http://dual.example/a.png")
    assert v4 == PNG and dual == PNG
    assert network.dialled == ["93.184.216.34", "93.184.216.34"]


def test_once_the_network_answers_the_prefix_judges_again(monkeypatch):
    monkeypatch.setattr(addresses_module, "NAT64_FIRST_RETRY", 0.0)
    network = Network(failures=1)
    first, host, metadata = run(
        network,
        "http://a.example/a.png",  # the learn fails: not dialled
        "http://a.example/a.png",  # asked again: the prefix is known, the host public
        "http://metadata.example/latest/meta-data/",
    )
    assert isinstance(first, UnresolvableHost)
    assert host == PNG
    assert isinstance(metadata, PrivateAddress)
    assert network.dialled == [at("93.184.216.34")]
    assert network.probes == 2


def test_a_network_without_dns64_answers_and_ipv6_hosts_are_fetched():
    network = Network(failures=0)

    async def no_dns64(host: str, port: int) -> list[str]:
        if host == NAT64_PROBE:
            network.probes += 1
            return ["192.0.0.170", "192.0.0.171"]  # IPv4 only: no DNS64 here
        return ["2a00:1450:4001:828::200e"]

    network.resolve = no_dns64  # type: ignore[method-assign]
    (got,) = run(network, "http://v6.example/a.png")
    assert got == PNG
    assert network.dialled == ["2a00:1450:4001:828::200e"]
