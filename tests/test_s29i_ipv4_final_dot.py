"""An IPv4 address written with a final dot (``http://93.184.216.34./a.png``, also in a
legacy form: ``2130706433.``) is that address to browsers (the WHATWG URL parser drops
the empty last part, as it does for a name), and they show its image. modbot took it
for a host name, which the C library cannot look up: ``dns_error``, and the image
people saw was never checked. It is now the address: fetched from it, and refused
without a connection when it is private.
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG, CountingServer

from modbot.fetch import Fetcher, PrivateAddress

FORMS = ["127.0.0.1.", "2130706433.", "0x7f.1."]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


@pytest.mark.parametrize("form", FORMS)
def test_an_address_with_a_final_dot_is_fetched_from_that_address(form):
    async def go():
        async with CountingServer(delay=0) as server:
            # the admin trusts 127.0.0.1 on this port: every spelling of it is that server
            async with Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                got = await fetcher.fetch(f"http://{form}:{server.port}/png")
            return got, server

    got, server = run(go())
    assert got.data == PNG
    assert [path for _, path in server.requests] == ["/png"]


@pytest.mark.parametrize("form", FORMS)
def test_a_private_address_with_a_final_dot_is_refused_without_a_connection(form):
    async def go():
        async with CountingServer(delay=0) as server:
            async with Fetcher() as fetcher:  # nothing trusted
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://{form}:{server.port}/png")
            return info.value, server

    err, server = run(go())
    assert err.reason == "private_address" and "127.0.0.1" in err.message
    assert server.requests == []
