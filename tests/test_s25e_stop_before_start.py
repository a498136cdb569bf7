"""A batch stopped as soon as it was started (the pipeline failed or was interrupted
right after launching the next page, while the downloads' loop was busy): nothing of it
is downloaded and ``stop`` returns at once (in process: ``modbot.acquire.Acquirer``
against a small HTTP server)."""

from __future__ import annotations

import asyncio
import concurrent.futures
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
    """Serves ``files`` by path on 127.0.0.1, in a thread; records the paths asked for."""

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
    yield s
    s.close()


def test_a_batch_stopped_before_its_work_began_downloads_nothing(server, tmp_path):
    server.files["/a.jpg"] = hostile.jpeg()
    settings = Settings(
        lemmy_url=server.url,
        username="bot",
        password=Secret("x"),
        state_path=tmp_path / "state.sqlite3",
    )
    acquirer = Acquirer(settings, load_policy(RULES_PATH), Store(tmp_path / "state.sqlite3"))
    items = [Item(kind="comment", id=1, published=None, updated="x", text="")]
    images = [[ItemImage(ImageRef(url=server.url + "/a.jpg", location="comment"))]]
    try:
        # the downloads' loop is busy a moment (another batch's work), so the batch's
        # start and its stop both wait for it
        acquirer._in_loop(asyncio.sleep(0)).result(5)
        acquirer._loop.call_soon_threadsafe(time.sleep, 0.5)
        work, finished = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        started = time.monotonic()
        acquirer.stop(finished)
        stopped_in = time.monotonic() - started
        time.sleep(0.5)  # what a batch not stopped would download meanwhile
    finally:
        acquirer.close()
    assert finished.is_set()
    assert stopped_in < 5
    assert server.requests == []
    assert images[0][0].sha256 is None  # not looked at: the item is taken again next time
    with pytest.raises(concurrent.futures.CancelledError):
        work.result(timeout=1)
