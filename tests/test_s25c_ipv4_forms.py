"""An IPv4 address written in one of its legacy forms (``2130706433``, ``127.1``,
``0x7f.0.0.1``, ``0177.0.0.1``) is the address browsers read it as (the WHATWG URL
parser), so the image people see is the one checked: before, the HTTP client refused
these as ``bad_url``, a refusal on principle, and an image posted at
``http://1572395042/a.png`` was never looked at (nor its instance copy). The private
network is refused in every form, directly and after a redirect.
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG, CountingServer

from modbot.fetch import Fetcher, PrivateAddress

FORMS = ["2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "127.0.1", "0x7f000001"]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


@pytest.mark.parametrize("form", FORMS)
def test_a_legacy_form_is_fetched_from_the_address_browsers_read(form):
    async def go():
        async with CountingServer(delay=0) as server:
            # the admin trusts 127.0.0.1 on this port: every spelling of it is that server
            async with Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                got = await fetcher.fetch(f"http://{form}:{server.port}/png")
            return got, server

    got, server = run(go())
    assert got.data == PNG
    assert got.url == f"http://{form}:{server.port}/png"
    assert [path for _, path in server.requests] == ["/png"]


@pytest.mark.parametrize("form", FORMS)
def test_a_legacy_form_of_a_private_address_is_refused_without_a_connection(form):
    async def go():
        async with CountingServer(delay=0) as server:
            async with Fetcher() as fetcher:  # nothing trusted
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://{form}:{server.port}/png")
            return info.value, server

    err, server = run(go())
    assert err.reason == "private_address" and "127.0.0.1" in err.message
    assert server.requests == []


def test_a_redirect_to_a_legacy_form_is_checked_as_the_address_it_is():
    async def go():
        async with CountingServer(delay=0) as server:

            async def resolver(host, port):
                return ["93.184.216.34"]

            def dial(address, port):
                return ("127.0.0.1", server.port)

            async with Fetcher(resolver=resolver, dial=dial) as fetcher:
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://public.example/to/2130706433:{server.port}")
            return info.value, server

    err, server = run(go())
    assert err.reason == "private_address" and "127.0.0.1" in err.message
    assert [host for host, _ in server.requests] == ["public.example"]  # the first hop only
