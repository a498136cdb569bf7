"""On the instance's own host, its uploads have ``per_host`` slots of their own: a
poster's hundred links to the instance's slow pages do not hold up the uploads. And a
request through the instance's own image proxy takes the slots of the server it
proxies: a slow hostile image tried again through the proxy (the fallback when the
original failed) holds that server's share, not the instance's."""

from __future__ import annotations

import asyncio
import time

from modbot.fetch import Fetcher, FetchLimits
from tests.test_s26h_address_host_limit import PNG, SLOW

OWN = "lemmy.example"


class Server:
    """Answers with a PNG: after ``delay`` s for paths with "slow" in them, at once
    otherwise; counts the slow requests in flight."""

    def __init__(self, delay: float) -> None:
        self.delay, self.active, self.max_active = delay, 0, 0

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                slow = "slow" in head.split("\r\n", 1)[0]
                if slow:
                    self.active += 1
                    self.max_active = max(self.max_active, self.active)
                try:
                    await asyncio.sleep(self.delay if slow else 0)
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(PNG) + PNG
                    )
                    await writer.drain()
                finally:
                    self.active -= slow
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def _fetcher_run(delay, body):
    async def resolve(host: str, port: int) -> list[str]:
        return ["10.0.0.5"] if host == OWN else [SLOW]

    async with Server(delay) as server:

        def dial(address: str, port: int) -> tuple[str, int]:
            return ("127.0.0.1", server.port)

        limits = FetchLimits(max_concurrency=16, per_host_concurrency=1)
        async with Fetcher(limits, allowed_hosts=[OWN], resolver=resolve, dial=dial) as fetcher:
            return await body(fetcher), server


def test_the_instances_slow_pages_do_not_hold_up_its_uploads():
    async def body(fetcher):
        pages = [
            asyncio.create_task(fetcher.fetch(f"http://{OWN}/slow/page{i}.png")) for i in range(3)
        ]
        await asyncio.sleep(0.2)  # the pages hold the instance's page slot, in turn
        started = time.monotonic()
        upload = await fetcher.fetch(f"http://{OWN}/pictrs/image/abc.png")
        took = time.monotonic() - started
        await asyncio.gather(*pages)
        return upload, took

    (upload, took), _ = asyncio.run(asyncio.wait_for(_fetcher_run(1.0, body), 30))
    assert upload.data == PNG
    assert took < 0.9  # before: behind the three slow pages, ~3 s


def test_the_instances_proxy_takes_the_proxied_servers_slots():
    async def body(fetcher):
        direct = fetcher.fetch("http://evil.example/slow1.png")
        proxied = fetcher.fetch(
            f"http://{OWN}/api/v3/image_proxy?url=http%3A%2F%2Fevil.example%2Fslow2.png"
        )
        return await asyncio.gather(direct, proxied)

    got, server = asyncio.run(asyncio.wait_for(_fetcher_run(0.5, body), 30))
    assert [g.data for g in got] == [PNG, PNG]
    # before: the proxied request took the instance's slot, beside evil's own
    assert server.max_active == 1
