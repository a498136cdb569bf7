"""A link to a port browsers never fetch from (the Fetch standard's "bad port" list:
SMTP's 25, IRC's 6667, SSH's 22...) is refused as ``bad_url`` before any lookup or
connection: browsers show no image there, and the request, read by a mail or chat server
as commands of its own, let anyone who posts a link make modbot talk to it. modbot
fetched them. A port the admin named in ``fetch.allow_hosts`` (``host:port``, as
``LEMMY_URL``'s) is still fetched: their own server, on a port they chose.

Every name resolves to a public address and is dialled at a local server, which counts
what it is asked.
"""

from __future__ import annotations

import asyncio

import pytest
from test_s25c_redirect_host_limit import PNG, CountingServer

from modbot.fetch import BadURL, Fetcher


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def _fetch(url: str, allowed: tuple[str, ...] = ()):
    looked_up: list[tuple[str, int]] = []

    async def public(host: str, port: int) -> list[str]:
        looked_up.append((host, port))
        return ["93.184.216.34"]

    async with CountingServer(delay=0) as server:
        dial = lambda address, port: ("127.0.0.1", server.port)  # noqa: E731
        async with Fetcher(allowed_hosts=allowed, resolver=public, dial=dial) as fetcher:
            try:
                got: object = await fetcher.fetch(url)
            except BadURL as exc:
                got = exc
    return got, server.requests, looked_up


@pytest.mark.parametrize("port", [25, 6667, 22, 1, 10080, 0])
def test_a_link_to_a_port_browsers_refuse_is_refused_before_connecting(port):
    got, requests, looked_up = run(_fetch(f"http://mail.example:{port}/png"))

    assert isinstance(got, BadURL), got
    assert got.reason == "bad_url"
    assert f"port {port}" in got.message and "browsers" in got.message
    assert got.policy  # final: the same link is not tried through a copy either
    assert requests == [] and looked_up == []


def test_a_redirect_to_a_port_browsers_refuse_is_refused():
    got, requests, _ = run(_fetch("http://images.example/to/irc.example:6667"))

    assert isinstance(got, BadURL), got
    assert "redirect from http://images.example/to/irc.example:6667" in got.message
    assert "port 6667" in got.message
    assert requests == [("images.example", "/to/irc.example:6667")]  # the first hop only


def test_a_port_the_admin_named_is_fetched():
    got, requests, _ = run(_fetch("http://mail.example:25/png", ("mail.example:25",)))

    assert not isinstance(got, BadURL), got
    assert got.data == PNG
    assert requests == [("mail.example", "/png")]


def test_ordinary_ports_are_fetched():
    for port in (80, 8080, 8536, 443 + 1):
        got, requests, _ = run(_fetch(f"http://images.example:{port}/png"))
        assert not isinstance(got, BadURL), (port, got)
        assert requests == [("images.example", "/png")]
