"""Behind NAT64 on a prefix of the network's own, an address is judged by the IPv4
address the translator reaches, as the network itself says where that sits (RFC 7050:
its DNS64's answer for ``ipv4only.arpa``). Before, every address of the local-use prefix
``64:ff9b:1::/48`` (RFC 8215) was refused, so no image on an IPv4-only host was checked
on such a network; and a prefix in the network's public IPv6 space was taken for public
addresses, so a name (or a URL) leading to a private IPv4 host was dialled and reached
it through the translator.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket

import pytest
from PIL import Image

from modbot.fetch import Fetcher, PrivateAddress
from modbot.fetch.addresses import NAT64_PROBE, embedded_ipv4, nat64_prefixes

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (20, 130, 30)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()


def network(prefix: str) -> dict[str, list[str]]:
    """A DNS64 on ``prefix`` (a /96): its answers for the probe, for an IPv4-only
    host (93.184.216.34) and for one whose address is the cloud's metadata service."""

    def at(ipv4: str) -> str:
        return str(ipaddress.IPv6Address(prefix) + int(ipaddress.IPv4Address(ipv4)))

    return {
        NAT64_PROBE: [at("192.0.0.170"), at("192.0.0.171"), "192.0.0.170", "192.0.0.171"],
        "a.example": [at("93.184.216.34")],
        "metadata.example": [at("169.254.169.254")],
    }


def fetch(answers: dict[str, list[str]], url: str):
    dialled: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    async def go():
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PNG) + PNG)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        def dial(address: str, _port: int) -> tuple[str, int]:
            dialled.append(address)
            return ("127.0.0.1", port)

        try:
            async with Fetcher(resolver=resolve, dial=dial) as fetcher:
                try:
                    return await fetcher.fetch(url)
                except PrivateAddress as exc:
                    return exc
        finally:
            server.close()

    return asyncio.run(asyncio.wait_for(go(), 20)), dialled


LOCAL_USE = network("64:ff9b:1::")
OWN_SPACE = network("2a01:4f8:c17:64::")  # a network-specific prefix in public space


def test_an_ipv4_only_host_behind_the_local_use_prefix_is_fetched():
    got, dialled = fetch(LOCAL_USE, "http://a.example/a.png")
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    assert dialled == ["64:ff9b:1::5db8:d822"]


@pytest.mark.parametrize("answers", [LOCAL_USE, OWN_SPACE], ids=["local-use", "own-space"])
def test_a_private_ipv4_host_behind_the_networks_prefix_is_refused_unreached(answers):
    got, dialled = fetch(answers, "http://metadata.example/latest/meta-data/")
    assert isinstance(got, PrivateAddress)
    assert dialled == []


def test_a_url_naming_a_private_ipv4_host_inside_the_prefix_is_refused():
    got, dialled = fetch(OWN_SPACE, "http://[2a01:4f8:c17:64::a9fe:a9fe]/latest/meta-data/")
    assert isinstance(got, PrivateAddress)
    assert dialled == []


def test_without_a_dns64_the_local_use_prefix_is_still_refused():
    answers = {"a.example": ["64:ff9b:1::5db8:d822"]}  # no probe answer: where it sits is unknown
    got, dialled = fetch(answers, "http://a.example/a.png")
    assert isinstance(got, PrivateAddress)
    assert dialled == []


# RFC 6052 2.4's table: 192.0.2.33 under 2001:db8:122:344::/L for each length
RFC6052 = [
    (32, "2001:db8:c000:221::"),
    (40, "2001:db8:1c0:2:21::"),
    (48, "2001:db8:122:c000:2:2100::"),
    (56, "2001:db8:122:3c0:0:221::"),
    (64, "2001:db8:122:344:c0:2:2100:0"),
    (96, "2001:db8:122:344::192.0.2.33"),
]


@pytest.mark.parametrize(("length", "address"), RFC6052)
def test_the_ipv4_address_is_read_where_each_prefix_length_puts_it(length, address):
    assert embedded_ipv4(ipaddress.IPv6Address(address), length) == ipaddress.IPv4Address(
        "192.0.2.33"
    )


@pytest.mark.parametrize("length", [32, 40, 48, 56, 64, 96])
def test_the_prefix_and_its_length_are_learned_from_the_probe(length):
    prefix = ipaddress.IPv6Network(("64:ff9b:1::" if length >= 48 else "2a01:4f8::", length))
    # the probe's address as a DNS64 on that prefix writes it: RFC 6052's layout
    v4 = int(ipaddress.IPv4Address("192.0.0.171"))
    if length == 96:
        inside = v4
    else:
        joined = v4 << (88 - length)  # in the 120 bits without bits 64-71
        inside = (joined >> 56) << 64 | (joined & ((1 << 56) - 1))
    answer = str(ipaddress.IPv6Address(int(prefix.network_address) | inside))
    assert nat64_prefixes([answer, "192.0.0.171"]) == (prefix,)
