"""The classifier as an HTTP service (``modbot worker``): one loaded model, batched
across every request, for several bots (or gates) that have no GPU of their own.

    POST /v1/classify   body: one image's bytes (Content-Type: its media type; not a form)
                        -> 200 the Verdict as JSON (``Verdict.to_dict()``)
    GET  /v1/info       -> model, concept version, whether DeepDanbooru runs, limits
                           (what a client checks first)
    GET  /healthz       -> model loaded, device, queue depth, images/s (no token needed);
                           503 and ``problem`` when not ok: the model failed on its last
                           ``MODEL_FAILED_UNHEALTHY`` images in a row

Every ``/v1`` request carries ``Authorization: Bearer <token>``; each client instance has
its own token, a name and a quota (images per minute). Answers: 401 missing or unknown
token (or one not sent as ``Bearer``), 429 over the quota (``Retry-After``), 413 body
over the size cap, 408 a body that stops coming for ``body_idle_timeout`` seconds or
takes over ``body_timeout`` in all, 400 a bad concept set (``concept``: the one it is
about, if one) or a body sent as a form (the image is the body, one per request), 503
busy (too many requests, or the bodies held would pass ``max_bytes_held``) or the model
failed (a client then tries its next worker). A body that is not a decodable image is
not an error: its verdict says ``unreadable`` and why, as the bot records it for a
download that does not decode.

Custom concepts: a client sends its own (``X-Modbot-Concepts``: the JSON of rules.yaml's
``concepts:`` mapping) or names a set this worker serves (``X-Modbot-Concept-Set``).
Each concept set gets its own engine (its own text embeddings and batches), built on
first use and kept in a small LRU (``max_concept_sets`` engines at most at any moment;
a new set waits for a slot while all are in use, then 503); the verdict's
``concept_version`` says which was used.
All engines share one decode budget (``decode_memory``), so the worker's memory stays
within its steady size + ``decode_memory`` + ``max_bytes_held``, however many sets.

Connections (``WorkerServer``): a request's headers must come within
``header_timeout`` (10 s) of their first byte or of the connection (else 408 and
closed: uvicorn's h11 has no such timeout), an idle keep-alive one is closed after 120 s,
and at most ``max_pending`` + 64 are open (within the file-descriptor limit); past it a
new one is answered 503 and closed.

Stateless: nothing is kept but counters. No image touches the disk, no content or token
is logged; tokens are held as SHA-256 digests and compared in constant time. Several
workers can run behind any HTTP load balancer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifier.budget import DEFAULT_DECODE_MEMORY, DecodeBudget
from classifier.concepts import ConceptError, ConceptSet, CustomConcept
from classifier.decode_processes import ProcessDecoder
from classifier.engine import (
    DECODE_NICENESS,
    Engine,
    EngineClosed,
    default_decode_processes,
)
from classifier.model import LoadedModel

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from classifier.deepdanbooru import LoadedDanbooru

log = logging.getLogger(__name__)

__all__ = [
    "CONCEPTS_HEADER",
    "CONCEPT_SET_HEADER",
    "Client",
    "ConceptRefused",
    "TokenError",
    "WorkerConfig",
    "WorkerServer",
    "WorkerService",
    "bind_socket",
    "check_port_file",
    "concepts_header",
    "load_tokens",
    "new_token",
    "parse_concepts",
    "parse_tokens",
    "write_port_file",
]

TOKENS_FILE_ENV = "MODBOT_WORKER_TOKENS_FILE"
TOKENS_ENV = "MODBOT_WORKER_TOKENS"
CONCEPTS_HEADER = "X-Modbot-Concepts"
CONCEPT_SET_HEADER = "X-Modbot-Concept-Set"
DEFAULT_MAX_BODY = 40 * 1024**2  # pict-rs' own default media.max_file_size: 40 MiB
# Image bodies held at once (being received, or waiting for their verdict): 25 of the
# largest, hundreds of ordinary photos.
DEFAULT_MAX_BYTES_HELD = 1_000_000_000
# A concept set travels in a header: 8 KiB fits the defaults of nginx
# (large_client_header_buffers 8k) and of uvicorn/h11 (16 KiB for all headers).
MAX_CONCEPTS_BYTES = 8192
MAX_CUSTOM_CONCEPTS = 32
MAX_PROMPTS = 256  # over all custom concepts of one set
MAX_PROMPT_CHARS = 300  # CLIP reads 77 tokens; longer text is noise
MIN_TOKEN_CHARS = 16
RATE_WINDOW_S = 60
# A body that stops coming for this long is answered 408: a client sends an image it
# holds, so a pause this long is one that stalled (or holds a request slot on purpose).
BODY_IDLE_TIMEOUT = 30.0
# ... and one that takes longer than this in all (a byte every 29 s would otherwise hold
# the slot for days): 40 MB in 120 s is a link of under 3 Mbit/s, slower than any worker's.
BODY_TIMEOUT = 120.0
# A connection's request headers must all come within this many seconds of its first
# byte (or of the connection, when it sends nothing): uvicorn (h11) has no such timeout,
# so a client sending a header byte now and then (slowloris) would hold a connection,
# its file descriptor and buffers, for ever. A client's headers are one packet.
HEADER_TIMEOUT = 10.0
# An idle keep-alive connection is closed after this many seconds: longer than a
# client's own, so the client, not the server, ends it, never while a request is on its
# way. httpx keeps one 5 s; pict-rs asking the gate (reqwest) 90 s: a server closing at
# 30 s could close one just as pict-rs sent an upload on it (the upload failed, unrecorded).
KEEP_ALIVE_TIMEOUT = 120
# Connections (and requests) at once: --max-pending requests in progress, and this many
# more for /healthz, /v1/info and clients' idle keep-alive connections. Past it a new
# connection is answered 503 and closed at once. Each connection holds at most h11's
# 16 KiB of unfinished headers and uvicorn's 64 KiB of unread body (the bodies the
# service reads count in max_bytes_held).
CONNECTIONS_MARGIN = 64
# File descriptors kept for the worker itself (model files, text cache, logs, threads)
FD_RESERVE = 64
# How long a request with a sent concept set not built waits for one of the
# --max-concept-sets slots while every one is in use by other requests (then 503)
SET_SLOT_WAIT = 10.0
REFUSAL_LOG_EVERY = 60.0  # seconds between log lines about refused tokens
# Images in a row the model failed on, none classified since, for /healthz to say the
# worker is not ok (503): a GPU gone bad fails them all, while one hostile image the
# model fails on alone is followed by verdicts
MODEL_FAILED_UNHEALTHY = 5


# -- tokens -------------------------------------------------------------------------------


class TokenError(ValueError):
    """The tokens file or variable is not valid; the message says where (never the token)."""


@dataclass(frozen=True)
class Client:
    """One client instance: its name (in logs and counters), its token's SHA-256 digest
    and its quota in images per minute (None: no limit)."""

    name: str
    digest: bytes = field(repr=False)
    quota: int | None


def hash_token(token: str) -> str:
    """What a tokens file may hold instead of the token itself: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return "mbw_" + secrets.token_urlsafe(32)


