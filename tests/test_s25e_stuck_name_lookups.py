"""Links to hosts whose DNS never answers (``socket.getaddrinfo`` blocked here): a lookup
cannot be cancelled, so each one given up on keeps its thread. They must not hold up the
other images of the cycle (their own lookups, the perceptual hashes' decodes), and each
is recorded skipped, saying its host's lookup did not answer."""

from __future__ import annotations

import asyncio
import hashlib
import queue
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from fakelemmy import hostile
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.fetch import Fetcher, FetchLimits, SystemResolver, UnresolvableHost
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store

RULES_PATH = Path(__file__).resolve().parents[1] / "rules.yaml"
GOOD_HOST = "images.localtest"  # looked up (to 127.0.0.1), answers at once


class ImageServer:
    """Serves ``files`` by path on 127.0.0.1, in a thread."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            path = (await reader.readuntil(b"\r\n\r\n")).decode().split(" ")[1]
            body = self.files[path]
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
            writer.write(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Verdict:
    def to_dict(self) -> dict:
        return {"scores": {"nsfw": 0.1}, "unreadable": False}


class Engine:
    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> Verdict:
        return Verdict()

    def close(self) -> None:
        pass


@pytest.fixture
def server():
    s = ImageServer()
    s.files["/a.jpg"] = hostile.jpeg()
    s.files["/b.jpg"] = hostile.large_file(200_000)
    yield s
    s.close()


@pytest.fixture
def dns_stuck(monkeypatch):
    """Names under .stuck.example never get an answer until the test ends; GOOD_HOST is
    127.0.0.1."""
    answer = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".stuck.example"):
            answer.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host == GOOD_HOST:
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answer
    answer.set()  # the stuck threads end


def test_links_whose_dns_never_answers_hold_up_no_other_image(server, dns_stuck, tmp_path):
    policy = load_policy(RULES_PATH)
    assert policy.decoded_hash_kinds  # the images' pHash is decoded in a thread
    policy.fetch = policy.fetch.model_copy(
        update={
            "connect_timeout": timedelta(seconds=1),
            "total_timeout": timedelta(seconds=3),
            "item_timeout": timedelta(seconds=20),
            "allow_hosts": [f"127.0.0.1:{server.port}"],
        }
    )
    settings = Settings(
        lemmy_url=f"http://{GOOD_HOST}:{server.port}",
        username="bot",
        password=Secret("x"),
        state_path=tmp_path / "state.sqlite3",
    )
    acquirer = Acquirer(settings, policy, Store(tmp_path / "state.sqlite3"))
    # six comments of three links to hosts whose DNS never answers, then one with an
    # image on a host that is looked up and one with an image on an IP address
    stuck = [[f"http://h{n}-{k}.stuck.example/x.jpg" for k in range(3)] for n in range(6)]
    urls = [*stuck, [f"http://{GOOD_HOST}:{server.port}/a.jpg"]]
    urls.append([f"http://127.0.0.1:{server.port}/b.jpg"])
    items = [
        Item(kind="comment", id=n, published=None, updated="x", text="") for n in range(len(urls))
    ]
    images = [[ItemImage(ImageRef(url=u, location="comment")) for u in us] for us in urls]
    ready: queue.Queue[int] = queue.Queue()
    try:
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), ready)
        work.result(timeout=30)  # the cycle's downloads end
    finally:
        dns_stuck.set()
        acquirer.close()
    (good,), (on_address,) = images[-2:]
    for img, path in ((good, "/a.jpg"), (on_address, "/b.jpg")):
        assert img.skipped is None, (img.ref.url, img.skipped, img.skipped_detail)
        assert img.sha256 == hashlib.sha256(server.files[path]).hexdigest()
        assert img.verdict is not None and "phash" in img.hashes
    for item_images in images[:-2]:
        for img in item_images:
            assert img.skipped == "dns_error", (img.skipped, img.skipped_detail)
            host = img.ref.url.split("/")[2]
            assert img.skipped_detail == (f"host {host!r} did not answer a name lookup within 1 s")
    assert sorted(ready.queue) == list(range(len(urls)))


def test_lookups_stuck_in_every_lookup_thread_refuse_the_next_at_once(dns_stuck):
    # The lookup threads are bounded: once every one waits for a DNS answer that never
    # comes, the next link is refused at once, saying so, and no thread is added.
    resolver = SystemResolver(threads=2)
    limits = FetchLimits(connect_timeout=0.3, total_timeout=5)

    async def fetch(url: str) -> UnresolvableHost:
        async with Fetcher(limits, resolver=resolver) as fetcher:
            with pytest.raises(UnresolvableHost) as refused:
                await fetcher.fetch(url)
        return refused.value

    first = asyncio.run(fetch("http://one.stuck.example/x.jpg"))
    second = asyncio.run(fetch("http://two.stuck.example/x.jpg"))
    assert first.message == "host 'one.stuck.example' did not answer a name lookup within 0.3 s"
    assert second.reason == "dns_error"
    started = time.monotonic()
    third = asyncio.run(fetch("http://three.stuck.example/x.jpg"))
    assert time.monotonic() - started < 0.3
    assert third.reason == "dns_error"
    assert third.message == (
        "no name lookup could start for host 'three.stuck.example': all 2 lookup threads "
        "are waiting for DNS answers that have not come (is the DNS server answering?)"
    )
    assert resolver.running == 2

    dns_stuck.set()  # the DNS answers at last: the threads end, lookups run again
    deadline = time.monotonic() + 5
    while resolver.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert resolver.running == 0
    assert asyncio.run(resolver(GOOD_HOST, 80)) == ["127.0.0.1"]
