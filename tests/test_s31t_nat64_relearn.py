"""The network's NAT64 prefixes, once learned (RFC 7050's probe), hold until the network
answers otherwise. Before, a re-learn whose lookup failed (the DNS slow, or every
lookup thread of the process taken by links to names whose DNS never answers, which
anyone can post) forgot them for 5 minutes: an address inside the prefix counted as
public again, and a link to ``prefix::169.254.169.254`` reached the private IPv4 host
behind the translator. The very first learn could be refused the same way, so a
lookup slot is kept for the probe. And while a re-learn ran (up to the connect timeout)
every IPv6 check waited for it; now they use the prefixes last learned.

A host is played by a local server (the fetcher's ``dial``), as in
``test_s31w_nat64_prefix``.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from test_s31w_nat64_prefix import LOCAL_USE, OWN_SPACE, PNG

from modbot.fetch import (
    Fetcher,
    FetchLimits,
    FetchSkipped,
    PrivateAddress,
    SystemResolver,
    UnresolvableHost,
)
from modbot.fetch import addresses as addresses_module
from modbot.fetch.addresses import NAT64_PROBE

METADATA = "http://metadata.example/latest/meta-data/"  # 169.254.169.254 inside the prefix


def named(answers: dict[str, list[str]]) -> dict[str, list[str]]:
    """``answers`` with b.example and c.example where a.example is (each name is looked
    up, and its addresses checked, once: its lookup is pinned)."""
    return {**answers, "b.example": answers["a.example"], "c.example": answers["a.example"]}


class Network:
    """A DNS (``answers``) whose answers for the probe after the first are
    ``relearn``: "fail" raises as the process's resolver does with every lookup thread
    taken, "slow" never answers, "nxdomain" says there is no such name, "hold" waits
    for ``release``; and a server every address is dialled to."""

    def __init__(self, answers: dict[str, list[str]], relearn: str) -> None:
        self.answers = named(answers)
        self.relearn = relearn
        self.probes = 0
        self.probing = asyncio.Event()  # a re-learn's probe is waiting
        self.release = asyncio.Event()
        self.dialled: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        if host == NAT64_PROBE:
            self.probes += 1
            if self.probes > 1:
                if self.relearn == "fail":
                    raise UnresolvableHost(f"//{host}:{port}", "no name lookup could start")
                if self.relearn == "slow":
                    await asyncio.sleep(60)
                if self.relearn == "nxdomain":
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                if self.relearn == "hold":
                    self.probing.set()
                    await self.release.wait()
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]

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

        limits = FetchLimits(connect_timeout=0.5 if self.relearn == "slow" else 30)
        self.fetcher = Fetcher(limits, resolver=self.resolve, dial=dial)
        return await self.fetcher.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.fetcher.__aexit__(*exc)
        self.server.close()


async def outcome(fetcher: Fetcher, url: str) -> bytes | FetchSkipped:
    try:
        return (await fetcher.fetch(url)).data
    except FetchSkipped as exc:
        return exc


@pytest.fixture
def relearn_each_time(monkeypatch):
    monkeypatch.setattr(addresses_module, "NAT64_RELEARN", 0.0)  # every check asks again


@pytest.mark.parametrize("failure", ["fail", "slow"])
def test_a_failed_relearn_keeps_the_prefix_learned(relearn_each_time, failure):
    network = Network(OWN_SPACE, failure)

    async def go():
        async with network as fetcher:
            assert await outcome(fetcher, "http://a.example/a.png") == PNG  # learned
            return await outcome(fetcher, METADATA)  # its re-learn fails

    got = asyncio.run(asyncio.wait_for(go(), 20))
    assert isinstance(got, PrivateAddress)
    assert network.probes == 2
    assert network.dialled == ["2a01:4f8:c17:64::5db8:d822"]  # a.example only


def test_a_relearn_that_finds_no_dns64_forgets_the_prefix(relearn_each_time):
    network = Network(LOCAL_USE, "nxdomain")

    async def go():
        async with network as fetcher:
            first = await outcome(fetcher, "http://a.example/a.png")
            return first, await outcome(fetcher, "http://b.example/a.png")

    first, second = asyncio.run(asyncio.wait_for(go(), 20))
    assert first == PNG
    assert isinstance(second, PrivateAddress)  # the local-use prefix, no longer the network's


@pytest.mark.timeout(20)  # before: each check waited for the re-learn (30 s)
def test_checks_during_a_relearn_use_the_prefix_learned(relearn_each_time):
    network = Network(OWN_SPACE, "hold")

    async def go():
        async with network as fetcher:
            assert await outcome(fetcher, "http://a.example/a.png") == PNG
            relearning = asyncio.create_task(outcome(fetcher, "http://b.example/b.png"))
            await network.probing.wait()
            during = (
                await outcome(fetcher, METADATA),
                await outcome(fetcher, "http://c.example/c.png"),
            )
            network.release.set()
            return during, await relearning

    (metadata, image), relearned = asyncio.run(asyncio.wait_for(go(), 15))
    assert isinstance(metadata, PrivateAddress)
    assert image == PNG
    assert relearned == PNG
    assert network.probes == 2


@pytest.fixture
def dns_stuck(monkeypatch):
    """Names under .stuck.example never get an answer until the test ends; the probe
    is answered by a DNS64 on OWN_SPACE's prefix."""
    answer = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".stuck.example"):
            answer.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host == NAT64_PROBE:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
                for a in OWN_SPACE[host]
                if ":" in a
            ]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answer
    answer.set()  # the stuck threads end


def test_the_first_learn_is_not_refused_with_every_lookup_thread_taken(dns_stuck):
    resolver = SystemResolver(threads=2)
    dialled: list[str] = []

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

        limits = FetchLimits(connect_timeout=0.3, total_timeout=5)
        try:
            async with Fetcher(limits, resolver=resolver, dial=dial) as fetcher:
                for name in ("one", "two", "three"):  # every lookup thread taken
                    with pytest.raises(UnresolvableHost):
                        await fetcher.fetch(f"http://{name}.stuck.example/x.jpg")
                # a URL naming the private host inside the prefix: no lookup of its own
                return await outcome(fetcher, "http://[2a01:4f8:c17:64::a9fe:a9fe]/")
        finally:
            server.close()

    got = asyncio.run(asyncio.wait_for(go(), 20))
    assert isinstance(got, PrivateAddress)  # (before: connect_error, its connection tried)
    assert dialled == []
