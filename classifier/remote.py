"""The classifier on other machines: ``RemoteEngine`` asks ``modbot worker``s over HTTP
and offers what a local ``Engine`` does (``classify``, ``classify_many``, ``submit``,
``concept_version``, ``close``, ``stats``), without torch.

    engine = RemoteEngine(["https://gpu.example:8095", "http://backup:8095"], token,
                          custom=[CustomConcept("gore", ("gore",), 0.23)])
    engine.check()                    # at start: a refused token is a configuration error
    verdict = await engine.classify(data)

Workers are tried in the order given, each given its share of the time left (the last
one all of it: one that never answers leaves the next time to): a connection error, a
timeout, a 5xx, a 429, an
answer over ``MAX_ANSWER`` (not read further) or a 200 that is not a verdict (a proxy's
page, or a verdict ``check_verdict`` refuses: on another image than the one sent, without
a score for a concept asked, a label its score disagrees with, a score on another
scale; or one of a concept version past the ``MAX_VERSIONS`` taken of each worker) moves
on to the next, and a worker that failed is left alone for a while (1 s,
doubling with each failure in a row, up to ``max_backoff``), then asked by one image at a
time (a probe) until it answers again: the other images go to the next worker, or, with
none, wait for the probe's answer (until their own deadline: a worker slower than a
couple of seconds serves them once it answers), so a hung worker is sent one image,
not every image that comes. A 401/403 is a
configuration error (the token is wrong for that worker): said clearly in the log and in
the error. A 400 that refuses what every request carries, not the image (the custom
concepts sent or the named concept set, as the worker's error says; a proxy's 400 page,
which is about the headers; any 400 to ``/v1/info``) is a configuration to fix: said in
the log, at most every 5 minutes a worker, the next worker is asked, and the refusing
one is asked after the others for ``UNACCEPTED_RETRY`` (60 s), not first for every image. When no worker
gives a verdict, ``classify`` raises ``ClassifierUnavailable`` (the bot records the image
as skipped and looks at it again); when every worker refuses the image itself (413 over
its size limit, another 400 of the worker's), ``RemoteRequestRefused`` (a proxy's 413
before a worker counts only beside a worker's own refusal: alone it is a limit to raise,
said in the log, and the image unavailable). An answer's body is read
once it fits in its worker's share of ``ANSWERS_HELD`` (16 MiB in all, whatever the
concurrency, for the 16 workers ``classifier.remote`` takes at most; each worker has at
least ``MAX_ANSWER``, so a caller of this module giving more holds 1 MiB a worker); one other than a 200 up to ``MAX_ERROR_ANSWER``.
Each image in flight also holds its answer's head, read up to ``MAX_HEAD`` (8 KiB) in
``MAX_HEAD_LINES`` (64; past either the next worker is asked), and what is taken off its
connection ahead of the body (``READ_AHEAD``, 8 KiB at a time): ~48 KB at most. The HTTP work
runs on a thread of its own with its own event loop, so the engine serves any caller's
loop, or threads, like ``Engine``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import email.utils
import hashlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import SplitResult, urlsplit, urlunsplit

from classifier.concepts import BUILTIN_SCORES, CustomConcept
from classifier.engine import EngineClosed
from classifier.model import ModelError
from classifier.service import (
    CONCEPT_SET_HEADER,
    CONCEPTS_HEADER,
    MAX_CONCEPTS_BYTES,
    MAX_CUSTOM_CONCEPTS,
    MAX_PROMPT_CHARS,
    MAX_PROMPTS,
    concepts_header,
)
from classifier.verdict import Verdict

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

log = logging.getLogger(__name__)

__all__ = [
    "ClassifierUnavailable",
    "RemoteEngine",
    "RemoteError",
    "RemoteRequestRefused",
    "WorkerRandomWeights",
    "WorkerRefused",
    "check_verdict",
    "check_worker_url",
]

TOKEN_ENV = "MODBOT_CLASSIFIER_TOKEN"
FIRST_BACKOFF = 1.0  # seconds a worker is left alone after a failure; doubles in a row
REFUSED_BACKOFF = 300.0  # a worker that refuses the token: a configuration error
# A worker that refused what every request carries (the concepts sent, the concept set
# named) is asked after the other workers for this long, not first for every image (a
# round trip each); then first again, to see whether it was fixed.
UNACCEPTED_RETRY = 60.0
# /v1/info is answered without the model: a worker that takes longer is hung, and would
# hold the start of the bot, the gate or `modbot doctor` (check()) for the whole timeout
INFO_TIMEOUT = 10.0
RETRY_WAIT = 2.0  # how long one image waits for a worker's backoff to end
SEEN_VERSIONS = 8  # concept versions remembered of each worker
# Concept versions an engine takes in its life of each worker (the first to answer with
# it): the bot caches verdicts and keeps a prompt list under each, and a worker's changes
# only when its admin changes its model or concepts (an upgrade; two by turns in a
# rolling one). One answering with a new one per verdict would grow the bot's state.
MAX_VERSIONS = 8
# Bytes of one answer. A verdict is 8 KB (the built-in concepts' 233 prompts scored), 14
# KB with every prompt matched; the most a worker answers is some 0.9 MB: 256 custom
# prompts of 300 four-byte characters, each scored and matched, and every one of
# DeepDanbooru's 9,176 tags kept. More is a broken or hostile worker.
MAX_ANSWER = 1 << 20
# Bytes of answers being read at once, all workers together (each worker an equal share,
# at least MAX_ANSWER: one worker's slow answers never hold another's up): an answer
# waits for room in its worker's share before its body is read, so `concurrency` images
# in flight (up to 1,024) never hold 1 MiB each.
ANSWERS_HELD = 16 << 20
# An answer's head (its status line and headers), all its heads together (a 1xx's
# too): a modbot worker's is ~150 bytes in 5 lines, a TLS proxy before it (nginx, Caddy,
# Cloudflare) adds ~1 KB in 20. httpcore takes 100 KiB of head, ~5 MB once parsed into
# headers, and every image in flight (up to 1,024) has its answer's head read whatever
# ANSWERS_HELD: a head over either is read no further (_HeadBound), the next worker asked.
MAX_HEAD = 8 << 10
MAX_HEAD_LINES = 64
# Bytes taken off a worker's connection at a time (httpcore's own: 64 KiB; asyncio's:
# 256 KiB). What comes with a head, of the body, waits for the answer's room there.
READ_AHEAD = 8 << 10
# Bytes read of an answer that is not a 200: its status says what happened (a worker's
# own error is a line of JSON; a proxy's 502 page may be large, and is not repeated)
MAX_ERROR_ANSWER = 64 << 10
# A margin is a similarity (-1..1, give or take fp16's rounding) less a threshold
# (-1..1); a similarity is within -1..1. Past these a score is on another scale.
MAX_MARGIN = 2.01
MAX_SIMILARITY = 1.01
# The longest concept version and model name a worker's answer may name (a version is
# 16 hex digits; a model's name is its architecture and its weights' file name)
MAX_VERSION_CHARS = 64
MAX_MODEL_CHARS = 512
# What an error naming every worker asked keeps of each one's reason: a long one (its
# error, a proxy's advice) leaves room for the others' in a decision record
WORKER_SAID_CHARS = 300
# The most such an error says: each reason of the 16 workers classifier.remote takes
MAX_SAID_CHARS = 16 * (WORKER_SAID_CHARS + 2) + 100


class RemoteError(ModelError):
    """The remote classifier failed; the message says what to do."""


class WorkerRefused(RemoteError):
    """A worker refused the token (401/403): the token or the worker's list is wrong."""


class ClassifierUnavailable(RemoteError):
    """No worker could classify the image now (down, busy, timing out or refusing);
    ``detail`` says what each answered. Try again later."""

    def __init__(self, detail: str):
        super().__init__(f"no classifier worker answered: {detail}")
        self.detail = detail


class WorkerRandomWeights(RemoteError):
    """A worker runs a model with random weights (a test model) and they were not
    allowed: its verdicts mean nothing, so the bot must not act on them."""


