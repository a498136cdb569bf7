"""A name whose DNS answer lists a private address beside a public one is fetched from
the public one; the private one is never dialled.

A browser given ``127.0.0.1`` and ``93.184.216.34`` for a name tries the first, finds
nothing there (or not what the link means) and shows the image from the second, as
does the instance's image proxy. modbot refused the whole name as ``private_address``,
a refusal on principle (no copy of the instance's is tried either): a poster who added
an ``A 127.0.0.1`` record to their image host's name had every image on it shown to
people and never checked. A name with only private addresses is still refused.
"""

from __future__ import annotations

import logging

import pytest
from test_fetch import PNG, HostileServer, RecordingDial, run

from modbot.fetch import Fetcher, PrivateAddress

ANSWERS = {
    "mixed.example": ["127.0.0.1", "93.184.216.34"],
    "mixed6.example": ["fd00::1", "10.1.2.3", "2606:2800:220:1:248:1893:25c8:1946"],
    "inside.example": ["10.1.2.3", "::1"],
}


async def _dns(host: str, port: int) -> list[str]:
    return ANSWERS[host]


@pytest.mark.parametrize(
    "host, dialled",
    [
        ("mixed.example", "93.184.216.34"),
        ("mixed6.example", "2606:2800:220:1:248:1893:25c8:1946"),
    ],
)
def test_a_name_with_a_private_address_beside_a_public_one_is_fetched_from_the_public_one(
    host, dialled, caplog
):
    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)
            async with Fetcher(resolver=_dns, dial=dial) as fetcher:
                got = await fetcher.fetch(f"http://{host}/png")
            return got, dial.attempts

    with caplog.at_level(logging.INFO, logger="modbot.fetch"):
        got, attempts = run(go())
    assert got.data == PNG
    assert attempts == [(dialled, 80)], "only the public address is ever dialled"
    assert "non-public" in caplog.text  # the log says what was left out


def test_a_name_with_only_private_addresses_is_still_refused_without_connecting():
    async def go():
        async with HostileServer() as server:
            dial = RecordingDial(reroute=server.port)
            async with Fetcher(resolver=_dns, dial=dial) as fetcher:
                with pytest.raises(PrivateAddress) as info:
                    await fetcher.fetch("http://inside.example/png")
            return info.value, dial.attempts, server.connections

    refused, attempts, connections = run(go())
    assert refused.reason == "private_address"
    assert "resolves to non-public address 10.1.2.3" in refused.message
    assert attempts == [] and connections == 0
