"""`--metrics-address [::]` (or `[::1]`): an IPv6 address written as in a URL, and as
`modbot gate --listen [::]:8096` takes it, is that address. Before, the metrics refused
it at start with "not an address of this host", which it is."""

from __future__ import annotations

import socket

import httpx
import pytest

from modbot.metrics import Metrics


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_bracketed_ipv6_address_is_served_on():
    metrics = Metrics(dry_run=True)
    server = metrics.serve(0, "[::1]")
    try:
        assert server.url == f"http://[::1]:{server.port}/metrics"
        answer = httpx.get(server.url, timeout=10)
        assert answer.status_code == 200 and "modbot_info" in answer.text
    finally:
        server.close()
