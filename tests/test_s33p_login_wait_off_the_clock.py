"""An image on a private instance that waits for the bot's Lemmy login (slow: the
client's lock held through its retries) is not timed out for that wait: the login is
the bot's own queue, not the image host's time. Before, a login slower than
``fetch.total_timeout`` made a fast host's image ``timeout``. The host's own time still
counts: one that never answers is still ``timeout``.

The instance is played by a local server that answers its image route 401 without the
``jwt`` cookie (as Lemmy does when private) and the image with it.
"""

from __future__ import annotations

import asyncio
import io
import time

from PIL import Image

from modbot.config.settings import Secret
from modbot.fetch import Fetcher, FetchLimits, FetchSkipped, InstanceLogin

_BUF = io.BytesIO()
Image.new("RGB", (8, 6), (90, 10, 90)).save(_BUF, format="PNG")
PNG = _BUF.getvalue()
TOKEN = "t0ken-for-the-test"
LIMITS = FetchLimits(total_timeout=0.5, read_timeout=0.5, connect_timeout=0.5)


class Instance:
    """Answers ``/pictrs/image/a.png`` with the PNG when the request has the login,
    else an empty 401; with ``hang`` it never answers a request with the login."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.cookies: list[bool] = []

    async def __aenter__(self) -> Instance:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                logged_in = f"jwt={TOKEN}".encode() in head
                self.cookies.append(logged_in)
                if logged_in and self.hang:
                    await asyncio.sleep(30)
                if logged_in:
                    answer = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                    answer += b"Content-Length: %d\r\n\r\n" % len(PNG) + PNG
                else:
                    answer = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def fetch_with_slow_login(seconds: float, hang: bool = False):
    """The image (or refusal) at the instance's image route, the login taking
    ``seconds`` (longer than the download's whole deadline); with the requests' cookies."""
    calls: list[str] = []

    def token() -> Secret:  # blocks, as the Lemmy client's login does
        calls.append("token")
        time.sleep(seconds)
        return Secret(TOKEN)

    def relogin(dropped: Secret) -> None:
        calls.append("relogin")

    async def go():
        async with Instance(hang) as lemmy:
            url = f"http://127.0.0.1:{lemmy.port}"
            login = InstanceLogin([url], token, relogin)
            async with Fetcher(LIMITS, allowed_hosts=[f"127.0.0.1:{lemmy.port}"], login=login) as f:
                try:
                    got = await f.fetch(f"{url}/pictrs/image/a.png")
                except FetchSkipped as exc:
                    got = exc
            return got, lemmy.cookies

    got, cookies = asyncio.run(asyncio.wait_for(go(), 20))
    return got, cookies, calls


def test_an_image_waiting_for_a_slow_login_is_judged_when_its_host_answers_fast():
    got, cookies, calls = fetch_with_slow_login(1.2)
    assert not isinstance(got, FetchSkipped), got
    assert got.data == PNG
    assert cookies == [False, True] and calls == ["token"]


def test_a_host_that_never_answers_the_logged_in_request_is_still_timed_out():
    got, cookies, _ = fetch_with_slow_login(0.1, hang=True)
    assert isinstance(got, FetchSkipped) and got.reason == "timeout", got
    assert cookies == [False, True]