class RemoteRequestRefused(RemoteError):
    """Every worker refused this image for a reason another try will not fix (an image
    over its size limit); at start (``check``), a worker that refuses the concepts."""


def _header_token(token: str | None) -> str | None:
    """``token`` as sent: without the whitespace around it (a token file's or a
    secret's newline at its end; a worker's token never holds whitespace, its tokens
    file is split on it). RemoteError, never showing it, when a character is left that
    an HTTP header cannot carry: httpx's own error would quote the whole header."""
    token = token.strip() if token else token
    if token and not all("!" <= ch <= "~" for ch in token):
        raise RemoteError(
            f"the workers' token ({TOKEN_ENV}) has a character an HTTP header cannot carry "
            "(a space, a control character or a non-ASCII letter; not shown): set it to "
            "the token as `modbot worker --new-token` printed it"
        )
    return token


def _each_said(said: Iterable[str]) -> str:
    """What each worker said, joined, each at most ``WORKER_SAID_CHARS`` (it starts with
    the worker's URL, so every worker stays named)."""
    return "; ".join(
        text if len(text) <= WORKER_SAID_CHARS else text[: WORKER_SAID_CHARS - 1] + "…"
        for text in said
    )


def _seconds(seconds: float) -> str:
    """A time in words, to a tenth under ten seconds ("0.3 s", "2.5 s", "1 s"): rounded
    to whole seconds, a timeout of 0.3 s read as none at all."""
    if seconds >= 9.95:
        return f"{seconds:.0f} s"
    return f"{seconds:.1f}".removesuffix(".0") + " s"


def check_worker_url(url: str) -> str:
    """``url`` without a trailing slash, or ValueError saying what is wrong with it. The
    error names the URL without its user info, query and fragment: a password or a
    token written there must not reach the log (``_shown``)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("a worker URL is empty")
    url = url.strip()
    parts = urlsplit(url)
    shown = _shown(parts)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"worker URL {shown!r}: must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"worker URL {shown!r}: no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"worker URL {shown!r}: no user or password in the URL; the token comes "
            f"from the environment ({TOKEN_ENV})"
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"worker URL {shown!r}: no query or fragment (left out here); give the "
            "worker's base URL"
        )
    try:
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"worker URL {shown!r}: bad port") from None
    return url.rstrip("/")


def _shown(parts: SplitResult) -> str:
    """A worker URL as an error may name it: scheme, host and path, nothing after an
    "@" of its authority, no query, no fragment."""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))[:300]


class _Room:
    """A worker's share of ``ANSWERS_HELD``: bytes of its answers being read. Used on
    the engine's loop only (no lock)."""

    def __init__(self, size: int):
        self.size, self.used = size, 0
        self._freed: asyncio.Event | None = None

    async def take(self, nbytes: int) -> int:
        """Waits until ``nbytes`` fit (any order: a small answer passes a large one)."""
        while self.used + nbytes > self.size:
            if self._freed is None:
                self._freed = asyncio.Event()
            await self._freed.wait()
        self.used += nbytes
        return nbytes

    def give(self, nbytes: int) -> None:
        if nbytes:
            self.used -= nbytes
            if self._freed is not None:  # every waiter looks again
                self._freed.set()
                self._freed = None


class _HeadTooLarge(Exception):
    """A worker's answer with a head over ``MAX_HEAD`` or ``MAX_HEAD_LINES`` (internal:
    the connection is closed, the next worker asked)."""


_INFORMATIONAL = re.compile(rb"HTTP/\d\.\d 1\d\d")
_NO_BODY = re.compile(rb"HTTP/\d\.\d (204|304)")


