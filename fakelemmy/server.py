"""Serving: one uvicorn server in a background thread, three sockets, one app per socket.

Sockets are bound (127.0.0.1, port 0) when the fake is built, so every URL is known
before it starts. `Instrument` wraps each app: it records every request, plays the
injected faults and delays, applies Lemmy's rate limits, and spoils the real answer
when asked to (`Tamper`: rewritten JSON or an HTML page; `Trickle`: sent byte by byte).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import uvicorn
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

# What nginx in front of Lemmy answers when Lemmy is down or overloaded.
GATEWAY_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


@dataclass
class RequestRecord:
    """One request as the fake saw it. `user`: the person behind a valid token, or None."""

    server: str  # "lemmy", "pictrs" or "remote"
    method: str
    path: str
    query: dict[str, str]
    json: object
    user: str | None
    status: int | None = None
    at: float = field(default_factory=time.time)
    # Lemmy 1.0: fields its request type does not have (serde drops them silently), and
    # whether answering it marked posts read (GET /post, a post/list with mark_as_read)
    ignored_fields: list[str] = field(default_factory=list)
    marked_read: bool = False
    user_agent: str | None = None  # the request's User-Agent header
    # the login headers it came with (``authorization``, ``cookie``), valid or not
    credentials: tuple[str, ...] = ()


@dataclass
class Fault:
    times: int
    status: int
    error: str | None
    message: str | None
    body: dict | None = None  # the whole JSON body, when given (Lemmy 1.0's errors)
    headers: dict | None = None

    @property
    def gateway(self) -> bool:
        """nginx's HTML page (Lemmy down or overloaded), not an answer of Lemmy's."""
        return self.body is None and self.error is None

    def response(self):
        if self.body is not None:
            return JSONResponse(self.body, status_code=self.status, headers=self.headers)
        if self.error is not None:
            body = {"error": self.error}
            if self.message is not None:
                body["message"] = self.message
            return JSONResponse(body, status_code=self.status)
        title = GATEWAY_PAGES.get(self.status, "Error")
        return HTMLResponse(
            f"<html><head><title>{self.status} {title}</title></head><body><center><h1>"
            f"{self.status} {title}</h1></center><hr><center>nginx</center></body></html>",
            status_code=self.status,
        )


@dataclass
class Tamper:
    """The real answer's JSON goes through `change` before it is sent: what it returns
    is sent instead (JSON), or, when it returns `str`/`bytes`, sent as an HTML page with
    the same status (a proxy's page answered 200)."""

    change: Callable[[object], object]
    times: int | None

    async def play(self, start: dict, body: bytes, send, gone: asyncio.Event) -> None:
        changed = self.change(json.loads(body) if body else None)
        if isinstance(changed, (str, bytes)):
            data = changed.encode() if isinstance(changed, str) else changed
            kind = b"text/html; charset=utf-8"
        else:
            data, kind = json.dumps(changed).encode(), b"application/json"
        await send(_with_body_headers(start, len(data), kind))
        await send({"type": "http.response.body", "body": data, "more_body": False})


@dataclass
class Trickle:
    """The real answer, its body sent `bytes_per_s` bytes a second (headers at once)."""

    bytes_per_s: float
    times: int | None

    async def play(self, start: dict, body: bytes, send, gone: asyncio.Event) -> None:
        await send(start)
        step = max(1, int(self.bytes_per_s))
        for i in range(0, len(body), step):
            await send(
                {"type": "http.response.body", "body": body[i : i + step], "more_body": True}
            )
            try:  # until the client hangs up (or the fake stops): then stop sending
                await asyncio.wait_for(gone.wait(), step / self.bytes_per_s)
                return
            except TimeoutError:
                pass
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _with_body_headers(start: dict, length: int, kind: bytes) -> dict:
    headers = [
        (k, v)
        for k, v in start.get("headers", [])
        if k.lower() not in (b"content-length", b"content-type")
    ]
    headers += [(b"content-length", str(length).encode()), (b"content-type", kind)]
    return {**start, "headers": headers}


class RateLimiter:
    """Lemmy's per-IP buckets (every client is 127.0.0.1 here): N requests per window."""

    def __init__(self, limits: dict[str, tuple[int, float] | None]) -> None:
        self.limits = limits
        self.hits: dict[str, deque] = {name: deque() for name in limits}
        self.lock = threading.Lock()

    def allow(self, bucket: str) -> bool:
        return self.take(bucket)[0]

    def take(self, bucket: str) -> tuple[bool, int | None, int, float]:
        """Count one request: (allowed, limit or None when unlimited, requests left,
        seconds until the oldest counted one leaves the window)."""
        limit = self.limits.get(bucket)
        if limit is None:
            return True, None, 0, 0.0
        count, window = limit
        now = time.monotonic()
        with self.lock:
            hits = self.hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            allowed = len(hits) < count
            if allowed:
                hits.append(now)
            reset = (hits[0] + window - now) if hits else float(window)
            return allowed, count, max(0, count - len(hits)), reset


def bucket_for(path: str) -> str | None:
    if path in ("/api/v3/user/login", "/api/v3/user/register"):
        return "register"  # login shares the registration bucket: a few per hour
    if path.startswith("/api/v3/"):
        return "message"
    return None


class Instrument:
    """ASGI middleware: record, delay, fault (nginx's), Lemmy 1.0's idempotency check,
    fault (Lemmy's), rate-limit, then the wrapped app."""

    def __init__(self, app, fake, server: str) -> None:
        self.app, self.fake, self.server = app, fake, server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                # The client died mid-send (kill -9): Lemmy never gets a whole request, so
                # it neither acts on it nor is it counted as received.
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        path = scope["path"]
        record = RequestRecord(
            server=self.server,
            method=scope["method"],
            path=path,
            query=dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
            json=_json_or_none(body),
            user=self.fake.user_of_scope(scope),
            user_agent=_header(scope, b"user-agent"),
            credentials=tuple(
                name for name in ("authorization", "cookie") if _header(scope, name.encode())
            ),
        )
        self.fake.record(record)
        scope["fakelemmy.record"] = record  # for the handlers' notes on it
        extra_headers: list = []

        async def recording_send(message):
            if message["type"] == "http.response.start":
                record.status = message["status"]
                if extra_headers:
                    headers = [*message.get("headers", []), *extra_headers]
                    message = {**message, "headers": headers}
            await send(message)

        delay = self.fake.take_delay(self.server, path)
        if delay:
            await asyncio.sleep(delay)
        held = self.fake.take_hold(self.server, path)
        while held is not None and not held.is_set() and not self.fake.stopping:
            await asyncio.sleep(0.02)
        fault = self.fake.take_fault(self.server, path, gateway=True)
        if fault is not None:  # nginx's page: Lemmy never saw it
            return await fault.response()(scope, replay, recording_send)
        if self.server == "lemmy" and self.fake.v4 is not None:
            # Lemmy 1.0's idempotency middleware wraps the whole app, outside the
            # routes' rate limits (server/src/lib.rs): a key is kept before a 429 or an
            # error, and the same key again answers 422 before any handler runs (so a
            # fault queued for the handler waits for the next request that reaches it).
            repeated = self.fake.v4.repeated(Request(scope), self.fake.viewer_of(Request(scope)))
            if repeated:
                return await Response(status_code=422)(scope, replay, recording_send)
        fault = self.fake.take_fault(self.server, path, gateway=False)
        if fault is not None:
            return await fault.response()(scope, replay, recording_send)
        if self.server == "lemmy" and self.fake.v4 is not None:  # Lemmy 1.0: 429s
            denied, headers = self.fake.v4.rate_limit(scope["method"], path)
            extra_headers.extend(headers)
            if denied is not None:
                return await denied(scope, replay, recording_send)
        else:
            bucket = bucket_for(path) if self.server == "lemmy" else None
            if bucket is not None and not self.fake.rate_limiter.allow(bucket):
                response = JSONResponse({"error": "rate_limit_error"}, status_code=400)
                return await response(scope, replay, recording_send)
        spoil = self.fake.take_spoiler(self.server, path)
        if spoil is None:
            return await self.app(scope, replay, recording_send)
        answer: dict = {"start": None, "body": b""}

        async def capture(message):
            if message["type"] == "http.response.start":
                answer["start"] = message
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, replay, capture)
        gone = asyncio.Event()

        async def watch():  # the client hanging up, or the fake stopping
            while not self.fake.stopping:
                try:
                    message = await asyncio.wait_for(receive(), 0.5)
                except TimeoutError:
                    continue
                if message["type"] == "http.disconnect":
                    break
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            await spoil.play(answer["start"], answer["body"], recording_send, gone)
        finally:
            watcher.cancel()


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _json_or_none(body: bytes):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def bind_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ServerThread:
    """uvicorn serving `apps` (port -> ASGI app) on pre-bound sockets, in a thread."""

    def __init__(self, sockets: list[socket.socket], apps: Mapping[int, ASGIApp]) -> None:
        self.sockets = sockets
        self.apps = apps
        config = uvicorn.Config(
            self.dispatch,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            http="h11",
            loop="asyncio",
            interface="asgi3",
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    async def dispatch(self, scope, receive, send):
        port = scope["server"][1]
        await self.apps[port](scope, receive, send)

    def start(self, timeout: float = 10.0) -> None:
        if self.sockets[0].fileno() == -1:
            raise RuntimeError("a stopped FakeLemmy cannot start again: build a new one")
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": self.sockets},
            name="fakelemmy",
            daemon=True,
        )
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Lemmy server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.thread = None
        for sock in self.sockets:
            sock.close()