def _name_shown(name: str) -> str:
    """A field (the client name, the quota) for an error message, unless it could be a
    token (fields written in the wrong order): an error goes to the log, a token never."""
    return f" {name!r}" if len(name) < MIN_TOKEN_CHARS else ""


def parse_tokens(text: str, source: str) -> list[Client]:
    """Lines ``NAME TOKEN QUOTA`` (``#`` comments, blank lines ignored). TOKEN is the
    token itself or ``sha256:<64 hex>`` (its digest, so the file holds no secret);
    QUOTA is images per minute or ``unlimited``."""
    clients: list[Client] = []
    names: set[str] = set()
    digests: set[bytes] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        parts = line.split()
        if len(parts) != 3:
            raise TokenError(f"{where}: expected `NAME TOKEN QUOTA` (3 fields), found {len(parts)}")
        name, token, quota_text = parts
        if not all(ch.isalnum() or ch in "-_.@" for ch in name) or len(name) > 64:
            raise TokenError(
                f"{where}: the client name{_name_shown(name)} (the first field): use "
                "letters, digits, - _ . @ (at most 64)"
            )
        if name in names:
            raise TokenError(f"{where}: the client name{_name_shown(name)} appears twice")
        if token.startswith("sha256:"):
            hexdigest = token[len("sha256:") :]
            try:
                digest = bytes.fromhex(hexdigest)
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise TokenError(f"{where}: a hashed token is `sha256:` and 64 hex digits")
        else:
            if len(token) < MIN_TOKEN_CHARS:
                raise TokenError(
                    f"{where}: the token (the second field) is shorter than "
                    f"{MIN_TOKEN_CHARS} characters; make one with `modbot worker --new-token "
                    "NAME`"
                )
            if not all("!" <= ch <= "~" for ch in token):
                # a client sends it in a header, which carries printable ASCII only (the
                # client refuses others): such a token could never be matched
                raise TokenError(
                    f"{where}: the token (the second field) has a character an HTTP header "
                    "cannot carry (a non-ASCII letter or a control character; not shown); "
                    "make one with `modbot worker --new-token NAME`"
                )
            digest = hashlib.sha256(token.encode()).digest()
        if digest in digests:
            raise TokenError(
                f"{where}: the token of client{_name_shown(name) or ' (first field)'} is "
                "also another client's; give each its own"
            )
        if quota_text.lower() == "unlimited":
            quota = None
        else:
            try:
                quota = int(quota_text)
            except ValueError:
                quota = 0
            if quota < 1:
                raise TokenError(
                    f"{where}: the quota{_name_shown(quota_text)} (the third field): images "
                    "per minute (>= 1) or `unlimited`"
                )
        names.add(name)
        digests.add(digest)
        clients.append(Client(name, digest, quota))
    return clients


