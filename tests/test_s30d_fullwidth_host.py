"""A host written in full-width letters, digits or dots (``IMGUR.com``, each character
full-width) is the host browsers read it as (IDNA's UTS #46 mapping: ``imgur.com``): looked up,
fetched and counted as that one; and a private address written so (``127.0.0.1`` or
``localhost`` in full-width characters) is still refused as private, without a
connection.

(Reported as refused; it was not on this code, yarl mapping the name as browsers do:
these hold it, beside test_s25c_redirect_host_limit's spellings and test_fetch's private
addresses.)
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG, CountingServer

from modbot.fetch import Fetcher, PrivateAddress


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


@pytest.mark.parametrize(
    "written",
    [
        "\uff49\uff4d\uff47\uff55\uff52.com",  # imgur.com, its letters full-width
        "\uff29\uff2d\uff27\uff35\uff32\uff0e\uff43\uff4f\uff4d",  # IMGUR.com, all full-width (its dot too)
        "i\uff4dgur\u3002com",  # an ideographic full stop
    ],
)
def test_a_full_width_host_is_fetched_as_the_host_browsers_read(written):
    looked_up = []

    async def public(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["93.184.216.34"]

    async def go():
        async with CountingServer(delay=0) as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(resolver=public, dial=dial) as fetcher:
                got = await fetcher.fetch(f"http://{written}/png")
            return got, server.requests

    got, requests = run(go())
    assert got.data == PNG
    assert looked_up == ["imgur.com"]
    assert requests == [("imgur.com", "/png")]  # the Host header browsers send


@pytest.mark.parametrize(
    "written",
    [
        "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",  # 127.0.0.1, all full-width
        "\uff11\uff10.0.0.1",  # 10.0.0.1, its first digits full-width
        "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",  # localhost, full-width
    ],
)
def test_a_full_width_private_host_is_refused_without_a_connection(written):
    async def go():
        async with CountingServer(delay=0) as server:
            async with Fetcher() as fetcher:  # nothing trusted
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://{written}:{server.port}/png")
            return info.value, server.requests

    err, requests = run(go())
    assert err.reason == "private_address"
    assert requests == []
