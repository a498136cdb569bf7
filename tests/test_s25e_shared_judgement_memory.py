"""One file linked many ways (``/a.jpg``, ``/a.jpg?1``...) is classified once: the copies
downloaded while that judgement runs are dropped at once, not held in
``fetch.max_bytes_held`` until it ends, where they would keep other images from
downloading (in process: ``modbot.acquire.Acquirer`` against a small HTTP server)."""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from pathlib import Path

import pytest

from fakelemmy import hostile
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store

RULES_PATH = Path(__file__).resolve().parents[1] / "rules.yaml"


class ImageServer:
    """Serves ``files`` by path (the query ignored) on 127.0.0.1, in a thread; records
    the paths asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0)
        )
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            path = (await reader.readuntil(b"\r\n\r\n")).decode().split(" ")[1]
            self.requests.append(path)
            body = self.files[path.split("?")[0]]
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
    """A classifier that answers once ``open`` is set (counting what it was given)."""

    concept_version = "v1"
    random_weights = True

    def __init__(self) -> None:
        self.open = threading.Event()
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
    s = ImageServer()
    yield s
    s.close()


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_file_linked_twice_holds_one_body_while_it_is_classified(server, tmp_path):
    # Room for two bodies (2 MB, 1 MB each at most). A comment links one 0.9 MB file
    # twice; while the classifier works on it, another comment's image must download:
    # the second copy is dropped, not held until the first copy's judgement ends.
    server.files["/same.jpg"] = hostile.large_file(900_000)
    server.files["/other.jpg"] = hostile.large_file(900_001)
    policy = load_policy(RULES_PATH)
    policy.fetch = policy.fetch.model_copy(
        update={"max_bytes": 1_000_000, "max_bytes_held": 2_000_000, "per_host": 8}
    )
    settings = Settings(
        lemmy_url=server.url,
        username="bot",
        password=Secret("x"),
        state_path=tmp_path / "state.sqlite3",
    )
    acquirer = Acquirer(settings, policy, Store(tmp_path / "state.sqlite3"))
    urls = [
        [server.url + "/same.jpg?from=1", server.url + "/same.jpg?from=2"],
        [server.url + "/other.jpg"],
    ]
    items = [
        Item(kind="comment", id=n, published=None, updated="x", text="") for n in range(len(urls))
    ]
    images = [[ItemImage(ImageRef(url=u, location="comment")) for u in us] for us in urls]
    engine = Engine()
    try:
        work, _ = acquirer.start(items, images, engine, CycleStats(), queue.Queue())
        downloaded = wait_for(lambda: "/other.jpg" in server.requests)
        in_use = acquirer._fetcher.body_budget.in_use
        engine.open.set()
        work.result(timeout=30)
    finally:
        engine.open.set()
        acquirer.close()
    assert downloaded, "the other image waited for the judgement of a file it does not show"
    assert in_use <= 900_000 + 1_000_000  # one copy of the shared file, the other's room
    assert engine.given == 2  # the file linked twice is classified once
    for item_images, path in ((images[0], "/same.jpg"), (images[1], "/other.jpg")):
        for img in item_images:
            assert img.skipped is None, (img.ref.url, img.skipped, img.skipped_detail)
            assert img.sha256 == hashlib.sha256(server.files[path]).hexdigest()
            assert img.verdict is not None
    assert acquirer._fetcher is None or acquirer._fetcher.body_budget.in_use == 0
