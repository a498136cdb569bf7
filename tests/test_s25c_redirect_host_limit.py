"""A redirect is bounded like a first request: the host it leads to has its own
``fetch.per_host`` downloads at once, whichever host sent the bot there.

Many hosts (one wildcard DNS name each) redirecting to one victim must not hit the
victim with every download slot the bot has. The fetcher resolves every name to a public
address and dials a local server, which counts the requests in flight per Host header.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from modbot.fetch import Fetcher, FetchLimits

PNG_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (200, 30, 30)).save(PNG_BUF, format="PNG")
PNG = PNG_BUF.getvalue()


class CountingServer:
    """Plays every host: ``/hop`` redirects to ``http://victim.example/slow``,
    ``/to/<host:port>`` to ``http://<host:port>/png``; anything else is a PNG after
    ``delay`` seconds. Counts requests in flight by Host."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []  # (host, path)
        self.downloading = 0  # /slow answers in progress, every host together
        self.max_downloading = 0

    async def __aenter__(self) -> CountingServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *lines = head.split("\r\n")
                path = line.split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)
                }
                host = headers["host"].split(":")[0].rstrip(".")
                self.requests.append((host, path))
                self.active[host] = self.active.get(host, 0) + 1
                self.max_active[host] = max(self.max_active.get(host, 0), self.active[host])
                try:
                    if path == "/hop" or path.startswith("/to/"):
                        to = path[4:] + "/png" if path.startswith("/to/") else "victim.example/slow"
                        writer.write(
                            b"HTTP/1.1 302 Found\r\nLocation: http://%s\r\n" % to.encode()
                            + b"Content-Length: 0\r\n\r\n"
                        )
                    else:
                        self.downloading += 1
                        self.max_downloading = max(self.max_downloading, self.downloading)
                        try:
                            await asyncio.sleep(self.delay)
                        finally:
                            self.downloading -= 1
                        writer.write(
                            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(PNG) + PNG
                        )
                    await writer.drain()
                finally:
                    self.active[host] -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


_ADDRESSES: dict[str, str] = {}


async def _public(host: str, port: int) -> list[str]:
    # each host a public address of its own: names of one address share its per_host
    # (test_s26h_address_host_limit), and these hosts are meant to be different servers
    name = host.rstrip(".").lower()
    return [
        _ADDRESSES.setdefault(
            name, f"93.184.{216 + len(_ADDRESSES) // 250}.{len(_ADDRESSES) % 250 + 1}"
        )
    ]


async def _fetch_all(urls_for, limits: FetchLimits):
    async with CountingServer() as server:

        def dial(address: str, port: int) -> tuple[str, int]:
            return ("127.0.0.1", server.port)

        async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
            got = await asyncio.gather(*(fetcher.fetch(url) for url in urls_for(server)))
        return got, server


def test_many_hosts_redirecting_to_one_victim_hit_it_per_host_at_most():
    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    got, server = asyncio.run(
        asyncio.wait_for(
            _fetch_all(lambda s: [f"http://a{i}.example/hop" for i in range(12)], limits), 20
        )
    )
    assert [g.data for g in got] == [PNG] * 12
    assert all(g.final_url == "http://victim.example/slow" for g in got)
    assert server.requests.count(("victim.example", "/slow")) == 12
    # before: a redirect was followed in its first host's slot only: the victim had as
    # many at once as there were redirecting hosts (up to fetch.concurrency)
    assert server.max_active["victim.example"] == 2


def test_a_host_that_only_redirects_does_not_keep_its_slot_while_the_target_downloads():
    # the redirecting host's slot is free once it has answered: its other links download
    # while the first ones download from the victim (each host within its own limit)
    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)

    def urls(server: CountingServer) -> list[str]:
        return ["http://hub.example/hop"] * 2 + ["http://hub.example/slow"] * 2

    got, server = asyncio.run(asyncio.wait_for(_fetch_all(urls, limits), 20))
    assert [g.data for g in got] == [PNG] * 4
    assert server.max_active == {"hub.example": 2, "victim.example": 2}
    # before: the hops held both of the hub's slots until the victim had answered
    assert server.max_downloading == 4


def test_waiting_for_the_redirect_targets_slot_is_not_the_downloads_time():
    # three hosts redirect to a victim taking 0.3 s an answer, one at a time: the last
    # waits 0.6 s for its turn, which is the bot's queue, not the server's slowness
    limits = FetchLimits(max_concurrency=16, per_host_concurrency=1, total_timeout=0.5)

    async def go():
        async with CountingServer(delay=0.3) as server:

            def dial(address: str, port: int) -> tuple[str, int]:
                return ("127.0.0.1", server.port)

            async with Fetcher(limits, resolver=_public, dial=dial) as fetcher:
                urls = [f"http://a{i}.example/hop" for i in range(3)]
                got = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
            return got, server

    got, server = asyncio.run(asyncio.wait_for(go(), 20))
    assert [g.data for g in got] == [PNG] * 3
    assert server.max_active["victim.example"] == 1


def test_one_host_spelled_many_ways_is_one_host():
    # a comment's links to one server, each written differently: the same host and
    # port to DNS and to the connection, so within one per_host
    spellings = [
        "victim.example",
        "VICTIM.example",
        "victim.example.",
        "victim.example:80",
        "victim.example.:80",
        "\uff56ictim.example",  # full-width letters: IDNA makes them victim.example
        "v\uff49ctim.example",
        "vi\uff43tim.example",
        "\uff56\uff49ctim.example.",
    ]
    limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
    got, server = asyncio.run(
        asyncio.wait_for(_fetch_all(lambda s: [f"http://{h}/slow" for h in spellings], limits), 20)
    )
    assert [g.data for g in got] == [PNG] * len(spellings)
    assert set(server.max_active) == {"victim.example"}
    # before: a host written another way had slots of its own (5 at once here)
    assert server.max_active["victim.example"] == 2


def test_one_ip_address_written_many_ways_is_one_host():
    # the forms of 127.0.0.1 browsers read (trusted here, as an admin may trust their
    # own server): one server, one per_host
    spellings = ["127.0.0.1", "2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "127.0.1"]

    async def go():
        async with CountingServer() as server:
            limits = FetchLimits(max_concurrency=16, per_host_concurrency=2)
            async with Fetcher(limits, allowed_hosts={f"127.0.0.1:{server.port}"}) as fetcher:
                urls = [f"http://{h}:{server.port}/slow" for h in spellings]
                got = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
            return got, server

    got, server = asyncio.run(asyncio.wait_for(go(), 20))
    assert [g.data for g in got] == [PNG] * len(spellings)
    # before: each spelling had slots of its own
    assert server.max_downloading == 2
