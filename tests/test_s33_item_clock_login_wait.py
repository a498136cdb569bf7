"""An image of a private instance that waits for the bot's Lemmy login (slow: Lemmy busy,
the client's lock held through its retries) is not `item_timeout` for that wait: the
login is the bot's own queue, not the image host's time, as a wait for memory is. Before,
the download's own deadline stopped for it (e031ac3) but the item's clock
(`fetch.item_timeout`) ran on, and the image was skipped "took longer than 1 s to
download" though its host answered at once."""

from __future__ import annotations

import hashlib
import queue
import time
from pathlib import Path

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyClient
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store

RULES = Path(__file__).resolve().parents[1] / "rules.yaml"


class Engine:
    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes):
        class Verdict:
            def to_dict(self) -> dict:
                return {"scores": {"nsfw": 0.0}, "unreadable": False}

        return Verdict()

    def close(self) -> None:
        pass


def acquire(lemmy, upload, tmp_path, login_takes: float) -> ItemImage:
    rules = tmp_path / "rules.yaml"
    text = RULES.read_text().replace("  item_timeout: 45s ", "  item_timeout: 1s  ")
    assert "item_timeout: 1s" in text
    rules.write_text(text)
    (tmp_path / "hashes").symlink_to(RULES.resolve().parent / "hashes")
    client = LemmyClient(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
    settings = Settings(
        lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD), state_path=tmp_path
    )
    acquirer = Acquirer(settings, load_policy(rules), Store(tmp_path / "state.sqlite3"))

    def slow_token() -> Secret:  # blocks, as the client's login does when Lemmy is slow
        time.sleep(login_takes)
        return client.token()

    try:
        acquirer.use_login(slow_token, lambda dropped: client.login(dropped=dropped))
        items = [Item(kind="post", id=1, published=None, updated="x", text="")]
        images = [[ItemImage(ImageRef(url=upload.url, location="post"))]]
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        work.result(timeout=30)
    finally:
        acquirer.close()
        client.close()
    ((image,),) = images
    return image


@pytest.fixture
def private(fake_lemmy, photos):
    fake_lemmy.state.site.private_instance = True
    fake_lemmy.state.site.federation_enabled = False
    return fake_lemmy.add_upload(fake_lemmy.cast.alice, photos["coffee"])


def test_an_image_waiting_for_a_slow_login_is_not_item_timeout(
    fake_lemmy, private, photos, tmp_path
):
    image = acquire(fake_lemmy, private, tmp_path, login_takes=2.0)
    assert image.skipped is None, (image.skipped, image.skipped_detail)
    assert image.sha256 == hashlib.sha256(photos["coffee"]).hexdigest()
