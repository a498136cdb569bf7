"""The daemon's cycle never waits on a feed's host: a host that holds its answer (slow,
trickling, up to the download's deadline of minutes) is fetched in the background,
while the cycle classifies and acts with the copy it has. The copy fetched is kept in
the state once verified and used from then on; the bot stopping drops a download in
flight, recording nothing of it."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline
from modbot.store import Store

KEY = Ed25519PrivateKey.generate()


class FeedHost:
    """A feed's host that holds the feed's answer until ``release`` is set (as one that
    trickles it would, up to the download's deadline), then serves ``files``."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.release = threading.Event()
        self.asked = threading.Event()  # the held request came
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self.handle, "127.0.0.1", 0)
        )
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.address = f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                path = head.split(" ")[1]
                if path == "/hashes.json":
                    self.asked.set()
                    while not self.release.is_set():
                        await asyncio.sleep(0.02)
                body = self.files[path]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.release.set()
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _shutdown(self) -> None:
        self.server.close()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


@pytest.fixture
def host():
    h = FeedHost()
    yield h
    h.close()


class Verdict:
    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": [],
            "scores": {},
            "model": "stub",
            "random_weights": True,
            "concept_version": "v1",
            "unreadable": None,
        }


class Engine:
    """A classifier that labels nothing, counting the files it is given."""

    concept_version = "v1"
    random_weights = True

    def __init__(self) -> None:
        self.given = 0

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> Verdict:
        self.given += 1
        return Verdict()

    def close(self) -> None:
        pass


def setup(lemmy: FakeLemmy, host: FeedHost, tmp_path: Path, photo: bytes) -> tuple[Settings, Path]:
    entry = FeedEntry("sha256", hashlib.sha256(photo).hexdigest(), "bad", "csam", date.today())
    body, sig = sign_feed(make_feed("peer.example", [entry], generated_at=datetime.now(UTC)), KEY)
    host.files = {"/hashes.json": body, "/hashes.json.sig": sig}
    remote = lemmy.remote_url.split("//", 1)[1]
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"""
classifier: {{model: modbot-tiny, pretrained: null, allow_random_weights: true}}
fetch: {{allow_hosts: ["{remote}", "{host.address}"], read_timeout: 60s}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
feeds:
  peer: {{url: "http://{host.address}/hashes.json", key: "{public_key_text(KEY)}",
          use: known-bad, instance: peer.example}}
rules:
  - name: known bad
    if: {{hash_list: peer}}
    then: {{remove: "known abusive image"}}
"""
    )
    settings = Settings.from_env(
        {
            "LEMMY_URL": lemmy.url,
            "LEMMY_USERNAME": "modbot",
            "LEMMY_PASSWORD": "pw",
            "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        }
    )
    return settings, rules


def test_a_cycle_acts_while_a_feeds_host_holds_its_answer(
    fake_lemmy: FakeLemmy, host: FeedHost, photos: dict[str, bytes], tmp_path: Path
) -> None:
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    settings, rules = setup(lemmy, host, tmp_path, photos["coffee"])
    first = lemmy.add_post(
        cast.pics, cast.bob, name="first", url=lemmy.add_remote_file("c.jpg", photos["coffee"])
    )
    policy = load_policy(rules)
    engine = Engine()
    with Pipeline(settings, policy, dry_run=False, engine=engine) as pipeline:
        daemon = Daemon(pipeline, policy, stop=threading.Event())
        daemon.cycle()
        # the cycle ended, its image classified and recorded, while the host holds on
        assert host.asked.is_set() and not host.release.is_set()
        (record,) = pipeline.store.decisions()
        assert record["item"]["id"] == first.id and record["rule"] is None
        assert engine.given == 1
        assert not [w for w in pipeline.warnings if w.startswith("feed")]
        assert pipeline.store.feed_copy("peer") is None

        host.release.set()
        assert pipeline.feed_refresher.wait(30)  # the background fetch ends
        assert pipeline.store.feed_copy("peer") is not None  # kept, in the state
        second = lemmy.add_post(
            cast.pics,
            cast.alice,
            name="again",
            url=lemmy.add_remote_file("d.jpg", photos["coffee"]),
        )
        daemon.cycle()  # the next cycle acts on the copy fetched
        assert lemmy.post(second.id).removed
        assert not [w for w in pipeline.warnings if w.startswith("feed")]


def test_stopping_drops_a_feeds_download_in_flight(
    fake_lemmy: FakeLemmy, host: FeedHost, photos: dict[str, bytes], tmp_path: Path
) -> None:
    settings, rules = setup(fake_lemmy, host, tmp_path, photos["coffee"])
    policy = load_policy(rules)
    pipeline = Pipeline(settings, policy, dry_run=True, engine=Engine())
    try:
        Daemon(pipeline, policy, stop=threading.Event()).cycle()
        assert host.asked.wait(30)
    finally:
        pipeline.close()  # does not wait for the host
    assert not pipeline.feed_refresher.busy
    store = Store(tmp_path / "state.sqlite3")
    try:  # nothing recorded of it: the next run fetches it at once
        assert store.feed_copy("peer") is None
        assert store.get_cursor("feed:peer:refused") is None
    finally:
        store.close()
