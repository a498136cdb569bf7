"""A reverse proxy in front of the instance asks for a basic-auth login, which the admin
writes in LEMMY_URL (``https://user:password@lemmy.example``, docs/configuration.md).
The Lemmy client sends it; the image downloads dropped it (user info is never sent from
a URL), so every image on the instance got the proxy's 401 and was never classified,
and the instance's copy of a remote image was recorded with the password in its URL.

Now the instance's own requests (LEMMY_URL's origin: scheme, host and port) carry it as
``Authorization: Basic``, a redirect's next hop too while it stays there, never another
host; the URLs recorded and logged hold no password.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import queue
import threading
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image

from modbot.acquire import Acquirer
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.model import CycleStats, ImageRef, Item, ItemImage
from modbot.store import Store

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "pr0xy-s3cret"
BASIC = "Basic " + base64.b64encode(f"gate:{PASSWORD}".encode()).decode()


def png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


UPLOAD, LINKED, CACHED, ELSEWHERE = (
    png((200, 0, 0)),
    png((0, 200, 0)),
    png((0, 0, 200)),
    png((90, 90, 90)),
)


class Servers:
    """The instance behind a basic-auth proxy, and another host; each records the
    Authorization header of every request, in a thread of its own."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # (server, path, authorization)
        self.ready = threading.Event()

    def __enter__(self) -> Servers:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self.stop = asyncio.Event()

        async def instance(request: web.Request) -> web.StreamResponse:
            self.seen.append(("instance", request.path, request.headers.get("Authorization")))
            if request.headers.get("Authorization") != BASIC:
                return web.Response(
                    status=401, text="login", headers={"WWW-Authenticate": 'Basic realm="x"'}
                )
            files = {
                "/pictrs/image/up.png": UPLOAD,
                "/pictrs/image/linked.png": LINKED,
                "/pictrs/image/cached.png": CACHED,
            }
            if request.path == "/pictrs/image/moved.png":
                raise web.HTTPFound(f"http://127.0.0.1:{self.other_port}/elsewhere.png")
            if request.path == "/pictrs/image/back.png":
                raise web.HTTPFound("/pictrs/image/linked.png")
            if request.path in files:
                return web.Response(body=files[request.path], content_type="image/png")
            return web.Response(status=404)

        async def other(request: web.Request) -> web.StreamResponse:
            self.seen.append(("other", request.path, request.headers.get("Authorization")))
            if request.path == "/elsewhere.png":
                return web.Response(body=ELSEWHERE, content_type="image/png")
            return web.Response(status=404)

        runners = []
        ports = []
        for handler in (instance, other):
            app = web.Application()
            app.router.add_route("GET", "/{tail:.*}", handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        self.port, self.other_port = ports
        self.ready.set()
        await self.stop.wait()
        for runner in runners:
            await runner.cleanup()


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


def rules_allowing(tmp_path: Path, host: str) -> Path:
    text = (ROOT / "rules.yaml").read_text()
    assert "allow_hosts: []" in text
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("allow_hosts: []", f"allow_hosts: ['{host}']"))
    (tmp_path / "hashes").symlink_to(ROOT / "hashes")
    return path


def acquire(tmp_path: Path, servers: Servers, refs: list[ImageRef]) -> list[ItemImage]:
    lemmy_url = f"http://gate:{PASSWORD}@127.0.0.1:{servers.port}"
    settings = Settings(
        lemmy_url=lemmy_url, username="modbot", password=Secret("pw"), state_path=tmp_path
    )
    policy = load_policy(rules_allowing(tmp_path, f"127.0.0.1:{servers.other_port}"))
    acquirer = Acquirer(settings, policy, Store(tmp_path / "state.sqlite3"))
    # as the pipeline sets it: the site's own address, which content links to
    acquirer.public_url = f"http://127.0.0.1:{servers.port}"
    items = [Item(kind="post", id=1, published=None, updated="x", text="")]
    images = [[ItemImage(ref) for ref in refs]]
    try:
        work, _ = acquirer.start(items, images, Engine(), CycleStats(), queue.Queue())
        work.result(timeout=30)
    finally:
        acquirer.close()
    return images[0]


def test_the_instance_behind_a_basic_auth_proxy_serves_its_images(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with Servers() as servers:
        instance = f"http://127.0.0.1:{servers.port}"
        other = f"http://127.0.0.1:{servers.other_port}"
        upload, linked, copied, moved = acquire(
            tmp_path,
            servers,
            [
                ImageRef(url=f"{instance}/pictrs/image/up.png", location="post", alias="up.png"),
                ImageRef(url=f"{instance}/pictrs/image/back.png", location="body"),
                # a remote link gone, its copy on the instance checked instead
                ImageRef(
                    url=f"{other}/gone.png",
                    location="post",
                    cached_url=f"{instance}/pictrs/image/cached.png",
                    cached_alias="cached.png",
                ),
                ImageRef(url=f"{instance}/pictrs/image/moved.png", location="body"),
            ],
        )

    assert upload.skipped is None, upload.skipped_detail
    assert upload.sha256 == hashlib.sha256(UPLOAD).hexdigest()
    # a link on the instance that redirects within it: both hops carry the login
    assert linked.skipped is None, linked.skipped_detail
    assert linked.sha256 == hashlib.sha256(LINKED).hexdigest()
    assert copied.skipped is None, copied.skipped_detail
    assert copied.sha256 == hashlib.sha256(CACHED).hexdigest()
    assert copied.copy is not None and PASSWORD not in copied.copy.url
    assert copied.copy.url == f"{instance}/pictrs/image/cached.png"
    assert moved.skipped is None and moved.sha256 == hashlib.sha256(ELSEWHERE).hexdigest()

    on_instance = [(path, auth) for server, path, auth in servers.seen if server == "instance"]
    assert on_instance and all(auth == BASIC for _, auth in on_instance), on_instance
    assert ("/pictrs/image/linked.png", BASIC) in on_instance
    to_other = [auth for server, _, auth in servers.seen if server == "other"]
    assert len(to_other) == 2 and to_other == [None, None]  # never to another host
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize("port", ["", ":80"])
def test_the_proxy_login_goes_to_lemmy_urls_origin_only(port):
    from modbot.fetch.login import ProxyLogin

    login = ProxyLogin.of(f"http://gate:{PASSWORD}@lemmy.example{port}/")
    assert login is not None
    assert login.header_for("http://lemmy.example/pictrs/image/a.png").reveal() == BASIC
    assert login.header_for("http://LEMMY.example:80/x") is not None
    for elsewhere in (
        "https://lemmy.example/pictrs/image/a.png",  # TLS: another origin
        "http://lemmy.example:8536/a.png",
        "http://lemmy.example.evil/a.png",
        "http://other.example/a.png",
    ):
        assert login.header_for(elsewhere) is None, elsewhere
    assert PASSWORD not in repr(login)
    assert ProxyLogin.of("http://lemmy.example") is None


def test_a_percent_encoded_password_is_sent_as_the_lemmy_client_sends_it():
    from modbot.fetch.login import ProxyLogin

    login = ProxyLogin.of("https://g%40te:p%3Ass%20w@lemmy.example")
    assert login is not None
    expected = "Basic " + base64.b64encode(b"g@te:p:ss w").decode()
    assert login.header_for("https://lemmy.example/a.png").reveal() == expected
