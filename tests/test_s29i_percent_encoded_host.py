"""A host written percent-encoded (``http://%69mgur.com/a.png``, ``http://%31%30.0.0.1/``)
is the host browsers decode it to (the WHATWG host parser percent-decodes a host before
anything else), and they show its image; Lemmy's Markdown keeps the escapes as written.
modbot refused such a host as ``bad_url``, a refusal on principle (not even the
instance's copy is tried): every image posted that way was shown to people and never
checked. It is now the decoded host: looked up, checked and fetched as that one, a
private address refused without a connection, and a host that decodes to a character
no host has (``/``, ``@``...: browsers show nothing) still ``bad_url``.
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG, CountingServer

from modbot.fetch import BadURL, Fetcher, PrivateAddress


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def _public(host: str, port: int) -> list[str]:
    assert host.rstrip(".") == "images.example", host  # the name browsers look up
    return ["93.184.216.34"]


@pytest.mark.parametrize("written", ["%69mages.example", "IMAGES%2Eexample", "images.ex%61mple."])
def test_a_percent_encoded_name_is_fetched_as_the_name_it_decodes_to(written):
    async def go():
        async with CountingServer(delay=0) as server:
            dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                got = await fetcher.fetch(f"http://{written}/png")
            return got, server

    got, server = run(go())
    assert got.data == PNG
    assert [host for host, _ in server.requests] in (["images.example"], ["images.example."])


def test_a_percent_encoded_address_is_that_address():
    async def go():
        async with CountingServer(delay=0) as server:
            async with Fetcher(allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                got = await fetcher.fetch(f"http://%31%32%37.0.0.1:{server.port}/png")
            return got, server

    got, server = run(go())
    assert got.data == PNG and [path for _, path in server.requests] == ["/png"]


@pytest.mark.parametrize(
    "written", ["%31%30.0.0.1", "%31%36%39.254.169.254", "%6c%6f%63%61%6c%68%6f%73%74"]
)
def test_a_percent_encoded_private_host_is_refused_without_a_connection(written):
    async def go():
        async with CountingServer(delay=0) as server:
            async with Fetcher() as fetcher:  # nothing trusted
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch(f"http://{written}:{server.port}/png")
            return info.value, server

    err, server = run(go())
    assert err.reason == "private_address"
    assert server.requests == []


def test_a_redirect_to_a_percent_encoded_private_address_is_refused():
    requests = []

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://%31%30.0.0.1/a.png\r\n")
        writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def go():
        server = await asyncio.start_server(redirect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dial = lambda address, port_: ("127.0.0.1", port)  # noqa: E731
        try:
            async with Fetcher(resolver=_public, dial=dial) as fetcher:
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch("http://images.example/a.png")
        finally:
            server.close()
        return info.value

    err = run(go())
    assert err.reason == "private_address" and "10.0.0.1" in err.message
    assert len(requests) == 1  # the first hop only


@pytest.mark.parametrize(
    "written",
    ["evil.example%2fx", "a%40images.example", "images%00.example", "%ff.example", "%2525.example"],
)
def test_a_host_that_decodes_to_what_no_host_has_is_a_bad_url(written):
    async def go():
        async with Fetcher(resolver=_public) as fetcher:
            with pytest.raises(BadURL) as info:
                await fetcher.fetch(f"http://{written}/a.png")
        return info.value

    assert run(go()).reason == "bad_url"