def load_tokens(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[Client] | None:
    """The clients from ``path``, else ``$MODBOT_WORKER_TOKENS_FILE``, else
    ``$MODBOT_WORKER_TOKENS`` (entries separated by newlines or ``;``); None when none
    of them is set."""
    env = os.environ if environ is None else environ
    path = path or env.get(TOKENS_FILE_ENV) or None
    if path:
        try:
            # (-sig: a byte-order mark, Windows Notepad's, is no part of the first name)
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise TokenError(f"cannot read the tokens file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:  # (its message would show a byte of a token)
            raise TokenError(
                f"the tokens file {path} is not UTF-8 text (at byte {exc.start}): write it "
                "as lines `NAME TOKEN QUOTA`"
            ) from None
        return parse_tokens(text, str(path))
    inline = env.get(TOKENS_ENV)
    if inline:
        return parse_tokens(inline.replace(";", "\n"), f"${TOKENS_ENV} entry")
    return None


class _Bucket:
    """Token bucket: ``per_minute`` images a minute, a minute's worth at once at most."""

    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.at = time.monotonic()

    def take(self) -> float:
        """0 when an image may go now (and counts it), else seconds until one may."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate

    def give_back(self) -> None:
        """An image taken but not served because of the worker (busy, failed)."""
        self.level = min(self.capacity, self.level + 1.0)


# -- concept sets -------------------------------------------------------------------------


class ConceptRefused(ConceptError):
    """A concept set refused; ``concept``: the one concept it is about, if one (the
    worker's 400 says it as ``concept``, for the client to name it in rules.yaml)."""

    def __init__(self, message: str, concept: str | None = None):
        super().__init__(message)
        self.concept = concept


def parse_concepts(data: Any, where: str = CONCEPTS_HEADER) -> tuple[CustomConcept, ...]:
    """Custom concepts from the JSON shape of rules.yaml's ``concepts:``:
    ``{"gore": {"prompts": ["..."], "threshold": 0.23}}``. Raises ``ConceptError``."""
    if not isinstance(data, dict):
        raise ConceptError(f"{where}: expected an object of concept name -> {{prompts, threshold}}")
    if len(data) > MAX_CUSTOM_CONCEPTS:
        raise ConceptError(f"{where}: {len(data)} concepts; at most {MAX_CUSTOM_CONCEPTS}")
    out, total = [], 0
    for name, spec in data.items():
        if not isinstance(spec, dict) or set(spec) != {"prompts", "threshold"}:
            raise ConceptRefused(
                f"{where}: concept {name!r}: expected exactly prompts and threshold", name
            )
        prompts = spec["prompts"]
        if isinstance(prompts, str):
            prompts = [prompts]
        if not isinstance(prompts, list):
            raise ConceptRefused(
                f"{where}: concept {name!r}: prompts must be a list of strings", name
            )
        if any(isinstance(p, str) and len(p) > MAX_PROMPT_CHARS for p in prompts):
            raise ConceptRefused(
                f"{where}: concept {name!r}: a prompt is longer than {MAX_PROMPT_CHARS} characters",
                name,
            )
        total += len(prompts)
        if total > MAX_PROMPTS:
            raise ConceptError(f"{where}: more than {MAX_PROMPTS} prompts in all")
        threshold = spec["threshold"]
        if isinstance(threshold, int) and not -1 <= threshold <= 1:
            # (checked here: an integer too large for a float makes CustomConcept's own
            # check raise OverflowError, a 500 and a traceback instead of this 400)
            raise ConceptRefused(
                f"{where}: concept {name!r}: threshold: not a cosine similarity (between -1 and 1)",
                name,
            )
        try:
            out.append(CustomConcept(name, tuple(prompts), threshold))
        except ConceptError as exc:  # (its message names the concept)
            raise ConceptRefused(f"{where}: {exc}", name) from None
    if len({c.name for c in out}) != len(out):  # JSON allows a key twice; the last would win
        raise ConceptError(f"{where}: a concept name appears twice")
    return tuple(out)


def concepts_header(custom: Iterable[CustomConcept]) -> str | None:
    """The ``X-Modbot-Concepts`` value for ``custom`` (None when there are none). ASCII
    JSON: a header is Latin-1 on the wire."""
    data = {c.name: {"prompts": list(c.prompts), "threshold": c.threshold} for c in custom}
    if not data:
        return None
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def _concepts_key(custom: tuple[CustomConcept, ...]) -> tuple:
    return tuple((c.name, c.prompts, c.threshold) for c in custom)


@dataclass
class _Entry:
    engine: Engine
    users: int = 0
    evicted: bool = False


class _ConceptSets:
    """The default engine, the named sets' engines (kept for the worker's life) and an
    LRU of engines for the concept sets clients sent, at most ``max_sets`` of them
    built, being built or being closed at any moment; only one no request is using is
    evicted (and closed). The text embeddings of a sent set are kept in a
    directory of this worker's own, and deleted with the set: clients choose how many
    sets there are, not how much of the disk they fill."""

    def __init__(
        self,
        loaded: LoadedModel,
        base: ConceptSet,
        named: dict[str, tuple[CustomConcept, ...]],
        max_sets: int,
        engine_options: dict,
        extra_decode_workers: int,
    ):
        self.loaded, self.base, self.max_sets = loaded, base, max_sets
        self.options = engine_options
        self.extra = {**engine_options, "decode_workers": extra_decode_workers}
        self.sent: OrderedDict[tuple, _Entry] = OrderedDict()
        self._building: dict[tuple, asyncio.Future[_Entry]] = {}
        self._closing = 0  # evicted engines being closed
        self._waiting: set[asyncio.Future] = set()  # requests waiting for a slot
        self.named: dict[str, _Entry] = {}
        self.default = _Entry(Engine(loaded, base, **engine_options))
        self.sent_dir = tempfile.mkdtemp(prefix="modbot-worker-sets-")
        self.sent_options = {**self.extra, "text_cache_dir": self.sent_dir}
        try:
            for name, custom in named.items():
                self.named[name] = _Entry(Engine(loaded, base.with_custom(custom), **self.extra))
        except BaseException:
            self.close()
            raise

    def engines(self) -> list[Engine]:
        return [e.engine for e in (self.default, *self.named.values(), *self.sent.values())]

    async def acquire(self, custom: tuple[CustomConcept, ...] | None, named: str | None) -> _Entry:
        """The engine for a concept set, held until ``release``. A sent set not built
        waits (at most ``SET_SLOT_WAIT``, then 503) for a slot among ``max_sets``."""
        if named is not None:
            entry = self.named[named]
        elif not custom:
            entry = self.default
        else:
            key = _concepts_key(custom)
            while True:
                found = self.sent.get(key)
                if found is None:
                    pending = self._building.get(key)
                    if pending is not None:  # another request is building it: wait for it
                        found = await asyncio.shield(pending)
                    else:
                        await self._slot()
                        if key in self.sent or key in self._building:  # built meanwhile
                            continue
                        found = await self._build(key, custom)
                if not found.evicted:  # (evicted while this request waited for the build)
                    break
            entry = found
            self.sent.move_to_end(key)
        entry.users += 1
        return entry

    async def release(self, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            self._changed()  # a request waiting for a slot may evict it now

    def _changed(self) -> None:
        """Wakes the requests waiting for a slot, to look again."""
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result(None)

    async def _slot(self) -> None:
        """Returns once one more sent set may be built: the sets built, being built and
        being closed stay within ``max_sets`` at every moment (each engine holds its
        own text embeddings and batch queue: the memory bound). The least recently used
        set no request is using is evicted; when every one is in use, this waits for one
        to be released, at most ``SET_SLOT_WAIT`` seconds, then 503."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SET_SLOT_WAIT
        while len(self.sent) + len(self._building) + self._closing >= self.max_sets:
            victim = next((k for k, e in self.sent.items() if e.users == 0), None)
            if victim is not None:
                entry = self.sent.pop(victim)
                entry.evicted = True
                log.info(
                    "concept set %s evicted (at most %d kept)",
                    entry.engine.concept_version,
                    self.max_sets,
                )
                self._closing += 1
                try:
                    await asyncio.to_thread(self._drop, entry)
                finally:
                    self._closing -= 1
                    self._changed()
                continue
            waiter = loop.create_future()
            self._waiting.add(waiter)
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise _Refused(
                    503,
                    f"all {self.max_sets} concept sets this worker keeps built for clients "
                    "(--max-concept-sets) are in use; try another worker or later",
                    {"Retry-After": "1"},
                ) from None
            finally:
                self._waiting.discard(waiter)

    async def _build(self, key: tuple, custom: tuple[CustomConcept, ...]) -> _Entry:
        # (registered before the first await: a request arriving meanwhile waits for it)
        pending = asyncio.get_running_loop().create_future()
        self._building[key] = pending
        try:
            # text embeddings for the new prompts: a model run, off the event loop
            engine = await asyncio.to_thread(
                Engine, self.loaded, self.base.with_custom(custom), **self.sent_options
            )
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # marked retrieved: the waiters re-raise it themselves
            raise
        finally:
            self._building.pop(key, None)
            self._changed()
        entry = _Entry(engine)
        self.sent[key] = entry
        pending.set_result(entry)
        return entry

    def _drop(self, entry: _Entry) -> None:
        """Close a sent set's engine and delete its text embeddings."""
        entry.engine.close()
        for path in Path(self.sent_dir).glob(f"{entry.engine.concept_version}*"):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            for entry in [self.default, *self.named.values(), *self.sent.values()]:
                entry.engine.close()
        finally:
            shutil.rmtree(self.sent_dir, ignore_errors=True)


# -- the service ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerConfig:
    """How the worker serves (the model is given separately, loaded)."""

    clients: list[Client] | None = None  # None: no token needed (``--no-auth``)
    max_body: int = DEFAULT_MAX_BODY
    named_sets: dict[str, tuple[CustomConcept, ...]] = field(default_factory=dict)
    max_concept_sets: int = 4  # client-sent sets kept built at once
    max_pending: int = 1024  # requests in progress before answering 503
    max_batch: int = 32
    max_wait_ms: float = 10
    max_queue: int = 256
    decode_workers: int | None = None
    decode_processes: int | None = None  # None: auto (one per core on a GPU, none on a CPU)
    views_in_processes: bool = False  # on a GPU, the processes make the reference's views
    text_cache_dir: str | os.PathLike | None = None
    decode_memory: int = DEFAULT_DECODE_MEMORY  # one budget for every concept set's decodes
    max_bytes_held: int = DEFAULT_MAX_BYTES_HELD  # image bodies held at once, all requests
    body_idle_timeout: float = BODY_IDLE_TIMEOUT  # seconds without a byte of the body: 408
    body_timeout: float = BODY_TIMEOUT  # seconds for the whole body: 408
    header_timeout: float = HEADER_TIMEOUT  # seconds for a request's headers: 408, closed

    def __post_init__(self) -> None:
        # the one check of how the limits fit together (`modbot worker` makes its config
        # before loading the model, so a bad command line fails at once)
        if self.max_bytes_held < self.max_body:
            raise ValueError(
                f"max_bytes_held (--max-bytes-held, {self.max_bytes_held} bytes) must hold "
                f"at least one body of max_body (--max-bytes, {self.max_body} bytes)"
            )


class _BytesHeld:
    """The bytes of the image bodies the worker holds, all requests together: counted as
    they arrive, given back with the answer. Event loop only (no lock)."""

    def __init__(self, total: int):
        self.total, self.in_use, self.peak = total, 0, 0

    def fits(self, nbytes: int) -> bool:
        return self.in_use + nbytes <= self.total

    def take(self, nbytes: int) -> None:
        self.in_use += nbytes
        self.peak = max(self.peak, self.in_use)

    def give_back(self, nbytes: int) -> None:
        self.in_use -= nbytes

    def to_dict(self) -> dict[str, int]:
        return {"in_use": self.in_use, "total": self.total, "peak": self.peak}


class _Rate:
    """Images finished per second over the last ``RATE_WINDOW_S`` seconds."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: deque[list] = deque()  # [whole second, count]

    def add(self, n: int = 1) -> None:
        now = int(time.monotonic())
        if self.seconds and self.seconds[-1][0] == now:
            self.seconds[-1][1] += n
        else:
            self.seconds.append([now, n])
        self._trim(now)

    def _trim(self, now: int) -> None:
        while self.seconds and self.seconds[0][0] <= now - RATE_WINDOW_S:
            self.seconds.popleft()

    def per_second(self) -> float:
        now = time.monotonic()
        self._trim(int(now))
        span = min(RATE_WINDOW_S, max(1.0, now - self.started))
        return sum(c for _, c in self.seconds) / span


class _Refused(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        headers: dict | None = None,
        fields: dict[str, Any] | None = None,  # more of the JSON answer than its error
    ):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.fields = fields or {}

    @classmethod
    def concepts(cls, exc: ConceptError) -> _Refused:
        """The 400 for a concept set refused: its error, and which concept (or named
        set) it is about, for the client to say what to change."""
        fields: dict[str, Any] = {}
        if isinstance(exc, ConceptRefused) and exc.concept is not None:
            fields["concept"] = str(exc.concept)[:100]
        if isinstance(exc, _UnknownSet):
            fields["concept_set"], fields["served"] = exc.name, exc.served
        return cls(400, str(exc), fields=fields)


class _UnknownSet(ConceptError):
    def __init__(self, name: str, served: list[str]):
        super().__init__(
            f"unknown concept set {name!r}; this worker serves: {', '.join(served) or 'none'}"
        )
        self.name, self.served = name, served


class WorkerService:
    """The worker's state and its ASGI app (``.app``). ``close()`` stops the engines."""

    def __init__(
        self,
        loaded: LoadedModel,
        config: WorkerConfig | None = None,
        concepts: ConceptSet | None = None,
        danbooru: LoadedDanbooru | None = None,
    ):
        self.loaded = loaded
        self.config = config or WorkerConfig()
        c = self.config
        # One decode budget for every engine: however many concept sets are built, their
        # decodes together hold at most decode_memory (as the bot's single engine does).
        # (its refusals name the setting that raises it here, not the bot's rules.yaml one,
        # which a bot on classifier.remote does not use)
        self.decode_budget = DecodeBudget(c.decode_memory, setting="modbot worker --decode-memory")
        self.bytes_held = _BytesHeld(c.max_bytes_held)
        options: dict[str, Any] = dict(
            max_batch=c.max_batch,
            max_wait_ms=c.max_wait_ms,
            max_queue=c.max_queue,
            decode_workers=c.decode_workers,
            text_cache_dir=c.text_cache_dir,
            decode_budget=self.decode_budget,
            # the anime second pass of every set, as the bot's classifier.deepdanbooru
            danbooru=danbooru,
        )
        cores = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        # one set of decoding processes for every concept set's engine, as one budget
        processes = c.decode_processes
        if processes is None:
            processes = default_decode_processes(loaded.device.type)
        self.decoder = (
            ProcessDecoder(
                processes,
                niceness=DECODE_NICENESS if loaded.device.type == "cpu" else 0,
                # (used only for the images the engines defer: on a GPU whose resizes
                # passed the engine's check)
                view_device=str(loaded.device) if c.views_in_processes else None,
            )
            if processes
            else None
        )
        options["decode_processes"] = self.decoder or 0
        try:
            self.sets = _ConceptSets(
                loaded,
                concepts or ConceptSet.builtin(),
                dict(c.named_sets),
                c.max_concept_sets,
                options,
                extra_decode_workers=max(1, min(4, cores)),
            )
        except BaseException:
            if self.decoder is not None:
                self.decoder.close()
            raise
        self._clients = list(c.clients) if c.clients is not None else None
        self._buckets = {cl.name: _Bucket(cl.quota) for cl in self._clients or () if cl.quota}
        self._rate = _Rate()
        self.pending = 0
        self.counters: dict[str, int] = {
            "requests": 0,
            "images": 0,
            "unreadable": 0,
            "unauthorized": 0,
            "over_quota": 0,
            "too_large": 0,
            "bad_request": 0,
            "busy": 0,
            "failed": 0,
            "disconnected": 0,
            "timed_out": 0,
            "header_timeouts": 0,  # connections cut off before their headers came
            "too_many_connections": 0,  # connections refused past the limit
        }
        self._refusals = 0
        self._refusal_logged = 0.0
        self._failed_in_a_row = 0  # images the model failed on since its last verdict
        self._last_failure = ""
        self._closed = False
        self.app = self._make_app()

    @property
    def default_engine(self) -> Engine:
        return self.sets.default.engine

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.sets.close()
            finally:
                if self.decoder is not None:
                    self.decoder.close()

    # -- app ------------------------------------------------------------------------------

    def _make_app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.routing import Route

        return Starlette(
            routes=[
                Route("/v1/classify", self.classify, methods=["POST"]),
                Route("/v1/info", self.info, methods=["GET"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                # not a redirect, which a healthcheck does not follow (modbot's does not)
                Route("/healthz/", self.healthz, methods=["GET"]),
            ]
        )

    async def healthz(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        stats = self._engine_stats()
        problem = None
        if self._failed_in_a_row >= MODEL_FAILED_UNHEALTHY:
            problem = (
                f"the model failed on the last {self._failed_in_a_row} images in a row "
                f"({self._last_failure}) and classified none since: restart the worker "
                "(its log says why each failed)"
            )
        ok = not self._closed and problem is None
        return JSONResponse(
            {
                "ok": ok,
                **({"problem": problem} if problem else {}),
                "model_loaded": not self._closed,
                "model": self.loaded.identity,
                "random_weights": self.loaded.random_weights,
                "device": str(self.loaded.device),
                "concept_version": self.default_engine.concept_version,
                "concept_sets": {
                    "named": sorted(self.sets.named),
                    "sent": len(self.sets.sent),
                    "max_sent": self.config.max_concept_sets,
                },
                "queue_depth": self.pending,
                "images_per_s": round(self._rate.per_second(), 3),
                "window_s": RATE_WINDOW_S,
                "uptime_s": round(time.monotonic() - self._rate.started, 1),
                "batches": stats["batches"],
                "decode_memory": {
                    "in_use": self.decode_budget.in_use,
                    "total": self.decode_budget.total,
                    "peak": self.decode_budget.peak,
                },
                "bytes_held": self.bytes_held.to_dict(),
                **self.counters,
            },
            # (a load balancer reads the status: one not ok is sent no images)
            status_code=200 if ok else 503,
        )

    async def info(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        bucket = None
        try:
            # charged like an image: a new concept set costs a model run to build
            bucket = self._take_quota(self._authenticate(request))
            custom, named = self._concept_selection(request)
            entry = await self._acquire(custom, named)
        except _Refused as refused:
            if refused.status == 503 and bucket is not None:
                bucket.give_back()  # not served because of this worker: not counted
            return self._refusal(refused)
        except ConceptError as exc:
            self.counters["bad_request"] += 1
            return self._refusal(_Refused.concepts(exc))
        try:
            engine = entry.engine
            return JSONResponse(
                {
                    "model": self.loaded.identity,
                    "random_weights": self.loaded.random_weights,
                    "device": str(self.loaded.device),
                    "concept_version": engine.concept_version,
                    # the anime second pass: off, rules on danbooru_* scores never match
                    "deepdanbooru": engine.danbooru is not None,
                    "concepts": [c.name for c in engine.concepts.custom],
                    "concept_sets": sorted(self.sets.named),
                    "max_body": self.config.max_body,
                }
            )
        finally:
            await self.sets.release(entry)

    async def classify(self, request: Request) -> Response:
        from starlette.requests import ClientDisconnect
        from starlette.responses import JSONResponse

        self.counters["requests"] += 1
        entry = None
        held = [0]  # this request's bytes in self.bytes_held, until it is answered
        bucket = None  # the client's quota, once this image is counted in it
        self.pending += 1
        try:
            client = self._authenticate(request)
            bucket = self._take_quota(client)
            if self.pending > self.config.max_pending:
                self.counters["busy"] += 1
                raise _Refused(
                    503, "the worker is busy; try another worker or later", {"Retry-After": "1"}
                )
            custom, named = self._concept_selection(request)
            self._not_a_form(request)
            data = await self._body(request, held)
            entry = await self._acquire(custom, named)
            try:
                verdict = await entry.engine.classify(data)
            except EngineClosed:
                raise _Refused(503, "the worker is shutting down; try another worker") from None
            except Exception as exc:  # e.g. CUDA out of memory: the client fails over
                self.counters["failed"] += 1
                self._failed_in_a_row += 1
                self._last_failure = type(exc).__name__
                log.error("inference failed: %r", exc)
                raise _Refused(
                    503, f"the model failed on this batch ({type(exc).__name__}); try again"
                ) from None
        except _Refused as refused:
            if refused.status == 503 and bucket is not None:
                bucket.give_back()  # not served because of this worker: not counted
            return self._refusal(refused)
        except ConceptError as exc:
            self.counters["bad_request"] += 1
            return self._refusal(_Refused.concepts(exc))
        except ClientDisconnect:  # gone before its whole body came: nobody to answer
            self.counters["disconnected"] += 1
            return self._refusal(_Refused(400, "the client went away before its whole body"))
        finally:
            self.pending -= 1
            self.bytes_held.give_back(held[0])
            if entry is not None:
                await self.sets.release(entry)
        self.counters["images"] += 1
        if verdict.unreadable:
            self.counters["unreadable"] += 1
        else:  # (the model made it: an unreadable body never reaches the model)
            self._failed_in_a_row = 0
        self._rate.add()
        return JSONResponse(verdict.to_dict())

    # -- request checks ---------------------------------------------------------------------

    async def _acquire(self, custom: tuple[CustomConcept, ...] | None, named: str | None) -> _Entry:
        try:
            return await self.sets.acquire(custom, named)
        except _Refused:  # every concept-set slot in use
            self.counters["busy"] += 1
            raise

    def _authenticate(self, request: Request) -> Client | None:
        if self._clients is None:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            digest = hashlib.sha256(token.strip().encode()).digest()
            for client in self._clients:  # every one compared: no early exit to time
                if hmac.compare_digest(digest, client.digest):
                    found = client
        if found is not None:
            return found
        self.counters["unauthorized"] += 1
        self._log_refusal(request)
        realm = 'Bearer realm="modbot-worker"'
        if not header:
            message, challenge = "missing token: send `Authorization: Bearer <token>`", realm
        elif scheme.lower() != "bearer" or not token.strip():
            # (a right token sent bare, `Authorization: TOKEN`, is not "unknown")
            message = (
                "the token must be sent as `Authorization: Bearer <token>`; this request's "
                "Authorization header is not of that form (not shown)"
            )
            challenge = realm + ', error="invalid_request"'
        else:
            message = (
                "unknown token: ask this worker's admin for one (`modbot worker --new-token NAME`)"
            )
            challenge = realm + ', error="invalid_token"'
        raise _Refused(401, message, {"WWW-Authenticate": challenge})

    def _not_a_form(self, request: Request) -> None:
        """400 for a body sent as a form (``curl -F``, ``curl -d``): the image is the body,
        one per request. As a form, its verdict would be "unreadable" (a form is no
        image; ``-d`` also takes the line breaks out of the file), as if the model could
        not read the photo."""
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            self.counters["bad_request"] += 1
            raise _Refused(
                400,
                f"the body is a form ({media_type}): send one image's bytes as the whole "
                "body, e.g. curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' "
                "-H 'Authorization: Bearer TOKEN' URL/v1/classify",
                {"Connection": "close"},  # (its body is not read)
            )

    def _log_refusal(self, request: Request) -> None:
        # never the token itself; one line a minute at most, however many are refused
        self._refusals += 1
        now = time.monotonic()
        if now - self._refusal_logged >= REFUSAL_LOG_EVERY:
            peer = request.client.host if request.client else "?"
            log.warning(
                "refused %d request(s) without a valid token (the last from %s)",
                self._refusals,
                peer,
            )
            self._refusals, self._refusal_logged = 0, now

    def _take_quota(self, client: Client | None) -> _Bucket | None:
        """Counts one image in the client's quota (its bucket; None: no quota), or 429."""
        bucket = self._buckets.get(client.name) if client is not None else None
        if bucket is None:
            return None
        wait = bucket.take()
        if wait > 0:
            self.counters["over_quota"] += 1
            assert client is not None  # only a client has a bucket
            raise _Refused(
                429,
                f"client {client.name!r} is over its quota of {client.quota} images a minute",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return bucket

    def _concept_selection(
        self, request: Request
    ) -> tuple[tuple[CustomConcept, ...] | None, str | None]:
        sent = request.headers.get(CONCEPTS_HEADER)
        named = request.headers.get(CONCEPT_SET_HEADER)
        if sent is not None and named is not None:
            raise ConceptError(f"send {CONCEPTS_HEADER} or {CONCEPT_SET_HEADER}, not both")
        if named is not None:
            if named not in self.sets.named:
                raise _UnknownSet(named[:64], sorted(self.sets.named))
            return None, named
        if sent is None:
            return None, None
        if len(sent.encode("latin-1", "replace")) > MAX_CONCEPTS_BYTES:
            raise ConceptError(f"{CONCEPTS_HEADER} is over {MAX_CONCEPTS_BYTES} bytes")
        try:
            data = json.loads(sent)
        except (ValueError, RecursionError) as exc:  # nested too deep: RecursionError
            raise ConceptError(f"{CONCEPTS_HEADER} is not valid JSON: {exc}") from None
        return parse_concepts(data), None

    async def _body(self, request: Request, held: list[int]) -> bytes:
        """The body, its bytes counted in ``bytes_held`` as they arrive (``held[0]``: how
        many, for the caller to give back): 413 over max_body, 503 when the bodies held
        by all requests would pass max_bytes_held, 408 when no byte of it comes for
        body_idle_timeout seconds or all of it takes longer than body_timeout (a stalled
        or trickling client would hold its slot for ever)."""
        cap = self.config.max_body
        too_large = _Refused(413, f"the image is larger than this worker's limit of {cap} bytes")
        busy = _Refused(
            503,
            f"the worker holds its limit of {self.bytes_held.total} bytes of images; try "
            "another worker or later",
            {"Retry-After": "1"},
        )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > cap:
                self.counters["too_large"] += 1
                raise too_large
            if not self.bytes_held.fits(int(declared)):  # refused before it is sent
                self.counters["busy"] += 1
                raise busy
        idle, whole = self.config.body_idle_timeout, self.config.body_timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + whole
        # one buffer the pieces are added to as they come: a list of them would hold a
        # Python object (dozens of bytes) for each, and a body sent a byte per packet would
        # hold dozens of times the bytes counted in max_bytes_held
        body = bytearray()
        size = 0
        stream = request.stream()
        while True:
            left = deadline - loop.time()
            try:
                chunk = await asyncio.wait_for(anext(stream), max(0.0, min(idle, left)))
            except StopAsyncIteration:
                break
            except TimeoutError:
                self.counters["timed_out"] += 1
                why = (
                    f"no byte of the body came for {idle:g} s"
                    if idle < left
                    else f"the body took longer than {whole:g} s"
                )
                raise _Refused(
                    408, f"{why}: send the image in one go", {"Connection": "close"}
                ) from None
            size += len(chunk)
            if size > cap:
                self.counters["too_large"] += 1
                raise too_large
            if not self.bytes_held.fits(len(chunk)):
                self.counters["busy"] += 1
                raise busy
            self.bytes_held.take(len(chunk))
            held[0] += len(chunk)
            body += chunk
        # (the copy briefly doubles this one body: one at a time, on the event loop)
        return bytes(body)

    def _engine_stats(self) -> dict[str, int]:
        total = {"images": 0, "batches": 0}
        for engine in self.sets.engines():
            for key in total:
                total[key] += engine.stats[key]
        return total

    @staticmethod
    def _refusal(refused: _Refused) -> Response:
        from starlette.responses import JSONResponse

        return JSONResponse(
            {"error": refused.message, **refused.fields},
            status_code=refused.status,
            headers=refused.headers,
        )


# -- serving ------------------------------------------------------------------------------


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def check_port_file(path: str | None) -> None:
    """ValueError unless ``--port-file``'s directory is there to write the port in:
    said before a model loads (minutes), not after."""
    if path and not Path(path).absolute().parent.is_dir():
        raise ValueError(
            f"--port-file {path}: its directory {Path(path).absolute().parent} does not exist"
        )


def write_port_file(path: str, port: int) -> str | None:
    """Write ``port`` to ``path`` whole or not at all (a reader polls for it); what went
    wrong, or None."""
    tmp = Path(f"{path}.tmp")
    try:
        tmp.write_text(f"{port}\n")
        tmp.replace(path)
    except OSError as exc:
        return f"cannot write the port to --port-file {path}: {exc.strerror or exc}"
    return None


def _fd_room(wanted: int) -> int:
    """How many connections the process's file-descriptor limit leaves room for, up to
    ``wanted``: its soft limit is raised towards the hard one where that is too low
    (systemd's default soft limit is 1024)."""
    try:
        import resource
    except ImportError:  # (not on Windows)
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_RESERVE))


_PLAIN_ANSWER = (
    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {length}"
    "\r\nconnection: close{extra}\r\n\r\n{body}"
)


def _plain_answer(status: str, message: str, extra: str = "") -> bytes:
    """A whole answer written straight to a connection that has no request to answer
    (h11 answers only a request it has read)."""
    body = json.dumps({"error": message})
    return _PLAIN_ANSWER.format(status=status, length=len(body), extra=extra, body=body).encode()


def _count(counters: Any, key: str) -> None:
    if counters is not None:
        counters[key] = counters.get(key, 0) + 1


def _guarded_protocol(
    counters: dict[str, int] | None, max_connections: int, timeout: float
) -> type:
    """uvicorn's h11 protocol with what it lacks: a deadline for a request's headers
    (``header_timeout`` from their first byte, or from the connection when nothing
    comes; a body that keeps coming after the answer counts as headers that never
    end), and a limit on connections (past ``max_connections`` one is answered 503 and
    closed). The service's own ``_body`` times out the bodies it reads."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                _count(counters, "too_many_connections")
                transport.write(
                    _plain_answer(
                        "503 Service Unavailable",
                        f"the worker holds its limit of {max_connections} connections; try "
                        "another worker or later",
                        "\r\nretry-after: 1",
                    )
                )
                transport.close()
                return
            self._arm()

        def _waiting_for_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def data_received(self, data: bytes) -> None:
            if self._waiting_for_headers():
                self._arm()  # (a timer already running keeps its deadline)
            super().data_received(data)
            if not self._waiting_for_headers():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or not self._waiting_for_headers():
                return
            _count(counters, "header_timeouts")
            if self.cycle is None or self.conn.their_state is h11.IDLE:
                # (not after an answer: the client may be reading it)
                self.transport.write(
                    _plain_answer(
                        "408 Request Timeout",
                        f"the request's headers did not all come within {timeout:g} s",
                    )
                )
            self.transport.close()

    return GuardedH11Protocol


class _OncePerMinute(logging.Filter):
    """uvicorn's lines about what a client sent wrong ("Invalid HTTP request received.",
    "Exceeded concurrency limit."): anyone who reaches the port can make one per request,
    so the log's size would be an attacker's request rate. One line a minute for each,
    with how many there were, as for refused tokens."""

    FLOODED = ("Invalid HTTP request received.", "Exceeded concurrency limit.")

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}  # message -> (last logged, since)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if message not in self.FLOODED:
            return True
        now = time.monotonic()
        with self._lock:
            logged, since = self._seen.get(message, (-REFUSAL_LOG_EVERY, 0))
            if now - logged < REFUSAL_LOG_EVERY:
                self._seen[message] = (logged, since + 1)
                return False
            self._seen[message] = (now, 0)
        if since:
            record.msg = f"{message} ({since} more in the last minute, not logged)"
        return True

    @classmethod
    def install(cls) -> None:
        logger = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, cls) for f in logger.filters):
            logger.addFilter(cls())


class WorkerServer:
    """uvicorn serving a ``WorkerService`` on a bound socket: ``run()`` in the
    foreground (SIGTERM/Ctrl-C end it after the requests in hand), or ``start()`` /
    ``stop()`` in a thread (tests, benchmarks). Connections are limited to
    ``max_connections`` (``--max-pending`` + ``CONNECTIONS_MARGIN``, within the
    file-descriptor limit), each one's request headers to ``header_timeout``."""

    def __init__(self, service: WorkerService, sock: socket.socket):
        import uvicorn

        self.service, self.socket = service, sock
        _OncePerMinute.install()
        # (the gate, and tests, serve their own app this way: without a WorkerConfig,
        # the defaults' limits)
        config = getattr(service, "config", None)
        pending = getattr(config, "max_pending", WorkerConfig.max_pending)
        header_timeout = getattr(config, "header_timeout", HEADER_TIMEOUT)
        wanted = pending + CONNECTIONS_MARGIN
        self.max_connections = _fd_room(wanted)
        if self.max_connections < wanted:
            log.warning(
                "the file-descriptor limit (ulimit -n) leaves room for %d connections, not "
                "%d (--max-pending + %d): raise it (systemd LimitNOFILE, docker --ulimit "
                "nofile) or lower --max-pending",
                self.max_connections,
                wanted,
                CONNECTIONS_MARGIN,
            )
        config = uvicorn.Config(
            service.app,
            http=_guarded_protocol(
                getattr(service, "counters", None), self.max_connections, header_timeout
            ),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=30,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
            # requests in progress at once, uvicorn answering 503 past it; it counts the
            # connections too (>=), and the protocol already refuses one past the limit
            limit_concurrency=self.max_connections + 1,
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return host, port

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop_on_signals(self) -> None:
        """SIGTERM and Ctrl-C stop ``run()``, also when they come before it has started
        (uvicorn's own handlers are set only then: a no-op or the default handler in
        between ignored the stop, or killed the process without its cleanup), and after
        its stop, when uvicorn raises the signal again for this handler: a clean exit (0).
        Call it before telling anyone the server is up (the port file)."""
        import signal

        def stop(*_: object) -> None:
            self.server.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)

    def run(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 10.0) -> None:
        self.thread = threading.Thread(target=self.run, name="modbot-worker-http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the worker's HTTP server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=30)
            self.thread = None
        self.socket.close()
