"""The rules read again with new ``fetch:`` limits make a new fetcher, with a body budget
of its own (``fetch.max_bytes_held``). A file of a batch stopped before (a failed cycle)
may still wait for the classifier then, its body held: the new budget counts it, so the
bodies in memory stay within ``max_bytes_held`` and not twice it (in process:
``modbot.acquire.Acquirer`` against a small HTTP server)."""

from __future__ import annotations

import dataclasses
import hashlib
import queue

import pytest
from test_s25e_shared_judgement_memory import RULES_PATH, Engine, ImageServer, wait_for

from fakelemmy import hostile
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store


@pytest.fixture
def server():
    s = ImageServer()
    yield s
    s.close()


def batch(url: str, n: int) -> tuple[list[Item], list[list[ItemImage]]]:
    items = [Item(kind="comment", id=n, published=None, updated="x", text="")]
    return items, [[ItemImage(ImageRef(url=url, location="comment"))]]


def test_bodies_still_judged_from_before_a_reload_count_in_the_new_budget(server, tmp_path):
    # Room for one body (1 MB, 0.9 MB files): while the first file's body waits for the
    # classifier, no other download may start, before the reload or after it.
    server.files["/first.jpg"] = hostile.large_file(900_000)
    server.files["/second.jpg"] = hostile.large_file(900_001)
    policy = load_policy(RULES_PATH)
    policy.fetch = policy.fetch.model_copy(
        update={"max_bytes": 1_000_000, "max_bytes_held": 1_000_000}
    )
    settings = Settings(
        lemmy_url=server.url,
        username="bot",
        password=Secret("x"),
        state_path=tmp_path / "state.sqlite3",
    )
    acquirer = Acquirer(settings, policy, Store(tmp_path / "state.sqlite3"))
    engine = Engine()
    try:
        # a batch whose file reached the classifier, then stopped (its cycle failed)
        items, images = batch(server.url + "/first.jpg", 1)
        _, stopped = acquirer.start(items, images, engine, CycleStats(), queue.Queue())
        assert wait_for(lambda: engine.given == 1)
        acquirer.stop(stopped)
        # the rules read again, fetch: changed (not its sizes): a new fetcher
        fetch = policy.fetch.model_copy(update={"per_host": 3})
        acquirer.use_policy(dataclasses.replace(policy, fetch=fetch))
        items, images = batch(server.url + "/second.jpg", 2)
        work, _ = acquirer.start(items, images, engine, CycleStats(), queue.Queue())
        # the second download waits for the room the first body holds (or, before, ran)
        assert wait_for(
            lambda: (
                "/second.jpg" in server.requests
                or (acquirer._fetcher is not None and acquirer._fetcher.body_budget.waits > 0)
            )
        )
        downloaded_meanwhile = "/second.jpg" in server.requests
        peak, total = acquirer.download_memory()  # what the cycle's memory line says
        engine.open.set()  # the first file's judgement ends: its room is free
        work.result(timeout=30)
    finally:
        engine.open.set()
        acquirer.close()
    assert not downloaded_meanwhile, "a body held under the old budget was not counted"
    assert total == 1_000_000 and 900_000 <= peak <= total
    img = images[0][0]
    assert img.skipped is None, (img.skipped, img.skipped_detail)
    assert img.sha256 == hashlib.sha256(server.files["/second.jpg"]).hexdigest()
    assert img.verdict is not None
