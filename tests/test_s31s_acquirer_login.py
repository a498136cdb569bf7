"""The pipeline hands the acquirer the bot's login explicitly (``Acquirer.use_login``):
a private instance's own images are then read with it, and a Lemmy client method set
in ``local_image_url`` afterwards (whose client the acquirer used to take the login
from) does not replace it."""

from __future__ import annotations

import asyncio
import hashlib
import queue
from pathlib import Path

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store

RULES_PATH = Path(__file__).resolve().parents[1] / "rules.yaml"


class Engine:
    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes):
        class Verdict:
            def to_dict(self) -> dict:
                return {"scores": {"nsfw": 0.0}, "unreadable": False}

        await asyncio.sleep(0)
        return Verdict()

    def close(self) -> None:
        pass


class OtherClient:
    """A Lemmy client the acquirer must not take a login from."""

    def __init__(self) -> None:
        self.asked = 0

    def local_image_url(self, alias: str) -> str | None:
        return None

    def token(self) -> Secret:
        self.asked += 1
        return Secret("someone-elses")

    def login(self, *, dropped: Secret | None = None, what: str = "") -> None:
        self.asked += 1


@pytest.mark.both_lemmys
def test_the_login_the_pipeline_hands_over_reads_a_private_instances_upload(
    fake_lemmy, photos, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.state.site.private_instance = True
    lemmy.state.site.federation_enabled = False
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    cls = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = cls(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
    settings = Settings(
        lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD), state_path=tmp_path
    )
    acquirer = Acquirer(settings, load_policy(RULES_PATH), Store(tmp_path / "state.sqlite3"))
    other = OtherClient()
    try:
        # what pipeline.py does as its session starts, the login handed over first
        acquirer.use_login(
            client.token, lambda dropped: client.login(dropped=dropped, what="image download")
        )
        acquirer.local_image_url = other.local_image_url
        items = [Item(kind="post", id=1, published=None, updated="x", text="")]
        images = [[ItemImage(ImageRef(url=upload.url, location="post"))]]
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        work.result(timeout=30)
    finally:
        acquirer.close()
        client.close()

    ((image,),) = images
    assert image.skipped is None and image.sha256 == hashlib.sha256(photos["coffee"]).hexdigest()
    reads = [(r.status, r.user) for r in lemmy.requests if r.path.endswith(upload.alias)]
    assert reads == [(401, None), (200, cast.bot.name)]
    assert other.asked == 0  # before: the other client's login replaced the one given
