"""A name whose first address is dead is fetched from its next one, each address tried
on its own download slots (test_s26h_address_host_limit: a hostile name's fallback
waits for the slow server's slots); an address a name no longer dials is not reached
again over a connection kept from before.

Before (17fc38c, 029706a), a name was dialled at exactly one address (its first IPv4
one): a host whose listed IPv4 address refused connections was ``connect_failed``
although its IPv6 address answered. The fetcher resolves names with a fake resolver and dials local
servers (``test_s26h_address_host_limit``'s).
"""

from __future__ import annotations

import asyncio

from test_s26h_address_host_limit import PNG, SLOW, SlowServer, _closed_port

from modbot.fetch import ConnectFailed, Fetcher, FetchLimits, PrivateAddress, addresses

DEAD = "8.8.4.4"  # nothing answers there (a closed local port)
LIVE_V6 = "2a00:1450:4001:800::1"


async def _fetch_all(urls, resolve):
    """Fetch ``urls`` at once; SLOW and LIVE_V6 dial the server, every other address a
    closed port. Returns the results, the server and the addresses dialled, in order."""
    dialled: list[str] = []
    closed = _closed_port()
    async with SlowServer(delay=0) as server:

        def dial(address: str, port: int) -> tuple[str, int]:
            dialled.append(address)
            return ("127.0.0.1", server.port if address in (SLOW, LIVE_V6) else closed)

        async with Fetcher(FetchLimits(), resolver=resolve, dial=dial) as fetcher:
            got = await asyncio.gather(*(fetcher.fetch(u) for u in urls), return_exceptions=True)
    return got, server, dialled


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_a_dead_ipv4_address_falls_back_to_the_names_ipv6_one():
    async def dual_stack(host: str, port: int) -> list[str]:
        return [DEAD, LIVE_V6]

    [got], server, dialled = run(_fetch_all(["http://dual.example/img.png"], dual_stack))
    # before: connect_failed ("cannot connect"), the IPv6 address never tried
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    assert dialled == [DEAD, LIVE_V6]
    assert server.hosts == ["dual.example"]


def test_fallback_is_bounded_and_says_how_many_addresses_were_tried():
    many = [f"9.9.9.{n}" for n in range(1, addresses.DIAL_ADDRESSES + 1)]

    async def all_dead_then_live(host: str, port: int) -> list[str]:
        return [*many, SLOW]

    [got], server, dialled = run(_fetch_all(["http://many.example/a.png"], all_dead_then_live))
    assert isinstance(got, ConnectFailed), got
    assert dialled == many  # the live address past the bound is never dialled
    assert server.hosts == []
    assert f"cannot connect to any of the {addresses.DIAL_ADDRESSES} addresses tried" in got.message


def test_a_names_private_address_is_never_dialled_when_falling_back():
    # before (test_s29i_mixed_dns_answer): the whole name was refused, private_address
    async def half_private(host: str, port: int) -> list[str]:
        return [DEAD, "10.9.9.9", SLOW]

    [got], server, dialled = run(_fetch_all(["http://half.example/a.png"], half_private))
    assert not isinstance(got, Exception), got
    assert dialled == [DEAD, SLOW] and server.hosts == ["half.example"]


def test_a_name_with_only_private_addresses_is_refused_before_any_is_dialled():
    async def all_private(host: str, port: int) -> list[str]:
        return ["10.9.9.9", "fd00::9"]

    [got], server, dialled = run(_fetch_all(["http://inside.example/a.png"], all_private))
    assert isinstance(got, PrivateAddress), got
    assert dialled == [] and server.hosts == []


def test_a_connection_in_use_when_its_address_fails_is_not_kept_for_the_next_address():
    # a request is under way on the name's first address when that address stops taking
    # connections; the next request falls back to the second; the first request's
    # connection, to the address no longer dialled, is not reused by later ones
    async def two(host: str, port: int) -> list[str]:
        return [SLOW, LIVE_V6]

    async def main():
        async with SlowServer(delay=0.4) as first_server, SlowServer(delay=0) as second_server:
            closed = _closed_port()
            refusing = False

            def dial(address: str, port: int) -> tuple[str, int]:
                if address == SLOW:
                    return ("127.0.0.1", closed if refusing else first_server.port)
                return ("127.0.0.1", second_server.port)

            async with Fetcher(FetchLimits(), resolver=two, dial=dial) as fetcher:
                slow = asyncio.create_task(fetcher.fetch("http://two.example/slow.png"))
                while not first_server.hosts:
                    await asyncio.sleep(0.01)
                refusing = True
                fell_back = await fetcher.fetch("http://two.example/b.png")
                await slow
                # two at once: each of the kept connections would be taken
                later = await asyncio.gather(
                    fetcher.fetch("http://two.example/c.png"),
                    fetcher.fetch("http://two.example/d.png"),
                )
            return [fell_back, *later], first_server.hosts, second_server.hosts

    got, first_hosts, second_hosts = run(main())
    assert [g.data for g in got] == [PNG] * 3
    # before: one of the later requests went to the first address, its slot counted on
    # the second's
    assert first_hosts == ["two.example"]
    assert second_hosts == ["two.example"] * 3


def test_a_name_looked_up_again_at_a_new_address_is_not_reached_at_the_old(monkeypatch):
    # PIN_MAX_AGE passes while the name is used now and then: its next lookup answers a
    # new address; the idle connection to the old one is not used for the next request
    monkeypatch.setattr(addresses, "PIN_MAX_AGE", 0.3)
    answers = iter([SLOW, LIVE_V6])

    async def moving(host: str, port: int) -> list[str]:
        return [next(answers)]

    async def main():
        async with SlowServer(delay=0) as old, SlowServer(delay=0) as new:

            def dial(address: str, port: int) -> tuple[str, int]:
                return ("127.0.0.1", old.port if address == SLOW else new.port)

            async with Fetcher(FetchLimits(), resolver=moving, dial=dial) as fetcher:
                first = await fetcher.fetch("http://moving.example/a.png")
                await asyncio.sleep(0.5)
                second = await fetcher.fetch("http://moving.example/b.png")
            return first, second, old.hosts, new.hosts

    first, second, old_hosts, new_hosts = run(main())
    assert first.data == second.data == PNG
    # before: the second request went over the kept connection to the old address
    assert old_hosts == ["moving.example"]
    assert new_hosts == ["moving.example"]