class _HeadBound:
    """One of httpcore's network streams to a worker, read ``READ_AHEAD`` bytes at a
    time, whose answers' heads are counted as they come, before httpcore buffers and
    parses them: past ``MAX_HEAD`` bytes or ``MAX_HEAD_LINES`` lines, ``_HeadTooLarge``.
    A head starts when a request is sent (HTTP/1.1: the answer comes after it) and ends
    at its blank line; a 1xx head is followed by another, counted with it. Bytes read
    past the answer's body (by its Content-Length) would be the next answer's head
    without being counted: a connection that had some, or an answer of another framing,
    says it is readable, which httpcore takes for closed by the worker: it is not used
    again (a modbot worker's answers have a Content-Length: its connections are)."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._in_head = False
        self._bytes = self._lines = 0
        self._line = b""  # the start of the line being read (up to 48 bytes)
        self._status: bytes | None = None  # the start of the head's first line
        self._length: int | None = None  # its Content-Length, when it has one
        self._chunked = False  # it has a Transfer-Encoding (Content-Length is not the size)
        self._body_left: int | None = None  # bytes of the body not read yet, when known
        self._kept = True  # nothing read past the answer: the connection may be used again

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._in_head, self._bytes, self._lines = True, 0, 0
        self._line, self._status, self._length, self._chunked = b"", None, None, False
        await self._stream.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await self._stream.read(min(max_bytes, READ_AHEAD), timeout)
        at = self._count(data) if self._in_head else 0
        if not self._in_head and at < len(data):
            if self._body_left is None or len(data) - at > self._body_left:
                self._kept = False
            else:
                self._body_left -= len(data) - at
        return data

    def _count(self, data: bytes) -> int:
        """Counts ``data`` in the head; where the head ended in it (its length if not)."""
        at = 0
        while self._in_head and at < len(data):
            end = data.find(b"\n", at)
            piece = data[at:] if end < 0 else data[at:end]
            self._bytes += len(piece) + (end >= 0)
            if self._bytes > MAX_HEAD:
                raise _HeadTooLarge(
                    f"answered a head over {MAX_HEAD >> 10} KiB (not read further): not "
                    "what a modbot worker answers"
                )
            if len(self._line) < 48:
                self._line += piece[: 48 - len(self._line)]
            if end < 0:
                return len(data)  # the line goes on in the next read
            at = end + 1
            line, self._line = self._line, b""
            self._lines += 1
            if self._lines > MAX_HEAD_LINES:
                raise _HeadTooLarge(
                    f"answered a head of over {MAX_HEAD_LINES} lines (not read further): "
                    "not what a modbot worker answers"
                )
            if self._status is None:
                self._status = line
            elif line in (b"", b"\r"):  # the head's end: a 1xx is followed by another
                if _INFORMATIONAL.match(self._status):
                    self._status, self._length, self._chunked = None, None, False
                else:
                    self._in_head = False
                    self._body_left = None if self._chunked else self._length
                    if _NO_BODY.match(self._status):  # whatever its Content-Length says
                        self._body_left = 0
            else:
                self._framing(line)
        return at

    def _framing(self, line: bytes) -> None:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            self._chunked = True
        elif name == b"content-length":
            value = value.strip()
            # (a second, or one cut at 48 bytes: h11 refuses the answer, or it is unknown)
            self._length = int(value) if value.isdigit() and self._length is None else None

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> _HeadBound:
        return _HeadBound(await self._stream.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and not self._kept:
            return True  # (for httpcore: closed by the worker, not to be used again)
        return self._stream.get_extra_info(info)


class _HeadBoundBackend:
    """httpcore's network backend, its streams wrapped in ``_HeadBound``."""

    def __init__(self, backend: Any):
        self._backend = backend

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> _HeadBound:
        stream = await self._backend.connect_tcp(*args, **kwargs)
        # asyncio's transport takes up to 256 KiB off the socket at a time, into the
        # stream's queue, however little is read of it (httpcore's AnyIOStream, anyio's
        # SocketStream, asyncio's transport): READ_AHEAD, else each image in flight
        # could hold 256 KiB of what a worker sends
        transport = getattr(getattr(stream, "_stream", None), "_transport", None)
        if isinstance(getattr(transport, "max_size", None), int):
            with contextlib.suppress(AttributeError, TypeError):  # (another loop's)
                transport.max_size = READ_AHEAD  # type: ignore[union-attr]
        return _HeadBound(stream)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _HeadBound:
        return _HeadBound(await self._backend.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _bound_heads(client: httpx.AsyncClient) -> None:
    """Wraps the network backend of ``client``'s connection pools (its own, and a
    proxy's from the environment) in ``_HeadBoundBackend``. httpx has no setting for
    it: its transports' pools are httpcore's (``_pool``), which take a backend
    (``_network_backend``); tests/test_s32d_worker_heads_bounded.py fails if that
    changes."""
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if pool is not None and backend is not None and not isinstance(backend, _HeadBoundBackend):
            pool._network_backend = _HeadBoundBackend(backend)


@dataclass
class _Worker:
    url: str
    room: _Room  # its share of ANSWERS_HELD
    failures: int = 0  # in a row
    down_until: float = 0.0  # monotonic time
    refused_logged: float = -REFUSED_BACKOFF
    unaccepted_logged: float = -REFUSED_BACKOFF  # said it refuses the concepts sent
    unaccepted_until: float = 0.0  # monotonic time: asked after the others until then
    proxy_limit_logged: float = -REFUSED_BACKOFF  # said its proxy refuses large images
    version: str | None = None
    # the concept versions it served, the latest last (at most SEEN_VERSIONS): one seen
    # before coming back is several workers behind its address, by turns
    seen: dict[str, None] = field(default_factory=dict)
    by_turns_logged: float = -REFUSED_BACKOFF
    # the concept versions it was the first to answer with (at most MAX_VERSIONS), and
    # when it was said to answer with one more
    brought: list[str] = field(default_factory=list)
    unsettled_logged: float = -REFUSED_BACKOFF
    random_weights: bool = False  # its model's, as it last said
    last_error: str = ""
    # set while one image asks it after a failure (a probe): until it answers again, it
    # is asked by one image at a time, not by every image that comes (a hung one would
    # hold each for its share of the timeout); the event is set when the probe ends
    probe: asyncio.Event | None = None

    def askable(self, now: float) -> bool:
        """Whether an image may ask it now: out of its backoff, and, after a failure,
        no other image asking it."""
        return self.down_until <= now and not (self.failures and self.probe is not None)

    def serves(self, version: str) -> bool:
        """Notes ``version`` as its latest; whether it had served it before."""
        before = version in self.seen
        self.seen.pop(version, None)
        self.seen[version] = None
        while len(self.seen) > SEEN_VERSIONS:
            del self.seen[next(iter(self.seen))]
        self.version = version
        return before

    def failed(self, max_backoff: float) -> None:
        now = time.monotonic()
        if now < self.down_until:
            # a request sent before it was left alone (none is sent while it is): the
            # same failure as the one that did, seen by another image in flight (a
            # restart drops them all); counted again, 16 images in flight would double
            # the backoff 16 times, to max_backoff
            return
        self.down_until = now + min(max_backoff, FIRST_BACKOFF * 2**self.failures)
        self.failures += 1

    def succeeded(self) -> None:
        self.failures, self.down_until, self.unaccepted_until = 0, 0.0, 0.0


class _Answer(Exception):
    """One worker's failure, for the next worker to be tried (internal)."""


class _Unsettled(ValueError):
    """An answer of a concept version past the ``MAX_VERSIONS`` an engine takes
    (internal: it is no verdict)."""


class _Misconfigured(_Answer):
    """One worker cannot be asked as configured, whatever the image, and trying again
    will not help: its URL redirects (not followed: the token would go wherever it
    points), or its TLS certificate is not trusted here. The message says what to
    change; the next worker is asked."""


class _Refused(_Answer):
    """One worker refused this request (400, 413): the next is asked, this one not
    again for it; when every worker asked refused it, ``RemoteRequestRefused``."""


class _ProxyRefused(_Answer):
    """A proxy before one worker refused this image over its own body limit (a 413 page,
    not the worker's JSON; nginx's client_max_body_size is 1 MB unless set): the next
    worker is asked, this one not again for it. Not the image's fault: once the proxy's
    limit is raised the worker takes it, so alone it leaves the image unavailable (looked
    at again), never refused (internal)."""


class _Unaccepted(_Answer):
    """One worker refused what every request carries, not the image (the concepts sent,
    the named concept set: its limits or sets changed): the next is asked, this one not
    again for this image, and the image is unavailable, not refused: another try, once
    the worker or rules.yaml is fixed, will classify it."""


class RemoteEngine:
    """Verdicts from ``modbot worker``s. Thread-safe; ``classify`` is async."""

    def __init__(
        self,
        urls: str | Iterable[str],
        token: str | None = None,
        *,
        custom: Iterable[CustomConcept] = (),
        concept_set: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_concurrency: int = 16,
        max_backoff: float = 60.0,
        transport: Any = None,
        allow_random_weights: bool = False,
        largest_image: tuple[int, str] | None = None,
    ):
        import httpx

        urls = [urls] if isinstance(urls, str) else list(urls)
        if not urls:
            raise ValueError("no worker URL given")
        share = max(MAX_ANSWER, ANSWERS_HELD // len(urls))
        self._workers = [_Worker(check_worker_url(u), _Room(share)) for u in urls]
        custom = tuple(custom)
        if custom and concept_set:
            raise ValueError("give custom concepts or a named concept set, not both")
        self.custom = custom
        self.concept_set = concept_set
        # identity: an answer is read within MAX_ANSWER as it comes (see _read)
        self._headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        token = _header_token(token)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        if custom:
            header = concepts_header(custom)
            assert header is not None  # a custom set has its header
            self._headers[CONCEPTS_HEADER] = header
        elif concept_set:
            self._headers[CONCEPT_SET_HEADER] = concept_set
        self.timeout = timeout
        self.max_backoff = max_backoff
        # A worker's random weights (a test model), as a local model's: refused unless
        # allowed (classifier.allow_random_weights), its verdicts mean nothing
        self.allow_random_weights = allow_random_weights
        # (bytes, the setting that says so) of the largest image its caller sends: a
        # worker that takes less is said at check(), or the images between the two sizes
        # are refused by it and, when no other worker takes them, never classified
        self.largest_image = largest_image
        # url -> the warning that the worker takes smaller images than largest_image
        self.size_limits_short: dict[str, str] = {}
        self.concept_version: str | None = None  # learnt from the first worker that answers
        # every one taken: at most MAX_VERSIONS a worker (each one's in _Worker.brought)
        self._versions: set[str] = set()
        self._version_from: _Worker | None = None
        self.model: str | None = None
        self.random_weights: bool | None = None
        self.stats = {"images": 0, "unreadable": 0, "requests": 0, "failovers": 0, "unavailable": 0}
        self._closed = False
        # a look at _closed and the hand-over to the loop (_hand_over), against close's flag:
        # else an image handed over after close stopped the loop is never answered
        self._closing = threading.Lock()
        self._inflight: set[asyncio.Task] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="modbot-remote-classifier", daemon=True
        )
        self._thread.start()
        limits = httpx.Limits(
            max_connections=max_concurrency, max_keepalive_connections=max_concurrency
        )
        timeouts = httpx.Timeout(timeout, connect=connect_timeout)

        async def setup() -> None:
            self._sem = asyncio.Semaphore(max_concurrency)
            # trust_env: SSL_CERT_FILE for a worker behind a private CA, HTTPS_PROXY
            self._client = httpx.AsyncClient(
                timeout=timeouts, limits=limits, transport=transport, follow_redirects=False
            )
            if transport is None:  # (a transport given, a test's, has its own network)
                _bound_heads(self._client)

        asyncio.run_coroutine_threadsafe(setup(), self._loop).result()

    @property
    def urls(self) -> list[str]:
        return [w.url for w in self._workers]

    # -- public API ---------------------------------------------------------------------

    async def classify(
        self,
        data: bytes,
        *,
        media_type: str | None = None,
        timeout: float | None = None,
        within: float | None = None,
    ) -> Verdict:
        """The verdict for one image's bytes, from the first worker that answers.
        ``timeout``: the whole time this image may take, failovers included, from when
        it is sent (not its wait for one of the ``concurrency`` slots); each worker
        still to be asked gets its share of the time left, the last one all of it.
        ``within``: the seconds the caller waits for the verdict, from now, when that
        is shorter (the gate's budget): each worker but the last gets its share of
        that, so the last is asked within it, and keeps what is left of ``timeout``
        (a verdict it gives later is still returned, for the caller's cache)."""
        future = self.submit(data, media_type=media_type, timeout=timeout, within=within)
        return await asyncio.wrap_future(future)

    def submit(
        self,
        data: bytes,
        *,
        media_type: str | None = None,
        timeout: float | None = None,
        within: float | None = None,
    ) -> concurrent.futures.Future:
        """Thread API: a Future of the Verdict."""
        # the moment the caller stops waiting: counted from now, its wait for a slot too
        turns_by = None if within is None else time.monotonic() + within
        try:
            return self._hand_over(
                lambda: self._track(self._classify(bytes(data), media_type, timeout, turns_by))
            )
        except EngineClosed as exc:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_exception(exc)
            return future

    def classify_many(self, items: Iterable[bytes]) -> list[Verdict]:
        """Verdicts for many images, in order (sync convenience)."""
        futures = [self.submit(data) for data in items]
        return [f.result() for f in futures]

    async def ready(self) -> str | None:
        """The concept version, asking the workers (``GET /v1/info``) if not known yet
        (None while no worker said it in the form a modbot worker does).
        Raises ``ClassifierUnavailable`` when none answers."""
        if self.concept_version is not None:
            return self.concept_version
        return await asyncio.wrap_future(self._hand_over(self._ready))

    def check(self) -> dict[str, str]:
        """Ask every worker (at start): url -> what it said. A worker that refuses the
        token raises ``WorkerRefused`` (a configuration error); one that does not answer
        is logged and left for later. Learns the concept version."""
        return self._hand_over(self._check).result()

    def _hand_over(
        self, work: Callable[[], Coroutine[Any, Any, T]]
    ) -> concurrent.futures.Future[T]:
        """``work()`` run on the engine's loop, or EngineClosed once it is closed."""
        with self._closing:
            if not self._closed:
                return asyncio.run_coroutine_threadsafe(work(), self._loop)
        raise EngineClosed("the remote classifier is closed")

    def close(self) -> None:
        """Finish the requests in flight (within ``timeout``), then stop."""
        with self._closing:  # an image being handed over is in flight once it is
            if self._closed:
                return
            self._closed = True

        async def shutdown() -> None:
            if self._inflight:
                await asyncio.wait(list(self._inflight), timeout=self.timeout)
            # the ones left (waiting for a connection, or a worker still slower): ended
            # with EngineClosed (see _track), never left pending on a stopped loop for
            # whoever waits for their verdicts
            left = list(self._inflight)
            for task in left:
                task.cancel()
            if left:
                await asyncio.wait(left)
            await self._client.aclose()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(
                timeout=self.timeout + 10
            )
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- on the engine's loop -------------------------------------------------------------

    async def _track(self, coro: Awaitable[T]) -> T:
        task = asyncio.current_task()
        assert task is not None  # run as a task on the engine's loop
        self._inflight.add(task)
        try:
            return await coro
        except asyncio.CancelledError:
            if self._closed:  # cancelled by close(): nothing else cancels these tasks
                raise EngineClosed(
                    "the remote classifier closed before this image's verdict came"
                ) from None
            raise
        finally:
            self._inflight.discard(task)

    async def _classify(
        self, data: bytes, media_type: str | None, timeout: float | None, turns_by: float | None
    ) -> Verdict:
        sha256 = hashlib.sha256(data).hexdigest()
        asked = BUILTIN_SCORES + tuple(c.name for c in self.custom)

        def parse(worker: _Worker, answer: httpx.Response) -> Verdict:
            verdict = check_verdict(_verdict(answer), sha256, asked)
            if verdict.random_weights and not self.allow_random_weights:
                raise ValueError(f"a verdict of {verdict.model} with RANDOM WEIGHTS")
            self._take_version(worker, verdict.concept_version)
            return verdict

        async with self._sem:
            headers = {"Content-Type": media_type or "application/octet-stream"}
            worker, verdict = await self._first(
                "POST", "/v1/classify", data, headers, timeout, parse, turns_by
            )
            self.stats["images"] += 1
            if verdict.unreadable:
                self.stats["unreadable"] += 1
            self._note_version(
                worker, verdict.concept_version, verdict.model, verdict.random_weights
            )
            return verdict

    async def _ready(self) -> str | None:
        if self.concept_version is None:
            # a 200 that is not a worker's info (a catch-all page) is a broken worker's,
            # as a page for a verdict is: its backoff grows, the next worker is asked
            def parse(worker: _Worker, answer: httpx.Response) -> tuple[str, str, bool]:
                fields = _info_fields(answer)
                self._take_version(worker, fields[0])
                return fields

            worker, info = await self._first(
                "GET", "/v1/info", None, {}, min(self.timeout, INFO_TIMEOUT), parse
            )
            self._note_version(worker, *info)
        return self.concept_version

    async def _check(self) -> dict[str, str]:
        results = await asyncio.gather(
            *(self._info(w) for w in self._workers), return_exceptions=True
        )
        said: dict[str, str] = {}
        refused = []
        for worker, result in zip(self._workers, results):
            if isinstance(
                result, RemoteError
            ):  # a refused token or concept set: fix the configuration
                refused.append(str(result))
                said[worker.url] = str(result)
            elif isinstance(result, _Misconfigured):  # a setting to change, not a wait
                worker.failed(self.max_backoff)
                log.warning("classifier worker %s %s", worker.url, result)
                said[worker.url] = str(result)
            elif isinstance(result, BaseException):
                worker.failed(self.max_backoff)
                log.warning(
                    "classifier worker %s does not answer now (%s); it is tried again "
                    "when images come",
                    worker.url,
                    result,
                )
                said[worker.url] = str(result)
            else:
                model = self._note_info(worker, result)
                if model is None:  # not a worker's answer: a broken worker's
                    worker.failed(self.max_backoff)
                else:
                    worker.succeeded()
                    self._check_size_limit(worker, result)
                said[worker.url] = (
                    f"{model} concept version {worker.version}{_anime_pass(worker, result)}"
                    if model is not None
                    else "/v1/info is not what a modbot worker answers"
                )
        if refused:
            if all(isinstance(r, WorkerRefused) for r in results if isinstance(r, RemoteError)):
                raise WorkerRefused("; ".join(refused))
            raise RemoteRequestRefused("; ".join(refused))
        random = [w.url for w in self._workers if w.random_weights]
        if random and not self.allow_random_weights:
            raise WorkerRandomWeights(
                f"classifier worker {', '.join(random)} runs a model with RANDOM WEIGHTS "
                "(a test model): its verdicts mean nothing, and modbot will not act on "
                "them. Start the worker with real weights (modbot worker --model, "
                "--pretrained or --checkpoint), or, for a test, set "
                "classifier.allow_random_weights: true in rules.yaml"
            )
        if self.concept_version is None:
            log.warning(
                "no classifier worker answers now (%s); images are recorded as skipped "
                "(classifier_unavailable) and looked at again later",
                ", ".join(self.urls),
            )
        return said

    def _check_size_limit(self, worker: _Worker, info: httpx.Response) -> None:
        """Warns of a worker whose size limit (its ``--max-bytes``, ``max_body`` in its
        ``/v1/info``) is under ``largest_image``: each image between the two it refuses
        (413), and one no other worker takes gets no verdict (the bot records it as
        classifier_error and does not look at it again), which nothing else would say
        until such images come."""
        if self.largest_image is None:
            return
        largest, setting = self.largest_image
        try:
            limit = _json(info).get("max_body")
        except (ValueError, AttributeError):
            return
        if not isinstance(limit, int) or isinstance(limit, bool) or limit >= largest:
            return
        said = (
            f"classifier worker {worker.url} takes images of at most {limit:,} bytes (its "
            f"--max-bytes), less than the {largest:,} bytes of {setting}: it refuses every "
            "image between the two, and one no other worker takes is never classified "
            f"(skipped as classifier_error). Start that worker with --max-bytes {largest} "
            f"or more, or lower {setting} to {limit} (bytes)"
        )
        log.warning("%s", said)
        self.size_limits_short[worker.url] = said  # for `modbot doctor`

    async def _info(self, worker: _Worker) -> httpx.Response:
        import httpx

        taken = 0
        timeout = min(self.timeout, INFO_TIMEOUT)
        try:
            # the whole answer within the timeout, not each read (as in _send)
            async with (
                asyncio.timeout(timeout),
                self._client.stream(
                    "GET",
                    f"{worker.url}/v1/info",
                    headers=self._headers,
                    timeout=httpx.Timeout(
                        timeout, connect=min(timeout, self._client.timeout.connect or timeout)
                    ),
                ) as streamed,
            ):
                answer, taken = await _read(streamed, worker.room)
        except (httpx.TimeoutException, TimeoutError):
            raise _Answer(f"timed out after {_seconds(timeout)}") from None
        except _HeadTooLarge as exc:
            raise _Answer(str(exc)) from None
        except httpx.HTTPError as exc:
            # a setting to change, not a wait: said as that at start
            wrong = _untrusted(exc) is not None or _plain_http(exc)
            raise (_Misconfigured if wrong else _Answer)(_broken(exc, worker.url)) from None
        finally:
            # (check() holds one answer a worker past this, at start: within 16 workers)
            worker.room.give(taken)
        self.stats["requests"] += 1
        if isinstance(answer, str):
            raise _Answer(answer)
        if answer.status_code in (401, 403):
            raise WorkerRefused(self._refused_message(worker, answer))
        if answer.status_code == 400:  # no image sent: it refuses the configuration
            unaccepted = self._unaccepted("/v1/info", answer)
            assert unaccepted is not None  # (any 400 to /v1/info is one)
            short, fix = unaccepted
            raise RemoteRequestRefused(f"classifier worker {worker.url}: {short}. {fix}")
        moved = _redirect(answer, "/v1/info")
        if moved is not None:
            raise _Misconfigured(moved)
        if answer.status_code != 200:
            raise _Answer(f"answered {answer.status_code} {_error(answer)}")
        return answer

    def _note_info(self, worker: _Worker, answer: httpx.Response) -> str | None:
        """Learns the version from a worker's ``/v1/info``; its model, or None when
        the answer is not a modbot worker's."""
        try:
            version, model, random_weights = _info_fields(answer)
            self._take_version(worker, version)
        except _Unsettled as exc:
            self._say_unsettled(worker, exc)
            return None
        except ValueError as exc:
            log.warning("classifier worker %s: %s", worker.url, exc)
            return None
        self._note_version(worker, version, model, random_weights)
        return model

    def _take_version(self, worker: _Worker, version: str) -> None:
        """Notes ``version``, of ``worker``'s answer, as one this engine took;
        ``_Unsettled`` when it is new and that worker brought ``MAX_VERSIONS`` already
        (each worker its own: a broken one takes none of another's)."""
        if version in self._versions:
            return
        if len(worker.brought) >= MAX_VERSIONS:
            raise _Unsettled(
                f"concept version {version}, past the {MAX_VERSIONS} this classifier takes "
                f"of a worker ({worker.brought[0]} .. {worker.brought[-1]}): not used"
            )
        self._versions.add(version)
        worker.brought.append(version)

    def _say_unsettled(self, worker: _Worker, exc: _Unsettled) -> None:
        if time.monotonic() - worker.unsettled_logged < REFUSED_BACKOFF:
            return
        worker.unsettled_logged = time.monotonic()
        log.warning(
            "classifier worker %s answers with %s. A worker's concept version changes only "
            "when its admin changes its model or concepts: it is broken or not a modbot "
            "worker. Its answers of another version are not used (its images go to the "
            "other workers, or are recorded as skipped, classifier_unavailable, and looked "
            "at again); restart modbot once the workers serve one version (said at most "
            "every 5 minutes)",
            worker.url,
            exc,
        )

    def _note_version(
        self, worker: _Worker, version: str, model: str, random_weights: bool
    ) -> None:
        worker.random_weights = random_weights
        if worker.version == version:
            return
        # several workers behind one address (a load balancer, a rolling upgrade) answer
        # with their versions by turns: said once every 5 minutes, not once per image
        back = worker.serves(version)
        if back and time.monotonic() - worker.by_turns_logged >= REFUSED_BACKOFF:
            worker.by_turns_logged = time.monotonic()
            log.warning(
                "classifier worker %s answers with concept versions %s by turns: the "
                "workers behind that address run different models or concepts, and their "
                "verdicts differ (each is recorded with its own); give them all the same "
                "(said at most every 5 minutes)",
                worker.url,
                ", ".join(worker.seen),
            )
        if self.concept_version is None or worker is self._version_from:
            # that worker now runs another model or concepts (said once a version)
            if self.concept_version is not None and not back:
                log.warning(
                    "classifier worker %s now serves concept version %s (%s), was %s: "
                    "verdicts cached before are not reused",
                    worker.url,
                    version,
                    model,
                    self.concept_version,
                )
            self.concept_version, self.model, self.random_weights = version, model, random_weights
            self._version_from = worker
            if random_weights and self.allow_random_weights and not back:
                log.warning(
                    "classifier worker %s runs %s with RANDOM WEIGHTS: its verdicts mean nothing",
                    worker.url,
                    model,
                )
        elif version != self.concept_version and not back:
            log.warning(
                "classifier workers disagree: %s serves concept version %s (%s), the "
                "first one %s (%s); give every worker the same model and concepts, or "
                "their verdicts differ",
                worker.url,
                version,
                model,
                self.concept_version,
                self.model,
            )

    def _unaccepted(self, path: str, answer: httpx.Response) -> tuple[str, str] | None:
        """(what happened, what to fix) when a 400 refuses what every request of this bot
        carries, not the image: the concepts sent (``X-Modbot-Concepts``) or the named
        set (``X-Modbot-Concept-Set``), as the worker's error says; a proxy's 400 page
        (it refuses the headers, e.g. one over its header size limit, never the image's
        bytes, which it does not read); any 400 to ``/v1/info`` (no image sent). None
        for a refusal of this image (a 413, another 400 of the worker's)."""
        if answer.status_code != 400:
            return None
        said = _error(answer)
        from_worker = _is_json(answer)
        if from_worker and path != "/v1/info" and "concept" not in said.lower():
            return None
        if not from_worker:
            short = f"a proxy before it refuses the requests (400 {said}), not the image"
            fix = (
                f"The {CONCEPTS_HEADER} header carries rules.yaml's `concepts:` (up to 8 "
                "KiB): raise the proxy's limit on request headers (nginx: "
                "`large_client_header_buffers 4 16k`; 8k by default) or give rules.yaml's "
                "`concepts:` fewer or shorter prompts"
                if CONCEPTS_HEADER in self._headers
                else "Check the proxy's configuration (its error log says why)"
            )
            return short, fix
        fields = _json(answer)
        if CONCEPTS_HEADER in self._headers:
            what = "the concepts this bot sends (rules.yaml's `concepts:`)"
            concept = fields.get("concept") if isinstance(fields, dict) else None
            if isinstance(concept, str) and concept in {c.name for c in self.custom}:
                fix = (
                    f"Change the concept {concept!r} in rules.yaml's `concepts:` as the "
                    "worker's error says (its prompts, their length, its threshold), or "
                    "remove it"
                )
            else:
                fix = (
                    "Change rules.yaml's `concepts:` as the worker's error says (a modbot "
                    f"worker takes at most {MAX_CUSTOM_CONCEPTS} concepts, {MAX_PROMPTS} "
                    f"prompts in all, each of at most {MAX_PROMPT_CHARS} characters, "
                    f"{MAX_CONCEPTS_BYTES >> 10} KiB of JSON together)"
                )
        elif CONCEPT_SET_HEADER in self._headers:
            what = f"the concept set {self.concept_set!r} this bot asks for"
            fix = (
                f"Start that worker with `modbot worker --concepts {self.concept_set}=FILE` "
                "(FILE: the concepts as JSON, like rules.yaml's `concepts:`), or ask for a "
                "set it serves"
            )
        else:
            what = "the requests of this bot"
            fix = "Ask the worker's admin what its error means"
        return f"refuses {what} (400: {said})", fix

    def _refused_message(self, worker: _Worker, answer: httpx.Response) -> str:
        if not _is_json(answer):  # a page: a proxy's (a firewall's), not the worker's check
            return (
                f"classifier worker {worker.url}: a proxy before the worker refused the "
                f"request ({answer.status_code} {answer.reason_phrase}, a page, not the "
                "worker's own answer: not necessarily the token): ask the admin of that "
                "address to let this bot through (its IP address, its requests), then "
                f"check {TOKEN_ENV}"
            )
        how = (
            f"set {TOKEN_ENV} to a token that worker's admin gave you"
            if "Authorization" in self._headers
            else f"it needs a token: set {TOKEN_ENV}"
        )
        if "Authorization" in self._headers and len(self._workers) > 1:
            # another admin's worker among them: its own new token would lock out the
            # workers that take this one; that admin can take this one by its digest
            how = (
                f"the one token in {TOKEN_ENV} goes to every worker in classifier.remote, "
                "so give that worker's admin, for its tokens file, the line `NAME "
                'sha256:HEX QUOTA`, HEX from `printf %s "$MODBOT_CLASSIFIER_TOKEN" | '
                "sha256sum` (the token itself stays here)"
            )
        return (
            f"classifier worker {worker.url} refused the token ({answer.status_code} "
            f"{_error(answer)}): {how}"
        )

    async def _first(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float | None,
        parse: Callable[[_Worker, httpx.Response], T],
        turns_by: float | None = None,
    ) -> tuple[_Worker, T]:
        """(worker, ``parse`` of its 200 answer) from the first worker that gives one
        ``parse`` takes, in order (``turns_by``, ``time.monotonic()``: each but the last
        asked by then, as ``classify``'s ``within`` says); a second pass after waiting for
        one to come out of its backoff (at most ``RETRY_WAIT``) or its probe to end. A 200 that ``parse`` refuses (a proxy's page
        before a worker, a verdict on another image) is a broken worker: the next is
        asked, and when none gives one, the image is unavailable as when none answers
        (the bot looks at it again), never refused: it is the workers' fault, not the
        image's. A worker that refuses this request (400, 413: another worker may take
        an image over this one's size limit) is not asked again for it; the next is.
        Raises ``ClassifierUnavailable`` with what each said, or
        ``RemoteRequestRefused`` when every worker asked refused the image itself (one
        that refused the concepts sent may take it once fixed: unavailable)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout if timeout is not None else self.timeout)
        errors: dict[str, str] = {}
        refused: dict[str, str] = {}  # the workers that refused this request
        proxied: set[str] = set()  # the workers whose proxy refused it (its size)
        unaccepted: set[str] = set()  # the workers that refused the concepts sent
        tried = 0
        for _attempt in range(2):
            left = [
                w
                for w in self._workers
                if w.url not in refused and w.url not in proxied and w.url not in unaccepted
            ]
            if not left:
                break
            now = time.monotonic()
            # one that refused the concepts lately: after the others (stable sort)
            left.sort(key=lambda w: w.unaccepted_until > now)
            ready = [w for w in left if w.askable(now)]
            if not ready:
                # wait for one to come out of its backoff (at most RETRY_WAIT) or for a
                # probe's end (one image asking a worker after a failure: the others wait
                # for its answer, until their own deadline: a slow worker, not a hung
                # one, answers the probe after a few seconds and then serves them all)
                backoff_until = now + min(RETRY_WAIT, deadline - loop.time())
                probe_until = now + max(0.0, deadline - loop.time())
                while not ready:
                    free = min((w.down_until for w in left if w.down_until > now), default=None)
                    probes = [w.probe for w in left if w.down_until <= now and w.probe]
                    give_up = probe_until if probes else backoff_until
                    if (not probes and (free is None or free >= give_up)) or now >= give_up:
                        break
                    limit = min(give_up, free if free is not None else give_up) - now
                    if probes:
                        ends = [asyncio.ensure_future(p.wait()) for p in probes]
                        await asyncio.wait(ends, timeout=limit, return_when="FIRST_COMPLETED")
                        for end in ends:
                            end.cancel()
                    else:
                        await asyncio.sleep(limit)
                    now = time.monotonic()
                    ready = [w for w in left if w.askable(now)]
                if not ready:
                    for w in left:
                        errors.setdefault(w.url, _not_asked(w, now))
                    break
            for index, worker in enumerate(ready):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    errors.setdefault(worker.url, "no time left")
                    break
                now = time.monotonic()
                if not worker.askable(now):  # it failed, or another image probes it, since
                    errors.setdefault(worker.url, _not_asked(worker, now))
                    continue
                if tried:
                    self.stats["failovers"] += 1
                tried += 1
                # each worker still to be asked gets its share of the time left, the
                # last one all of it: one that takes the image and never answers (its
                # GPU hung) would otherwise leave the next, healthy one no time at all
                pool = remaining
                if turns_by is not None and index < len(ready) - 1:
                    # a caller that waits less (the gate's budget): the workers before
                    # the last share what it waits, so the last is asked in time too
                    waits = turns_by - time.monotonic()
                    if waits > 0:
                        pool = min(remaining, waits)
                share = pool / (len(ready) - index)
                probe = None
                if worker.failures:  # this image is its probe: the others go on
                    probe = worker.probe = asyncio.Event()
                try:
                    try:
                        answer = await self._send(worker, method, path, body, headers, share)
                    except _Refused as exc:
                        errors[worker.url] = refused[worker.url] = str(exc)
                        continue
                    except _ProxyRefused as exc:
                        errors[worker.url] = str(exc)
                        proxied.add(worker.url)
                        continue
                    except _Unaccepted as exc:
                        errors[worker.url] = worker.last_error = str(exc)
                        unaccepted.add(worker.url)
                        worker.unaccepted_until = time.monotonic() + UNACCEPTED_RETRY
                        continue
                    except _Answer as exc:
                        errors[worker.url] = worker.last_error = str(exc)
                        continue
                    try:
                        value = parse(worker, answer)
                    except (ValueError, KeyError, TypeError, AttributeError) as exc:
                        del answer  # out of its room: not held while the next is asked
                        worker.failed(self.max_backoff)
                        if isinstance(exc, _Unsettled):
                            self._say_unsettled(worker, exc)
                        what = "a verdict" if path == "/v1/classify" else "what a worker answers"
                        errors[worker.url] = worker.last_error = f"answered 200, not {what} ({exc})"
                        continue
                    worker.succeeded()
                    return worker, value
                finally:
                    if probe is not None:  # answered or not: the next image may probe
                        worker.probe = None
                        probe.set()
        # refused when a worker itself refused the image (its own limit) and every
        # other one asked refused it too; a proxy's limit alone is a setting to fix
        if refused and set(refused) | proxied == set(errors):
            raise RemoteRequestRefused(_each_said(errors.values()))
        self.stats["unavailable"] += 1
        raise ClassifierUnavailable(_each_said(f"{url}: {why}" for url, why in errors.items()))

    async def _send(
        self,
        worker: _Worker,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> httpx.Response:
        import httpx

        taken = 0
        try:
            # httpx's timeout is per read: the whole answer must also come within it, or
            # a worker dripping bytes would hold the image far past `timeout`
            async with (
                asyncio.timeout(timeout),
                self._client.stream(
                    method,
                    worker.url + path,
                    content=body,
                    headers={**self._headers, **headers},
                    timeout=httpx.Timeout(
                        timeout, connect=min(timeout, self._client.timeout.connect or timeout)
                    ),
                ) as streamed,
            ):
                answer, taken = await _read(streamed, worker.room)
        except (httpx.TimeoutException, TimeoutError):
            worker.failed(self.max_backoff)
            raise _Answer(f"timed out after {_seconds(timeout)}") from None
        except _HeadTooLarge as exc:  # a broken or hostile worker's, or its proxy's
            worker.failed(self.max_backoff)
            raise _Answer(str(exc)) from None
        except httpx.HTTPError as exc:
            worker.failed(self.max_backoff)
            raise _Answer(_broken(exc, worker.url)) from None
        finally:
            self.stats["requests"] += 1
            # the answer stays in memory until its caller parses it, with no wait between
            worker.room.give(taken)
        if isinstance(answer, str):
            worker.failed(self.max_backoff)
            raise _Answer(answer)
        status = answer.status_code
        if status == 200:
            return answer
        if status in (401, 403):
            worker.down_until = time.monotonic() + REFUSED_BACKOFF
            message = self._refused_message(worker, answer)
            if time.monotonic() - worker.refused_logged >= REFUSED_BACKOFF:
                worker.refused_logged = time.monotonic()
                log.error("%s", message)
            raise _Answer(message)
        if status == 429:
            retry = _retry_after(answer, self.max_backoff) or FIRST_BACKOFF
            worker.down_until = time.monotonic() + retry
            raise _Answer(f"over this client's quota (429); retry after {_seconds(retry)}")
        if status in (400, 413):
            said = _error(answer)
            unaccepted = self._unaccepted(path, answer)
            if unaccepted is not None:
                short, fix = unaccepted
                if time.monotonic() - worker.unaccepted_logged >= REFUSED_BACKOFF:
                    worker.unaccepted_logged = time.monotonic()
                    log.warning(
                        "classifier worker %s: %s. Until that is fixed, images no other "
                        "worker classifies are recorded as skipped (classifier_unavailable), "
                        "no rule acts on them, and they are looked at again; it is asked after "
                        "the other workers for %.0f s at a time. %s",
                        worker.url,
                        short,
                        UNACCEPTED_RETRY,
                        fix,
                    )
                raise _Unaccepted(short)
            if status == 413 and not _is_json(answer):  # not the worker's own 413
                said += (
                    " (from a proxy before the worker: raise its limit on request bodies, "
                    "e.g. nginx's client_max_body_size, to the worker's --max-bytes)"
                )
                if time.monotonic() - worker.proxy_limit_logged >= REFUSED_BACKOFF:
                    worker.proxy_limit_logged = time.monotonic()
                    log.warning(
                        "classifier worker %s: a proxy before it refuses images over its own "
                        "size limit (413 %s, %s bytes sent), under the worker's --max-bytes: "
                        "raise the proxy's limit on request bodies (nginx: "
                        "client_max_body_size, 1 MB unless set) to the worker's --max-bytes. "
                        "Until then such images no other worker classifies are recorded as "
                        "skipped (classifier_unavailable) and looked at again (said at most "
                        "every 5 minutes)",
                        worker.url,
                        answer.reason_phrase or "",
                        f"{len(body or b''):,}",
                    )
                raise _ProxyRefused(
                    f"classifier worker {worker.url} refused the request ({status}): {said}"
                )
            raise _Refused(f"classifier worker {worker.url} refused the request ({status}): {said}")
        worker.failed(self.max_backoff)
        said_retry = _retry_after(answer, self.max_backoff) if status == 503 else None
        if said_retry is not None:  # a maintenance page, a worker shutting down: as it says
            worker.down_until = max(worker.down_until, time.monotonic() + said_retry)
        moved = _redirect(answer, path)
        if moved is not None:
            raise _Misconfigured(moved)
        raise _Answer(f"answered {status} {_error(answer)}".rstrip())


_TOO_LARGE = (
    f"answered more than {MAX_ANSWER >> 20} MB (not read): not what a modbot worker answers"
)


async def _read(answer: httpx.Response, room: _Room) -> tuple[httpx.Response | str, int]:
    """A streamed answer read into memory, or why it was not: over ``MAX_ANSWER``
    (what is over is not read: a broken or hostile worker could send gigabytes), or
    compressed (the engine asks for ``identity``: a gzip bomb of 64 KB would be 64 MB in
    one piece before any cap could count it); an answer other than a 200 is read up to
    ``MAX_ERROR_ANSWER``, the rest left. Its body is read once its size (as it says it,
    else the most it may be) fits in ``room``: (the answer, the bytes taken there, for
    the caller to give back once it has left the connection)."""
    import httpx

    encoding = answer.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        return (
            f"answered a compressed body ({encoding[:40]}) it was not asked for (not "
            "read): not what a modbot worker answers"
        ), 0
    verdict = answer.status_code == 200
    cap = MAX_ANSWER if verdict else MAX_ERROR_ANSWER
    declared = answer.headers.get("content-length", "").strip()
    if "transfer-encoding" in answer.headers:
        # read chunked, whatever its Content-Length says (HTTP's rule, httpcore's): as
        # one of unknown length, or answers saying 1 byte would all be read at once,
        # each with up to 100 KiB of an unfinished chunk's line in httpcore's buffer
        declared = ""
    if verdict and declared.isdigit() and int(declared) > cap:
        return _TOO_LARGE, 0
    wanted = min(int(declared), cap) if declared.isdigit() else cap
    taken = await room.take(wanted)
    try:
        chunks, size = [], 0
        async for chunk in answer.aiter_bytes():  # as it came: not compressed (above)
            if size + len(chunk) > wanted:
                if verdict:
                    room.give(taken)
                    return _TOO_LARGE, 0
                chunks.append(chunk[: wanted - size])  # an error's start says enough
                break
            size += len(chunk)
            chunks.append(chunk)
    except BaseException:
        room.give(taken)
        raise
    return httpx.Response(
        answer.status_code,
        headers=answer.headers.multi_items(),
        content=b"".join(chunks),
        request=answer.request,
    ), taken


def _not_asked(worker: _Worker, now: float) -> str:
    """Why an image did not ask ``worker``: its backoff after a failure, or another
    image asking it (a probe) after one."""
    why = worker.last_error or "failed"
    if worker.down_until > now:
        return f"{why} (not asked again for {_seconds(worker.down_until - now)})"
    return f"{why} (being tried again with another image; not asked with this one)"


def _verdict(answer: httpx.Response) -> Verdict:
    return Verdict.from_dict(_json(answer))


def check_verdict(verdict: Verdict, sha256: str, concepts: Iterable[str]) -> Verdict:
    """``verdict`` when it is one on the image whose SHA-256 is ``sha256`` that scores
    every one of ``concepts`` (the built-in ones and the custom ones sent); else
    ValueError saying why. A worker's answer is checked, not trusted: a verdict for
    another image (a mix-up in a worker or in a proxy's cache), one without a concept
    the rules ask about (a worker that ignored the concepts sent), a label its score
    disagrees with, or a score on another scale would be acted on as this image's."""
    if verdict.sha256 != sha256:
        got = verdict.sha256[:64] or "none"
        raise ValueError(f"a verdict on another image (sha256 {got}, sent {sha256})")
    _check_identity(verdict.concept_version, verdict.model)
    if verdict.unreadable is not None and not verdict.labels:
        if verdict.scores:
            raise ValueError("an unreadable image's verdict with scores but no label")
        return verdict
    # else read (a file refused for a later frame: its first frame's labels stand
    # beside `unreadable`): checked as any verdict with labels
    missing = [name for name in concepts if name not in verdict.scores]
    if missing:
        raise ValueError(f"no score for the concepts {', '.join(missing)} (it was asked for them)")
    for name in concepts:
        if name != "subject" and (verdict.scores[name] > 0) != (name in verdict.labels):
            raise ValueError(
                f"label {name!r} {'missing' if name not in verdict.labels else 'given'} "
                f"with a score of {verdict.scores[name]!r}"
            )
    for where, values, bound in (
        ("scores", verdict.scores, MAX_MARGIN),
        ("prompt_scores", verdict.prompt_scores, MAX_SIMILARITY),
        ("danbooru", verdict.danbooru, MAX_SIMILARITY),
    ):
        for key, value in values.items():
            if abs(value) > bound:
                raise ValueError(
                    f"{where}[{key[:80]!r}] is {value!r}, not within -{bound}..{bound}"
                )
    return verdict


def _anime_pass(worker: _Worker, info: httpx.Response) -> str:
    """``, DeepDanbooru on|off`` as a worker's ``/v1/info`` says it (nothing from a worker
    that does not say), and a warning when off: a bot with its own model says so at
    start, and the bot's rules on DeepDanbooru's scores would never match silently."""
    try:
        running = _json(info).get("deepdanbooru")
    except (ValueError, AttributeError):
        running = None
    if not isinstance(running, bool):
        return ""
    if not running:
        log.warning(
            "classifier worker %s runs without DeepDanbooru, the anime second pass (its "
            "--deepdanbooru is off, or auto found no weights): images CLIP calls anime get "
            "CLIP's verdict only (deepdanbooru: off), and rules on danbooru_* scores never "
            "match them. For the reference's checks its admin starts it with "
            "--deepdanbooru PATH (model-resnet_custom_v3.pt; the Docker image has it)",
            worker.url,
        )
    return f", DeepDanbooru {'on' if running else 'off'}"


def _info_fields(answer: httpx.Response) -> tuple[str, str, bool]:
    """(concept version, model, random weights) from a worker's ``/v1/info``; ValueError
    when it is not a modbot worker's."""
    try:
        info = _json(answer)
        version, model = str(info["concept_version"]), str(info["model"])
        _check_identity(version, model)
        return version, model, bool(info["random_weights"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError("/v1/info is not what a modbot worker answers") from None


def _check_identity(version: str, model: str) -> None:
    """ValueError unless a worker's concept version and model name are of a size and
    form a worker's are (16 hex digits; a model's name and its weights' file name): the
    bot logs them, caches every verdict under the version and records both, so half a
    megabyte of one, or a line break forging log lines, is no verdict (not repeated)."""
    for field_name, value, most in (
        ("concept_version", version, MAX_VERSION_CHARS),
        ("model", model, MAX_MODEL_CHARS),
    ):
        if not value or len(value) > most or not value.isprintable():
            raise ValueError(
                f"{field_name} is not a worker's ({len(value)} characters; at most {most}, "
                "printable)"
            )


def _json(answer: httpx.Response) -> Any:
    """A worker's answer as JSON; ValueError when it is not JSON, or nested deeper
    than the parser can follow (its RecursionError would escape every handler and
    stop the failover to the next worker)."""
    try:
        return answer.json()
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _is_json(answer: httpx.Response) -> bool:
    try:
        _json(answer)
    except ValueError:
        return False
    return True


def _error(answer: httpx.Response) -> str:
    """The worker's error message, short (a proxy's HTML page is not repeated)."""
    try:
        message = _json(answer).get("error")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str):
        return _without_token(answer, message)[:300]
    return answer.reason_phrase or ""  # (the standard one: _read does not keep the worker's)


def _without_token(answer: httpx.Response, said: str) -> str:
    """``said`` (by a worker, or a proxy before it) without the token its request
    carried: one echoing the Authorization header (a debugging proxy, another make of
    worker) would have the bot write its own token to its log and records."""
    try:
        token = answer.request.headers.get("authorization", "").partition(" ")[2].strip()
    except RuntimeError:  # (an answer without its request)
        return said
    return said.replace(token, "(the token, not shown)") if token else said


def _redirect(answer: httpx.Response, path: str) -> str | None:
    """What a redirect of ``path`` says to an admin: the address it points to, as the
    worker's base URL (without ``path``) for classifier.remote; None when it is none."""
    import httpx

    location = answer.headers.get("location", "").strip()
    if not answer.is_redirect or not location:
        return None
    try:
        target = str(answer.request.url.join(location))
    except (httpx.InvalidURL, ValueError):
        return None
    base = target.removesuffix(path) if target.endswith(path) else target
    return (
        f"redirects to {base[:200]} ({answer.status_code}, not followed: the token would go "
        "with it): if that is the worker, give classifier.remote that address"
    )


def _broken(exc: Exception, url: str) -> str:
    """What a connection's failure to ``url`` says to an admin: one never made (the
    address, the firewall, the worker not started, its certificate, TLS to a plain HTTP
    port), or one broken off mid-request (the worker stopped or restarted while it had
    the image: nothing is wrong with the address)."""
    import httpx

    if isinstance(exc, httpx.ConnectError) and _plain_http(exc):
        plain = "http://" + url.removeprefix("https://")
        return (
            "cannot connect: it answers plain HTTP, not TLS (a modbot worker serves plain "
            f"HTTP unless a TLS proxy is put in front): give classifier.remote {plain[:200]} "
            "(on a network you trust), or the proxy's https:// address"
        )
    if isinstance(exc, httpx.ConnectError):
        untrusted = _untrusted(exc)
        # the advice first, and short: the bot records 300 characters of it
        code = _verify_code(exc)
        if untrusted is not None and code in _EXPIRED:
            return (
                f"cannot connect: its TLS certificate is out of date ({untrusted[:80]}): the "
                "worker's admin must renew it (or this machine's clock is wrong)"
            )
        if untrusted is not None and code in _OTHER_NAME:
            return (
                f"cannot connect: its TLS certificate is for another name ({untrusted[:100]}): "
                "give classifier.remote the name the certificate is for"
            )
        if untrusted is not None:
            return (
                f"cannot connect: its TLS certificate is not trusted here ({untrusted[:80]}): "
                "set SSL_CERT_FILE to the certificate of the CA that signed it, or give the "
                "worker a public CA's"
            )
        return f"cannot connect: {_reason(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError) and not str(exc).startswith(_CUT_OFF):
        # h11 refused what came (a status or header line, a length): another service
        # at that address, or a broken proxy; not a connection cut mid-answer
        return (
            f"answered what is not HTTP ({_reason(exc)}): check that the address is the "
            "worker's, its port too (or the proxy's before it, and what it sends)"
        )
    return (
        f"the connection broke off mid-request ({_reason(exc)}): the worker stopped or "
        "restarted, or a proxy before it cut the connection"
    )


# The beginnings of httpcore's and h11's protocol errors that are a connection cut: no
# answer at all, or one cut before its end
_CUT_OFF = ("Server disconnected", "peer closed connection")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from (the chain httpx -> httpcore ->
    ssl), up to 8."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _untrusted(exc: BaseException) -> str | None:
    """Why the worker's certificate is not trusted here ("self-signed certificate",
    "unable to get local issuer certificate", a name mismatch), when a connection
    failed on it; else None."""
    for seen in _chain(exc):
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or "certificate verify failed")
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else None


# OpenSSL's verify codes of a certificate this machine may well trust: out of date (not
# yet valid, expired), and for another host name or IP address than the one asked
_EXPIRED = (9, 10)
_OTHER_NAME = (62, 64)


def _verify_code(exc: BaseException) -> int | None:
    """OpenSSL's code of why the worker's certificate failed, when it did."""
    for seen in _chain(exc):
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_code
    return None


def _plain_http(exc: BaseException) -> bool:
    """Whether a TLS handshake failed on a plain HTTP answer (OpenSSL: "wrong version
    number"; "record layer failure" or "packet length too long" in later versions)."""
    for seen in _chain(exc):
        if isinstance(seen, ssl.SSLError) and seen.reason in _PLAIN_HTTP_REASONS:
            return True
    return any(reason in str(exc) for reason in _PLAIN_HTTP_REASONS)


_PLAIN_HTTP_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


def _retry_after(answer: httpx.Response, cap: float) -> float | None:
    """The seconds ``Retry-After`` says (a number, or an HTTP date), within 1 s ..
    ``cap``; None without one that reads."""
    value = answer.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # (RFC 9110: always GMT)
            when = when.replace(tzinfo=datetime.UTC)
        seconds = (when - datetime.datetime.now(datetime.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(1.0, min(cap, seconds))
