"""The "remote web" host: files other sites serve, and hostile answers to fetching them.

Each path has a `RemoteEntry`: plain bytes with a content type, or a behaviour: a
trickle (N bytes per second), an endless body, a redirect (to anything, including
private addresses such as http://169.254.169.254/), a lying Content-Length, a delay
before the headers, any status; or cloaking (`browser_data`: what a browser gets, the
others getting `data`). A plain file has an ETag and a Last-Modified, and a conditional
request for the copy the client has is answered 304, as by a web server.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


@dataclass
class RemoteEntry:
    data: bytes = b""
    content_type: str | None = "image/jpeg"
    status: int = 200
    trickle_bytes_per_s: float | None = None
    endless: bool = False
    redirect_to: str | None = None
    delay_s: float = 0.0
    content_length: int | None = None  # declared length, when it should lie
    headers: dict[str, str] = field(default_factory=dict)
    # cloaking: served instead of `data` to a client that looks like a browser
    browser_data: bytes | None = None
    browser_type: str | None = "image/jpeg"
    added: float = field(default_factory=time.time)

    # (data, its ETag): hashed once per body, not twice per request (the benchmarks run
    # this fake on the cores they measure); a test that swaps `data` gets a new one
    _etag: tuple[bytes, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def etag(self) -> str:
        if self._etag is None or self._etag[0] is not self.data:
            self._etag = (self.data, '"' + hashlib.sha256(self.data).hexdigest()[:20] + '"')
        return self._etag[1]

    @property
    def last_modified(self) -> str:
        return email.utils.formatdate(self.added, usegmt=True)


def looks_like_a_browser(user_agent: str) -> bool:
    """A cloaking host's test: a browser's User-Agent, not a bot's."""
    agent = user_agent.lower()
    return agent.startswith("mozilla/") and not any(
        word in agent for word in ("bot", "crawler", "spider")
    )


class RemoteWeb:
    def __init__(self, fake) -> None:
        self.fake = fake
        self.entries: dict[str, RemoteEntry] = {}
        self.lock = threading.Lock()

    def add(self, path: str, entry: RemoteEntry) -> str:
        if not path.startswith("/"):
            path = "/" + path
        with self.lock:
            self.entries[path] = entry
        return f"{self.fake.remote_url}{path}"

    def get(self, path: str) -> RemoteEntry | None:
        with self.lock:
            return self.entries.get(path)

    async def handle(self, request: Request) -> Response:
        entry = self.get(request.url.path)
        if entry is None:
            return Response(
                "<html><body><h1>404 Not Found</h1></body></html>",
                status_code=404,
                media_type="text/html",
            )
        if entry.browser_data is not None and looks_like_a_browser(
            request.headers.get("user-agent", "")
        ):
            entry = RemoteEntry(data=entry.browser_data, content_type=entry.browser_type)
        if entry.delay_s:
            await asyncio.sleep(entry.delay_s)
        headers = dict(entry.headers)
        if entry.redirect_to is not None:
            headers["location"] = entry.redirect_to
            return Response(
                status_code=entry.status if entry.status in (301, 302, 303, 307, 308) else 302,
                headers=headers,
            )
        if entry.content_length is not None:
            headers["content-length"] = str(entry.content_length)
        if entry.endless:
            return StreamingResponse(
                self._endless(entry.data),
                status_code=entry.status,
                media_type=entry.content_type,
                headers=headers,
            )
        if entry.trickle_bytes_per_s:
            headers.setdefault("content-length", str(len(entry.data)))
            return StreamingResponse(
                self._trickle(entry.data, entry.trickle_bytes_per_s),
                status_code=entry.status,
                media_type=entry.content_type,
                headers=headers,
            )
        if entry.status == 200 and not entry.headers:
            # a plain file, served as web servers serve static files: with validators,
            # and 304 to a conditional request for the copy the client has
            headers["etag"] = entry.etag
            headers["last-modified"] = entry.last_modified
            if request.headers.get("if-none-match") == entry.etag or (
                "if-none-match" not in request.headers
                and request.headers.get("if-modified-since") == entry.last_modified
            ):
                return Response(status_code=304, headers=headers)
        response = Response(entry.data, status_code=entry.status, headers=headers)
        if entry.content_type is not None:
            response.headers["content-type"] = entry.content_type
        elif "content-type" in response.headers:
            del response.headers["content-type"]
        return response

    async def _endless(self, prefix: bytes):
        yield prefix
        chunk = b"\0" * 65536
        while not self.fake.stopping:
            yield chunk
            await asyncio.sleep(0)  # let the loop notice a client that went away

    async def _trickle(self, data: bytes, per_second: float):
        step = max(1, int(per_second))
        for i in range(0, len(data), step):
            if self.fake.stopping:
                return
            yield data[i : i + step]
            await asyncio.sleep(step / per_second)

    def fetch_for_proxy(self, url: str, hops: int = 10) -> bytes | None:
        """What pict-rs gets when it downloads `url` for the image proxy: image bytes, or
        None when it would fail (not on the remote host, not an image, hostile answer)."""
        from fakelemmy.pictrs import sniff_image

        for _ in range(hops):
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" != self.fake.remote_url:
                return None
            entry = self.get(parts.path)
            if entry is None:
                return None
            if entry.redirect_to is None:
                break
            url = entry.redirect_to
        else:
            return None
        if entry.status != 200 or entry.endless or entry.trickle_bytes_per_s:
            return None
        if entry.content_length is not None or sniff_image(entry.data) is None:
            return None
        return entry.data

    def routes(self) -> list[Route]:
        return [Route("/{path:path}", self.handle, methods=["GET", "HEAD"])]
