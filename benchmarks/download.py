"""CPU per image download, in the thread that downloads: modbot's fetcher (aiohttp since
2026-12-02) against a bare httpx client (httpx + httpcore, what the fetcher was built on
before) and a bare aiohttp session doing the same downloads, rotating in one run.

    .venv/bin/python benchmarks/download.py           # 128 images of ~1,600 px, 7 rounds
    .venv/bin/python benchmarks/download.py --tls     # the same over HTTPS

On 2 cores the model uses both; every millisecond the downloads' event loop spends is
taken from it. The images (N distinct real-photo JPEGs) are served by the fake's remote
host, or with ``--tls`` by a small HTTPS server (a self-signed certificate the clients
are made to trust), both in this process on their own threads. Each round downloads all
of them, 8 at a time, with 16 connections; the bare clients read the body as it comes
and hash it (what the fetcher does besides its checks). The figure is the event loop
thread's CPU (``time.thread_time``), which the server's threads do not count in;
connections are opened before the clock starts.

The last line: ``download CPU: X ms per image modbot, Y ms httpx (ratio R)``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ssl
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

AT_ONCE, CONNECTIONS = 8, 16


@contextmanager
def https_server(images: list[bytes]) -> Iterator[tuple[str, ssl.SSLContext]]:
    """``(base URL, a client context trusting it)``: ``/p{i}.jpg`` over HTTPS, kept alive."""
    from fakelemmy.tls import TestCA

    ca = TestCA.make()
    server_context, client_context = ca.server_context("127.0.0.1"), ca.client_context()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                number = int(path.removeprefix("/p").removesuffix(".jpg"))
                body = images[number]
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        await asyncio.Event().wait()  # until the loop stops

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait()
    try:
        yield f"https://127.0.0.1:{port[0]}", client_context
    finally:
        loop.call_soon_threadsafe(loop.stop)


async def timed(urls: list[str], one: Callable[[str], Awaitable[None]]) -> float:
    """ms of this thread's CPU per URL, the connections opened first."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def limited(url: str) -> None:
        async with gate:
            await one(url)

    await asyncio.gather(*(limited(u) for u in urls[:AT_ONCE]))  # not counted
    started = time.thread_time()
    await asyncio.gather(*(limited(u) for u in urls))
    return (time.thread_time() - started) / len(urls) * 1000


async def with_modbot(urls: list[str], host: str, context: ssl.SSLContext | None) -> float:
    import modbot.fetch
    from modbot.fetch import Fetcher, FetchLimits

    if context is not None:
        modbot.fetch.tls_context = lambda: context  # type: ignore[attr-defined]
    limits = FetchLimits(max_concurrency=CONNECTIONS, per_host_concurrency=CONNECTIONS)
    async with Fetcher(limits, allowed_hosts=[host]) as fetcher:

        async def one(url: str) -> None:
            (await fetcher.fetch(url)).release()

        return await timed(urls, one)


async def with_httpx(urls: list[str], host: str, context: ssl.SSLContext | None) -> float:
    import httpx

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, verify=context or True) as client:

        async def one(url: str) -> None:
            digest = hashlib.sha256()
            async with client.stream("GET", url) as response:
                async for piece in response.aiter_raw():
                    digest.update(piece)

        return await timed(urls, one)


async def with_aiohttp(urls: list[str], host: str, context: ssl.SSLContext | None) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=CONNECTIONS, ssl=context or True)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def one(url: str) -> None:
            digest = hashlib.sha256()
            async with session.get(url) as response:
                async for piece in response.content.iter_any():
                    digest.update(piece)

        return await timed(urls, one)


WAYS = {"modbot": with_modbot, "httpx": with_httpx, "aiohttp": with_aiohttp}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--tls", action="store_true", help="over HTTPS (a local server)")
    args = p.parse_args(argv)

    from pipeline import make_images

    from fakelemmy import FakeLemmy

    images = make_images(args.images)
    figures: dict[str, list[float]] = {way: [] for way in WAYS}

    def rounds(urls: list[str], host: str, context: ssl.SSLContext | None) -> None:
        for way in WAYS:  # warm-up: imports, first connections
            asyncio.run(WAYS[way](urls, host, context))
        names = list(WAYS)
        for number in range(args.rounds):
            order = names[number % 3 :] + names[: number % 3]
            for way in order:
                figures[way].append(asyncio.run(WAYS[way](urls, host, context)))
            print(
                f"round {number + 1}: "
                + ", ".join(f"{way} {figures[way][-1]:.2f} ms" for way in names)
                + " per image",
                flush=True,
            )

    if args.tls:
        with https_server(images) as (base, context):
            urls = [f"{base}/p{i}.jpg" for i in range(len(images))]
            rounds(urls, base.split("//", 1)[1], context)
    else:
        with FakeLemmy(rate_limit=None, login_rate_limit=None) as lemmy:
            urls = [lemmy.add_remote_file(f"p{i}.jpg", d) for i, d in enumerate(images)]
            rounds(urls, lemmy.remote_url.split("//", 1)[1], None)
    medians = {way: statistics.median(values) for way, values in figures.items()}
    mean_kb = sum(map(len, images)) / len(images) / 1024
    print(
        f"({args.images} JPEGs, mean {mean_kb:.0f} KiB, {'HTTPS' if args.tls else 'HTTP'}; "
        f"medians over {args.rounds} rounds; aiohttp alone {medians['aiohttp']:.2f} ms)"
    )
    print(
        f"download CPU: {medians['modbot']:.2f} ms per image modbot, "
        f"{medians['httpx']:.2f} ms httpx (ratio {medians['modbot'] / medians['httpx']:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
