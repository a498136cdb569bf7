"""The downloads of a batch, in process (``modbot.acquire.Acquirer`` against a small
HTTP server in a thread): a body stays in ``fetch.max_bytes_held`` for as long as it is
in memory, even past the batch that downloaded it, and a file shown by several items
is not held up by one of them."""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from fakelemmy import hostile
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import KnownFile, Store

RULES_PATH = Path(__file__).resolve().parents[1] / "rules.yaml"


class Server:
    """Serves ``files`` by path; a path starting /slow trickles a byte every half
    second, forever; a file in ``etags`` answers 304 to its ETag."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0)
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            path = head.split(" ")[1]
            self.requests.append(path)
            if path.startswith("/slow"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
                writer.write(b"Content-Length: 100000\r\n\r\n")
                while True:
                    writer.write(b"\xff")
                    await writer.drain()
                    await asyncio.sleep(0.5)
            etag = self.etags.get(path)
            if etag and f"if-none-match: {etag}" in head.lower():
                writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: %s\r\n" % etag.encode())
                writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            else:
                body = self.files[path]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
                if etag:
                    writer.write(b"ETag: %s\r\n" % etag.encode())
                writer.write(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
                writer.write(body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _shutdown(self) -> None:
        self.server.close()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


class Verdict:
    def to_dict(self) -> dict:
        return {"scores": {"nsfw": 0.9}, "unreadable": False}


class Engine:
    """A classifier that answers once ``open`` is set (counting what it was given)."""

    concept_version = "v1"
    random_weights = True

    def __init__(self, open: bool = True) -> None:
        self.open = threading.Event()
        if open:
            self.open.set()
        self.given = 0

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> Verdict:
        self.given += 1
        while not self.open.is_set():
            await asyncio.sleep(0.02)
        return Verdict()

    def close(self) -> None:
        pass


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def acquirer_for(server: Server, tmp_path, **fetch) -> Acquirer:
    policy = load_policy(RULES_PATH)
    policy.fetch = policy.fetch.model_copy(update=fetch)
    settings = Settings(
        lemmy_url=server.url,
        username="bot",
        password=Secret("x"),
        state_path=tmp_path / "state.sqlite3",
    )
    return Acquirer(settings, policy, Store(tmp_path / "state.sqlite3"))


def batch(server: Server, *paths_of_items: list[str]) -> tuple[list[Item], list[list[ItemImage]]]:
    items = [
        Item(kind="comment", id=n, published=None, updated="x", text="")
        for n in range(len(paths_of_items))
    ]
    images = [
        [ItemImage(ImageRef(url=server.url + path, location="comment")) for path in paths]
        for paths in paths_of_items
    ]
    return items, images


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_bodies_a_stopped_batch_left_with_the_classifier_stay_in_the_budget(server, tmp_path):
    # Six 0.9 MB images wait for a slow classifier when their batch is stopped (a failed
    # cycle): their judgements go on, holding the bodies, so the next batch's downloads
    # wait for room in max_bytes_held instead of downloading another 6 MB beside them.
    for n in range(12):
        server.files[f"/{n}.jpg"] = hostile.large_file(900_000 + n)
    acquirer = acquirer_for(server, tmp_path, max_bytes=1_000_000, max_bytes_held=6_000_000)
    engine = Engine(open=False)
    try:
        items, images = batch(server, *[[f"/{n}.jpg"] for n in range(6)])
        _, finished = acquirer.start(items, images, engine, CycleStats(), queue.Queue())
        wait_for(lambda: engine.given == 6)
        acquirer.stop(finished)
        budget = acquirer._fetcher.body_budget
        held = sum(len(server.files[f"/{n}.jpg"]) for n in range(6))
        assert budget.in_use == held, "bodies still in memory are still in the budget"

        items, images = batch(server, *[[f"/{n}.jpg"] for n in range(6, 12)])
        work, _ = acquirer.start(items, images, engine, CycleStats(), queue.Queue())
        time.sleep(1.0)
        assert [p for p in server.requests if int(p[1:-4]) >= 6] == [], "no room yet"

        engine.open.set()  # the classifier answers: the stopped batch's bodies go
        work.result(timeout=30)
        assert [img.sha256 for (img,) in images] == [
            hashlib.sha256(server.files[f"/{n}.jpg"]).hexdigest() for n in range(6, 12)
        ]
        assert budget.in_use == 0
    finally:
        acquirer.close()


def test_a_link_asked_again_waits_for_memory_off_its_items_clock(server, tmp_path):
    # A known link whose verdict has gone answers 304 to the conditional request; it is
    # then downloaded again, first waiting for room in max_bytes_held (one body here)
    # while another item's slow link holds it. That wait is the bot's own capacity and
    # does not count against the item's fetch.item_timeout.
    server.files["/known.jpg"] = hostile.jpeg()
    server.etags["/known.jpg"] = '"v1"'
    acquirer = acquirer_for(
        server,
        tmp_path,
        max_bytes=1_000_000,
        max_bytes_held=1_000_000,
        item_timeout=timedelta(seconds=2),
    )
    sha256 = hashlib.sha256(server.files["/known.jpg"]).hexdigest()
    known = KnownFile(sha256, {"sha256": sha256}, '"v1"', None, checked_at=0.0)
    acquirer.store.put_known_file(server.url + "/known.jpg", known)
    try:
        items, images = batch(server, ["/known.jpg"], ["/slow.jpg"])
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        work.result(timeout=30)
    finally:
        acquirer.close()
    assert server.requests.count("/known.jpg") == 2  # asked again, then downloaded
    (known_image,), (slow_image,) = images
    assert (known_image.skipped, known_image.sha256) == (None, sha256)
    assert known_image.verdict is not None
    assert slow_image.skipped == "item_timeout"


def test_an_image_shown_by_a_hostile_item_too_is_not_held_up_by_its_slow_links(server, tmp_path):
    # A post of slow links ends with the image another post shows: the download both
    # share runs in whichever item's download slots (fetch.concurrency // 4 each) frees
    # first, not behind the hostile item's slow links until every clock has run out.
    server.files["/shared.jpg"] = hostile.jpeg()
    acquirer = acquirer_for(
        server,
        tmp_path,
        concurrency=8,
        per_host=8,  # one server here plays the attacker's host and the instance
        item_timeout=timedelta(seconds=2),
    )
    try:
        slow = ["/slow1.jpg", "/slow2.jpg", "/slow3.jpg"]
        items, images = batch(server, [*slow, "/shared.jpg"], ["/shared.jpg"])
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        work.result(timeout=30)
    finally:
        acquirer.close()
    hostile_images, (victim,) = images
    assert (victim.skipped, victim.sha256) == (
        None,
        hashlib.sha256(server.files["/shared.jpg"]).hexdigest(),
    ), victim.skipped_detail
    assert victim.verdict is not None
    assert [img.skipped for img in hostile_images] == ["item_timeout"] * 3 + [None]
    assert server.requests.count("/shared.jpg") == 1  # shared: downloaded once


def test_a_download_waiting_in_several_items_slots_takes_the_first_freed_once():
    import asyncio

    from modbot.acquire import _Download, _Slots

    async def scenario():
        mine, theirs = _Slots(1), _Slots(1)
        assert mine.take_now() and theirs.take_now()  # both items' slots busy
        download = _Download(("http://x/a.jpg",), "http://x/a.jpg")
        download.attach(ItemClockStub(), mine)
        waiting = asyncio.ensure_future(download.slot())
        await asyncio.sleep(0)
        download.attach(ItemClockStub(), theirs)  # another item shows it meanwhile
        theirs.give_back()
        assert await asyncio.wait_for(waiting, 1) is theirs
        mine.give_back()  # the wait there is over: the slot stays free
        assert (mine.free, theirs.free) == (1, 0)

        assert mine.take_now()
        cancelled = asyncio.ensure_future(download.slot())
        await asyncio.sleep(0)
        mine.give_back()
        cancelled.cancel()  # granted as it is cancelled: given back, not lost
        await asyncio.gather(cancelled, return_exceptions=True)
        assert (mine.free, theirs.free) == (1, 0)

    asyncio.run(scenario())


class ItemClockStub:
    pending = waiting = 0

    def update(self) -> None:
        pass
