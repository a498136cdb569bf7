"""Safe async image download: bytes in memory only, never more than the cap.

Every URL an item points at is hostile until proven otherwise: it may be 2 GB, trickle
one byte a second, redirect forever, point into the private network (or resolve there),
or serve an HTML page as ``image/jpeg``. ``Fetcher.fetch`` either returns the image
bytes with their SHA-256 and the media type read from the bytes, or raises a
``FetchSkipped`` subclass whose ``reason`` is a short code for the audit record.

Downloaded bodies share a byte budget (``FetchLimits.max_bytes_held``): a download
holds ``max_bytes`` of it while it runs (waiting, before it starts, until that much is
free), then the body's actual size until the caller is done with it
(``Fetched.release()``, or when the ``Fetched`` is dropped). However many images a
batch has, the bodies in memory never add up to more.

An image written into Markdown as a ``data:`` URI is no download: ``Fetcher.fetch_data``
decodes it in memory, as a browser does, under the same byte limit and budget.

What a server sends counts, not the length it announces (a host can announce 100 MB
and send a small image, which browsers show): a body is read up to ``max_bytes``, and one
that stops before its announced end is judged only when it is a whole image by its
format's own structure (``whole``; ``Fetched.ended_early`` says so), never when it may be
half of one.

Addresses are checked where the connection is made (``addresses``), the media type is
read from the bytes (``sniff``), every refusal is a ``FetchSkipped`` (``refusals``), and
each request's User-Agent and Accept headers (a browser's for other hosts by default,
against cloaking) come from ``identity``; the bot's Lemmy login on the instance's own
image routes, where a private instance asks for it, from ``login``.

The Fetcher's request loop (redirects, streaming under the caps) is one piece; the
policies it applies are the submodules.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import io
import ipaddress
import logging
import re
import sys
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import SplitResult, unquote_to_bytes, urljoin, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from modbot.fetch.addresses import (
    ANY_PORT,
    BAD_PORTS,
    CONNECTION_KEEPALIVE,
    DEFAULT_PORTS,
    Dial,
    HostPolicy,
    Pinned,
    PinnedResolver,
    Resolver,
    SystemResolver,
    is_public_address,
    literal_address,
    parse_host_entry,
    system_resolver,
    tls_context,
)
from modbot.fetch.budget import BodyBudget, BodyHold
from modbot.fetch.framing import not_an_answer, use_browser_framing
from modbot.fetch.identity import MODBOT_USER_AGENT, Identity
from modbot.fetch.login import InstanceLogin, ProxyLogin
from modbot.fetch.refusals import (
    BadScheme,
    BadStatus,
    BadURL,
    ConnectFailed,
    EmptyResponse,
    FetchSkipped,
    FetchTimeout,
    NetworkFailure,
    NotAnImage,
    PrivateAddress,
    ProtocolFailure,
    TooLarge,
    TooManyRedirects,
    UnresolvableHost,
    redact,
)
from modbot.fetch.sniff import sniff_image_type, why_not_an_image
from modbot.fetch.whole import not_read, whole_image_end
from modbot.images import PICTRS_PREFIXES, decoded_host, unwrap_proxy

__all__ = [
    "ANY_PORT",
    "DEFAULT_PORTS",
    "BadScheme",
    "BadStatus",
    "BadURL",
    "BodyBudget",
    "BodyHold",
    "ConnectFailed",
    "Dial",
    "EmptyResponse",
    "FetchLimits",
    "FetchSkipped",
    "FetchTimeout",
    "Fetched",
    "FetchedFile",
    "Fetcher",
    "HostPolicy",
    "Identity",
    "InstanceLogin",
    "NetworkFailure",
    "NotAnImage",
    "NotModified",
    "PinnedResolver",
    "PrivateAddress",
    "ProtocolFailure",
    "ProxyLogin",
    "Resolver",
    "SystemResolver",
    "TooLarge",
    "TooManyRedirects",
    "UnresolvableHost",
    "decode_data_uri",
    "is_public_address",
    "parse_host_entry",
    "redact",
    "sniff_image_type",
    "system_resolver",
    "waiting_for_login",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Set by the caller in a download's own task (``modbot.acquire``): told True as the
#: download starts waiting for the bot's Lemmy login, False as it stops, so the item's
#: own clock (``fetch.item_timeout``) stops meanwhile too, as it does for memory.
waiting_for_login: ContextVar[Callable[[bool], None] | None] = ContextVar(
    "waiting_for_login", default=None
)


@dataclass(frozen=True)
class FetchLimits:
    """Limits for one download. Times in seconds."""

    max_bytes: int = 25 * 1024 * 1024
    connect_timeout: float = 10.0  # the name lookup, then the connection
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 3
    max_concurrency: int = 16
    per_host_concurrency: int = 4
    max_bytes_held: int = 200_000_000  # bodies in memory at once (at least max_bytes)


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    data: bytes = field(repr=False)  # an image never ends up in a log line
    sha256: str
    media_type: str
    held: BodyHold | None = field(default=None, repr=False, compare=False)
    # ``fetch_first``: the refusals of the URLs tried before this one, in order
    passed_over: tuple[FetchSkipped, ...] = field(default=(), repr=False, compare=False)
    # the server's validators, for a conditional request next time
    etag: str | None = None
    last_modified: str | None = None
    # the body stopped before the end the server announced, yet holds a whole image
    # (its length was misdeclared, or what followed the image never came), or ran past
    # max_bytes after a whole image (not read further): in words
    ended_early: str | None = None

    def release(self) -> None:
        """Done with the body: its bytes leave the fetcher's budget (``max_bytes_held``)."""
        if self.held is not None:
            self.held.release()


class NotModified(Exception):
    """The server says the file is the one in hand (304 to a conditional request)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass(frozen=True)
class FetchedFile:
    """A file that is not an image (``Fetcher.fetch_file``), with its validators."""

    url: str
    data: bytes = field(repr=False)
    etag: str | None = None
    last_modified: str | None = None


# --- the fetcher -----------------------------------------------------------------

_REDIRECTS = {301, 302, 303, 307, 308}


class Fetcher:
    """Downloads images with ``limits``; ``allowed_hosts`` may be private (the
    configured Lemmy and pict-rs hosts and the admin's allow list). Use as
    ``async with Fetcher(...) as f: await f.fetch(url)``, or call ``aclose()``.
    ``identity``: the headers each image request sends (default: a browser's, to every
    host; see ``modbot.fetch.identity``). ``resolver``: how host names are looked up;
    ``dial``: where a checked address is connected to (see ``PinnedResolver``).
    ``login``: the bot's Lemmy login, for the instance's own image routes where a
    private instance asks for it (``modbot.fetch.login``). ``proxy_login``: the
    basic-auth login of a proxy in front of the instance (LEMMY_URL's user info), sent
    to LEMMY_URL's origin only (``ProxyLogin``)."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        allowed_hosts: Iterable[str] = (),
        resolver: Resolver = system_resolver,
        dial: Dial | None = None,
        identity: Identity | None = None,
        login: InstanceLogin | None = None,
        proxy_login: ProxyLogin | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.identity = identity or Identity()
        self.login = login
        self.proxy_login = proxy_login
        if self.limits.max_bytes_held < self.limits.max_bytes:
            raise ValueError("max_bytes_held must be at least max_bytes (one whole body)")
        # a host's name lookup is part of connecting to it (as curl's --connect-timeout)
        self._policy = HostPolicy(allowed_hosts)
        self._addresses = PinnedResolver(self._policy, resolver, dial, self.limits.connect_timeout)
        # the address each kept connection to a host name was made to (``_drop_stale``)
        self._made_to: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
        self._client: aiohttp.ClientSession | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, list] = {}
        self._bodies: BodyBudget | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def body_budget(self) -> BodyBudget:
        """The bytes of bodies held (``limits.max_bytes_held``); made on first use, on
        the event loop the fetcher runs on."""
        if self._bodies is None:
            self._bodies = BodyBudget(self.limits.max_bytes_held)
        return self._bodies

    async def reserve_body(self) -> BodyHold:
        """Room for one whole body (``max_bytes``), waiting until it is free: pass it to
        ``fetch``/``fetch_first`` (which shrink it to the body), release it if unused."""
        return await self.body_budget.hold(self.limits.max_bytes)

    def reserve_body_now(self) -> BodyHold | None:
        """``reserve_body`` when the room is free now, else None (no waiting)."""
        return self.body_budget.hold_now(self.limits.max_bytes)

    async def fetch(
        self,
        url: str,
        hold: BodyHold | None = None,
        *,
        etag: str | None = None,
        modified: str | None = None,
    ) -> Fetched:
        """The image at ``url``, or a ``FetchSkipped`` saying why not. ``hold``: room
        reserved with ``reserve_body()``; without it the room is reserved here.
        ``etag``/``modified``: the validators of the copy known, for a conditional
        request; ``NotModified`` when the server says it is unchanged."""
        return await self._fetch(url, hold, (), _conditional(etag, modified))

    async def _fetch(
        self,
        url: str,
        hold: BodyHold | None,
        passed_over: tuple[FetchSkipped, ...],
        conditional: dict[str, str] | None = None,
    ) -> Fetched:
        own = hold is None
        try:
            target = _check_url(url, self._policy)
            if hold is None:  # waiting for memory is not the server's time
                hold = await self.reserve_body()
            fetched = await self._fetch_within_deadline(target, hold, conditional)
            if passed_over:  # before the finalizer below ties the hold to this object
                fetched = replace(fetched, passed_over=passed_over)
        except FetchSkipped as exc:
            log.info("skipped image %s: %s: %s", redact(url), exc.reason, exc.message)
            if own and hold is not None:
                hold.release()
            raise
        except BaseException:
            if own and hold is not None:
                hold.release()
            raise
        weakref.finalize(fetched, hold.release)  # a caller that forgets gives it back too
        return fetched

    async def fetch_data(self, uri: str, reference: str, hold: BodyHold | None = None) -> Fetched:
        """The image a ``data:`` URI holds, decoded in memory (``decode_data_uri``) within
        ``max_bytes`` and the body budget, or a ``FetchSkipped`` saying why not.
        ``reference``: what the image is known by (``Fetched.url``, the refusal's URL, the
        log): never the URI, which is the image itself. ``hold``: as for
        ``fetch_first``, released here when the URI is refused."""
        if hold is None:
            hold = await self.reserve_body()
        try:
            data, media_type = decode_data_uri(uri, self.limits.max_bytes, reference)
            fetched = _as_image(reference, reference, data, media_type)
        except BaseException as exc:
            if isinstance(exc, FetchSkipped):
                log.info("skipped image %s: %s: %s", reference, exc.reason, exc.message)
            hold.release()
            raise
        hold.shrink(len(data))
        fetched = replace(fetched, held=hold)
        weakref.finalize(fetched, hold.release)
        return fetched

    async def fetch_first(
        self,
        urls: Sequence[str],
        hold: BodyHold | None = None,
        *,
        etag: str | None = None,
        modified: str | None = None,
    ) -> Fetched:
        """The first of ``urls`` that downloads (e.g. an original, then its proxy), with
        the refusals of those before it (``passed_over``). Raises the first URL's
        refusal; a refusal on principle (private address, bad scheme, too large) is
        final and the other URLs are not tried. ``hold``: as for ``fetch``; released
        here when nothing downloads. ``etag``/``modified``: the first URL's validators
        (``fetch``)."""
        refused: list[FetchSkipped] = []
        conditional = _conditional(etag, modified)
        if hold is None:
            hold = await self.reserve_body()
        try:
            for number, url in enumerate(urls):
                try:
                    return await self._fetch(
                        url, hold, tuple(refused), conditional if number == 0 else None
                    )
                except FetchSkipped as exc:
                    refused.append(exc)
                    if exc.policy:
                        break
        except BaseException:
            hold.release()
            raise
        hold.release()
        if not refused:
            raise ValueError("fetch_first needs at least one URL")
        raise refused[0]

    async def fetch_file(
        self, url: str, *, max_bytes: int, etag: str | None = None, modified: str | None = None
    ) -> FetchedFile | None:
        """A small file that is not an image (a hash feed), with the same protections
        (no private address unless allowed, redirects checked, timeouts) and at most
        ``max_bytes``. ``etag``/``modified``: from the copy in hand, for a conditional
        request; None when the server says it has not changed (304). Raises
        ``FetchSkipped`` saying why not (a 304 to a request that named no copy too).
        It takes no download slot and no room in the body budget: its URL is the
        admin's own (a feed in rules.yaml, a command's argument), not content's, and its
        callers fetch one file at a time, each feed with a fetcher of its own, whose
        connections are bounded by its ``max_concurrency`` (``feed_limits``: 2)."""
        headers = {"User-Agent": MODBOT_USER_AGENT, "Accept": "*/*"}  # a peer's feed: no cloaking
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        current = _check_url(url, self._policy)
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                for _hop in range(self.limits.max_redirects + 1):
                    async with self._stream(current, headers) as response:
                        if response.status_code in _REDIRECTS and "location" in response.headers:
                            current = self._redirect_target(url, response)
                            continue
                        if response.status_code == 304 and (etag or modified):
                            return None
                        if not 200 <= response.status_code < 300:
                            raise BadStatus(current.url, response.status_code)
                        data = await self._read_capped(current.url, response, max_bytes)
                        return FetchedFile(
                            url,
                            data,
                            _validator(response.headers.get("etag")),
                            _validator(response.headers.get("last-modified")),
                        )
        except TimeoutError:
            raise FetchTimeout(
                url, f"the download took longer than {self.limits.total_timeout:g} s in all"
            ) from None
        raise TooManyRedirects(
            url, f"more than {self.limits.max_redirects} redirects (last to {redact(current.url)})"
        )

    async def _fetch_within_deadline(
        self, target: _Target, hold: BodyHold, conditional: dict[str, str] | None = None
    ) -> Fetched:
        url, body = target.url, _Body()
        try:
            async with asyncio.timeout(self.limits.total_timeout) as deadline:
                return await self._follow(target, hold, conditional, deadline, body)
        except TimeoutError:
            late = FetchTimeout(
                url, f"the download took longer than {self.limits.total_timeout:g} s in all"
            )
        if body.reading:  # the deadline came while the body did
            return _whole_arrival(url, body, late, hold)
        raise late

    async def _follow(
        self,
        target: _Target,
        hold: BodyHold,
        conditional: dict[str, str] | None,
        deadline: asyncio.Timeout,
        body: _Body,
    ) -> Fetched:
        url, current = target.url, target
        # the bot's Lemmy login, for the instance's own image routes (``login``): on the
        # first hop only, never where a redirect leads
        login = self.login if self.login and self.login.covers(target.read, _path(target)) else None
        # a login waited for (the Lemmy client's, shared by every image waiting, its lock
        # held through its retries) is the bot's own queue, not the host's time: off the
        # download's deadline, as the wait for a slot, and off the item's (the caller's)
        sent = await _login_wait(deadline, login.before(target.read)) if login else None
        relogged = False  # sent again after a 401 with the login: once
        hop = 0
        while hop <= self.limits.max_redirects:
            # each hop as its host must see it (a redirect may leave the instance)
            headers = {**self.identity.headers_for(current.url), **(conditional or {})}
            if hop == 0 and sent is not None:
                headers["Cookie"] = f"jwt={sent.reveal()}"
            # the proxy's login, to LEMMY_URL's origin only (a redirect's hop there too)
            gate = self.proxy_login.header_for(current.read) if self.proxy_login else None
            if gate is not None:
                headers["Authorization"] = gate.reveal()
            # each hop in its own host's slot: a redirect is bounded like a first
            # request (links on many hosts redirecting to one would hit it unbounded)
            try:
                async with (
                    self._slots(current, deadline) as place,
                    self._stream(current, headers, place) as response,
                ):
                    if login is not None and hop == 0:
                        if _lemmys_401(response) and not (sent is not None and relogged):
                            raise _LoginAsked  # asked again below, out of its slots
                        if sent is not None and response.status_code != 401:
                            login.let_in(sent)
                    hop += 1
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        current = self._redirect_target(url, response)
                        continue
                    if response.status_code == 304 and conditional:
                        raise NotModified(url)
                    if not 200 <= response.status_code < 300:
                        raise BadStatus(current.url, response.status_code)
                    data = await self._read_capped(current.url, response, body=body)
                    fetched = _as_fetched(url, current.url, data, body.headers, hold)
                    if body.past_cap is not None:
                        log.info("image %s: %s", redact(url), body.past_cap)
                        fetched = replace(fetched, ended_early=body.past_cap)
                    return fetched
            except _LoginAsked:
                assert login is not None
                relogged = sent is not None
                sent = await _login_wait(deadline, login.after_401(target.read, sent))
                if sent is None:
                    raise BadStatus(current.url, 401) from None
                continue
            except (ProtocolFailure, FetchTimeout, NetworkFailure) as exc:
                if not body.stopped:
                    raise
                return _whole_arrival(url, body, exc, hold)
        raise TooManyRedirects(
            url, f"more than {self.limits.max_redirects} redirects (last to {redact(current.url)})"
        )

    def _redirect_target(self, url: str, response: _Response) -> _Target:
        # A byte that is not UTF-8 arrives as a lone surrogate (the parser's
        # surrogateescape): browsers follow such a Location with the byte
        # percent-escaped (Chromium's EscapeNonASCII), so that is where the image is.
        location = _escape_undecodable(response.headers["location"])
        try:
            target = _joined(response.url, location)
        except ValueError as exc:
            raise BadURL(url, f"redirect to an invalid URL: {_unquoted(exc)}") from None
        return _check_url(target, self._policy, redirected_from=url)

    @asynccontextmanager
    async def _stream(
        self, target: _Target, headers: dict[str, str] | None = None, place: _Place | None = None
    ) -> AsyncIterator[_Response]:
        """The answer to a GET of ``target`` (its URL as browsers read it). ``place``: the
        request's slots and the address it dials (``_slots``); when connecting there
        fails, the name's next address is tried on its own slots (``Pinned.fall_back``),
        before anything was sent. When a kept connection's answer is not one
        (``framing.NotAnAnswer``: bytes its server sent after an earlier answer), the
        request is sent again, once, on a new connection, in the same slots and within
        the download's deadline, as browsers send it again."""
        url, dialed, host, port = target.url, target.read, target.host, target.port
        parts = urlsplit(url)
        if "@" in parts.netloc:  # what the refusals name: no credentials either
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
        try:
            await self._addresses.check_literal(host, port)
            address = place.pinned.name_address if place is not None else None
            asked_again = False
            while True:
                try:
                    if address is not None:
                        self._drop_stale(host, port, address)
                    if asked_again:  # on a new connection: no other kept one either
                        self._drop_stale(host, port, None)
                    with place.pinned.dialling() if place else nullcontext():
                        response = await self._http().get(
                            dialed, headers=headers, allow_redirects=False
                        )
                    break
                except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                    # only where no connection was made: a TLS handshake that failed
                    # reached the server, and a lookup's failure is the name's
                    if isinstance(exc, (aiohttp.ClientSSLError, aiohttp.ClientConnectorDNSError)):
                        raise
                    if place is None or not await place.fall_back():
                        raise
                    address = place.pinned.name_address
                    log.info("image %s: %s; trying its next address", redact(url), _said(exc))
                except aiohttp.ClientResponseError as exc:
                    # only a kept connection's (a new one's answer is its server's), once
                    if asked_again or not not_an_answer(exc):
                        raise
                    asked_again = True
                    log.info(
                        "image %s: a kept connection's answer was none (%s); "
                        "asking again on a new connection",
                        redact(url),
                        _said(exc),
                    )
            # an answer whose whole body came with its headers has its connection back
            # in the pool already (``connection`` None): it was made to the address too
            connection = response.connection
            protocol = connection.protocol if connection else getattr(response, "_protocol", None)
            if address is not None and protocol is not None:
                # a new connection went to the request's address; a kept one, where it did
                self._made_to.setdefault(protocol, address)
            try:
                async with response:
                    yield _Response(dialed, response)
            finally:
                self._keep_few_idle()  # the connection is back in the pool, or closed
        except FetchSkipped as exc:
            if exc.url.startswith("//"):
                exc.url = url  # raised by the resolver, which only knows host:port
            raise
        except aiohttp.ServerTimeoutError as exc:
            phase = "connect" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "read"
            raise FetchTimeout(url, f"{phase} timed out{_tries(place)}") from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise BadURL(url, f"invalid URL: {_said(exc)}") from None  # a bad IDNA name too
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(
                url, f"cannot connect{_tries(place)}: {exc.os_error or exc}"
            ) from None
        except (
            aiohttp.ClientResponseError,
            aiohttp.ClientPayloadError,
            aiohttp.ServerDisconnectedError,
        ) as exc:
            raise ProtocolFailure(url, f"broken HTTP answer: {_said(exc)}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkFailure(url, f"connection failed: {_said(exc)}") from None

    async def _read_capped(
        self, url: str, response: _Response, cap: int | None = None, body: _Body | None = None
    ) -> bytes:
        """The body, within ``cap`` (as sent and as inflated). ``body``: an image's,
        kept there as it comes, for a download that stops before its end
        (``_whole_arrival``); its announced length is read, not believed; and when more
        than ``cap`` comes, a whole image within the cap is the body (``_image_within``:
        browsers ignore what follows an image's end), the rest not read. Without it (a
        feed) a length announced over the cap is refused before reading, and more than
        ``cap`` is ``TooLarge``."""
        cap = cap or self.limits.max_bytes
        image = body is not None
        declared = response.headers.get("content-length", "").strip()
        announced = int(declared) if declared.isdigit() else None
        if body is None and announced is not None and announced > cap:
            raise TooLarge(url, f"{announced} bytes announced, over the {cap}-byte limit")
        # An image's host may announce more than it sends, or than max_bytes, and send a
        # small image (browsers show what came): what is sent is what counts.
        decoder = _decoder(url, response.headers.get("content-encoding", ""))
        if body is None:
            body = _Body()
        body.begin(url, response.headers, announced, decoder)
        # BytesIO hands its buffer over as the bytes (no second copy of the body)
        data, size, over = body.data, 0, False
        try:
            async for raw in response.chunks():
                # what is sent counts too: compressed nothing (empty deflate blocks, empty
                # gzip members) inflates to no bytes but could be sent until the deadline
                body.received += len(raw)
                if body.received > cap:
                    if decoder is None:  # the bytes within the cap, for _image_within
                        size += data.write(raw[: len(raw) - (body.received - cap)])
                    over = True
                    break
                while raw:
                    if decoder is None:
                        size += data.write(raw)
                        raw = b""
                    else:  # never inflate past the cap, however small the compressed input
                        size += data.write(decoder.decompress(raw, cap + 1 - size))
                        raw = decoder.unconsumed_tail
                    if size > cap:
                        over = True
                        break
                if over or (decoder is not None and decoder.done):
                    break  # what follows the compressed body, or the cap, is not read
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
            body.stopped = True  # closed, reset or stalled before its end
            raise
        body.reading = False  # still set when the download's deadline cut it
        if over:
            within = _image_within(data, cap) if image else None
            if within is None:
                raise TooLarge(url, f"more than {cap} bytes sent, over the limit")
            body.past_cap = (
                f"more than {cap} bytes came; the first {len(within)} are a whole image, "
                "judged (what follows it was not read)"
            )
            return within
        if decoder is not None and not decoder.complete:
            # the rest (and gzip's CRC) never came: the bytes may be half an image
            raise ProtocolFailure(url, "compressed body cut short (its stream has no end)")
        return data.getvalue()

    def _http(self) -> aiohttp.ClientSession:
        if self._client is None:
            connector = aiohttp.TCPConnector(
                limit=self.limits.max_concurrency,
                resolver=self._addresses,
                # every new connection asks the resolver, which answers a request's pin
                use_dns_cache=False,
                keepalive_timeout=CONNECTION_KEEPALIVE,  # the pins outlive it
                ssl=tls_context(),
                enable_cleanup_closed=_SSL_TRANSPORTS_LEAK,
            )
            use_browser_framing(connector)  # lengths as browsers read them (``framing``)
            self._client = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None,  # the whole download's deadline is the fetcher's own
                    connect=self.limits.total_timeout,  # a free connection, then connected
                    sock_connect=self.limits.connect_timeout,
                    sock_read=self.limits.read_timeout,
                ),
                headers={
                    "User-Agent": MODBOT_USER_AGENT,
                    "Accept": "image/*",
                    "Accept-Encoding": "identity",
                },
                cookie_jar=aiohttp.DummyCookieJar(),  # nothing a server sets is sent back
                auto_decompress=False,  # _read_capped inflates within the cap
                # a header line as long as h11 took (validators up to 16 KiB are read,
                # then not kept)
                max_line_size=_MAX_HEADER_LINE,
                max_field_size=_MAX_HEADER_LINE,
                trust_env=False,
                raise_for_status=False,
            )
        return self._client

    @asynccontextmanager
    async def _slots(self, target: _Target, deadline: asyncio.Timeout) -> AsyncIterator[_Place]:
        """A request's place: one of its server's slots, then one of all. Its server is
        its host and port, and also the address it dials (``PinnedResolver.pinned``):
        names without end (wildcard DNS) of one slow server share that server's slots,
        not each take their own until the slow links hold every slot there is. The time
        waiting for them is the bot's own queue, not the server's: the download's
        deadline stops meanwhile (the name lookup between is the server's time). Held for
        one request (one hop of a redirect chain), never while waiting for another's: no
        download holds one slot and waits for the next. When connecting to the address
        fails and the request falls back to the name's next one (``_Place.fall_back``),
        the address's slot and the one of all are given back before that address's are
        waited for."""
        url, host, port = target.url, target.host, target.port
        loop = asyncio.get_running_loop()
        left: float | None = None

        def pause() -> None:
            nonlocal left
            when = deadline.when()
            left = None if when is None else when - loop.time()
            deadline.reschedule(None)

        def resume() -> None:
            nonlocal left
            if left is not None:
                deadline.reschedule(loop.time() + left)
                left = None

        pause()
        try:
            async with self._host_slot(self._slot_key(url, host, port)):
                resume()
                async with self._addresses.pinned(host, port) as pinned, AsyncExitStack() as held:

                    async def take() -> None:
                        pause()
                        await held.enter_async_context(self._host_slot(pinned.key))
                        await held.enter_async_context(self._slot())
                        resume()

                    async def fall_back() -> bool:
                        if not pinned.fall_back():
                            return False
                        await held.aclose()  # no slot held while waiting for the next
                        await take()
                        return True

                    await take()
                    yield _Place(pinned, fall_back)
        except FetchSkipped as exc:
            if exc.url.startswith("//"):
                exc.url = url  # raised by the resolver, which only knows host:port
            raise
        finally:
            resume()  # cancelled while waiting: the deadline as it was

    def _drop_stale(self, host: str, port: int, address: str | None) -> None:
        """Close the HTTP client's idle connections to ``host:port`` (as dialled) that
        were made to another address than ``address``, the one this request's slot is
        counted on: the name was looked up again and moved, or connecting to its first
        address failed while they were in use (``address`` None: every one, for a
        request asked again on a new connection). aiohttp keeps one pool per host name and
        has no public call for this; its pool (``_conns``: key -> (protocol, time))
        has kept that shape since 3.0, and nothing is awaited between this and its
        taking a connection from it."""
        pool = self._pool()
        if not pool:
            return
        name = host.rstrip(".").lower()
        for key in [k for k in pool if k.port == port and k.host.rstrip(".").lower() == name]:
            for entry in [
                e for e in pool[key] if address is None or self._made_to.get(e[0]) != address
            ]:
                self._close_idle(pool, key, entry)

    def _keep_few_idle(self) -> None:
        """Close the least recently used idle connections past ``max_concurrency``.
        aiohttp's ``limit`` counts only the connections in use and keeps every idle one
        for ``CONNECTION_KEEPALIVE``: links to a thousand hosts left a thousand sockets
        open (file descriptors, buffers), whatever ``fetch.concurrency`` said. (Its pool:
        ``_drop_stale``.)"""
        pool = self._pool()
        if not pool:
            return
        idle = [(entry[1], key, entry) for key, entries in pool.items() for entry in entries]
        if len(idle) <= self.limits.max_concurrency:
            return
        idle.sort(key=lambda one: one[0])
        for _used, key, entry in idle[: len(idle) - self.limits.max_concurrency]:
            self._close_idle(pool, key, entry)

    def _pool(self) -> dict | None:
        """aiohttp's idle connections: key -> (protocol, time last used) (``_drop_stale``)."""
        return getattr(self._client.connector if self._client else None, "_conns", None)

    def _close_idle(self, pool: dict, key: object, entry: tuple) -> None:
        """Close one idle connection of the pool, as aiohttp closes an expired one."""
        entries = pool[key]
        entries.remove(entry)
        if not entries:
            del pool[key]
        transport = entry[0].transport
        entry[0].close()
        connector = self._client.connector if self._client else None
        leaking = getattr(connector, "_cleanup_closed_transports", None)
        if leaking is not None and getattr(key, "is_ssl", False) and _SSL_TRANSPORTS_LEAK:
            leaking.append(transport)  # aborted TLS transports, closed again later

    def _slot_key(self, url: str, host: str, port: int) -> str:
        """Whose ``per_host`` slots a request takes: its server's (``_server``). On the
        instance's own hosts (they may be private: ``LEMMY_URL``, ``PICTRS_URL``,
        ``allow_hosts``), the uploads Lemmy serves have slots of their own, apart from the
        instance's other pages, which a poster can link by the hundred (slow ones too);
        and a request through the instance's own image proxy takes the slots of the
        server it proxies: a hostile slow image fetched again through the proxy (the
        fallback when the original failed) holds that server's share, not the
        instance's."""
        server = _server_at(host, port)  # (``_server(url)``, the URL parsed once)
        if not self._policy.may_be_private(host, port):
            return server
        proxied = unwrap_proxy(url)
        if proxied is not None and urlsplit(proxied).scheme.lower() in ("http", "https"):
            try:
                return _server(proxied)
            except ValueError:
                pass  # not a URL one can dial: the proxy's page, under its other paths
        path = urlsplit(url).path
        if any(path.startswith(prefix) for prefix in PICTRS_PREFIXES):
            return f"{server} uploads"
        return f"{server} other paths"

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._all is None:
            self._all = asyncio.Semaphore(self.limits.max_concurrency)
        async with self._all:
            yield

    @asynccontextmanager
    async def _host_slot(self, host: str | None) -> AsyncIterator[None]:
        # [semaphore, users]; dropped when unused so the dict does not grow forever
        if host is None:  # a trusted host's address: its name's slots are its limit
            yield
            return
        entry = self._hosts.setdefault(
            host, [asyncio.Semaphore(self.limits.per_host_concurrency), 0]
        )
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._hosts[host]


_MAX_HEADER_LINE = 16 * 1024
# Before these, asyncio could keep the transport of a TLS connection aborted mid-stream
# (cpython#118960): a daemon that gives up on many slow HTTPS hosts would leak them.
# aiohttp closes them itself when asked (and warns when asked on a fixed Python).
_SSL_TRANSPORTS_LEAK = sys.version_info < (3, 12, 8) or (3, 13) <= sys.version_info < (3, 13, 1)


@dataclass(frozen=True)
class _Place:
    """A request's slots (``Fetcher._slots``): the address it dials, and the move to the
    name's next address, on that one's slots, when connecting fails (False: none left)."""

    pinned: Pinned
    fall_back: Callable[[], Awaitable[bool]]


async def _off_the_clock(deadline: asyncio.Timeout, waited: Awaitable[_T]) -> _T:
    """``waited``, with ``deadline`` stopped while it runs (the time left kept)."""
    loop = asyncio.get_running_loop()
    when = deadline.when()
    left = None if when is None else when - loop.time()
    deadline.reschedule(None)
    try:
        return await waited
    finally:
        if left is not None:
            deadline.reschedule(loop.time() + left)


async def _login_wait(deadline: asyncio.Timeout, waited: Awaitable[_T]) -> _T:
    """``waited`` (a wait for the Lemmy login) off the download's deadline, the caller
    told (``waiting_for_login``) while it runs."""
    told = waiting_for_login.get()
    if told is not None:
        told(True)
    try:
        return await _off_the_clock(deadline, waited)
    finally:
        if told is not None:
            told(False)


def _tries(place: _Place | None) -> str:
    """How many of a name's addresses a failed connection tried, when more than one."""
    tried = len(place.pinned.tried) if place is not None else 0
    return f" to any of the {tried} addresses tried" if tried > 1 else ""


class _Response:
    """What the request loop reads of an answer: status, headers, the body as sent."""

    def __init__(self, url: str, inner: aiohttp.ClientResponse) -> None:
        self.url = url
        self._inner = inner
        self.status_code = inner.status
        self.headers = inner.headers  # case-insensitive

    def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (still encoded), in the pieces the event loop has."""
        return self._inner.content.iter_any()


def _said(exc: BaseException) -> str:
    """What went wrong, without the URL some of aiohttp's messages carry (a token may be
    in it; the refusal's own URL is redacted where it is logged) and without the bytes
    its parser quotes from the server's answer (a record or report shows none of it)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        text = exc.message or f"status {exc.status}"
    elif isinstance(exc, aiohttp.InvalidURL):
        text = exc.description or "it cannot be parsed"
    else:
        text = str(exc) or type(exc).__name__
    # llhttp's errors: "what:\n\n  b'<the bytes>'\n    ^", or "what: b'<the bytes>'"
    text = text.split("\n", 1)[0].split(": b'", 1)[0].split(': b"', 1)[0]
    return text.rstrip(": ") or type(exc).__name__


def _conditional(etag: str | None, modified: str | None) -> dict[str, str] | None:
    """The headers of a conditional request (None: an unconditional one)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    return headers or None


def _decoder(url: str, content_encoding: str) -> _ZlibDecoder | None:
    """A bounded zlib decoder for gzip/deflate (what a browser's request offers; modbot's
    asks for identity, but servers differ),
    None for identity; other encodings are refused."""
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        return None
    if encodings in (["gzip"], ["x-gzip"], ["deflate"]):
        return _ZlibDecoder(url, raw=encodings == ["deflate"])
    raise ProtocolFailure(url, f"unsupported Content-Encoding {content_encoding!r}")


class _ZlibDecoder:
    """``raw``: deflate, which some servers send without its zlib header (browsers take
    it): the first two bytes say which. A gzip body may hold several members (``gzip -c
    a b``): each is inflated in turn, as browsers do, the cap counting them all."""

    def __init__(self, url: str, *, raw: bool = False) -> None:
        self._url = url
        self._gzip = not raw
        self._head = b""  # the first bytes of a stream, until two say what it is
        self._inner = None if raw else zlib.decompressobj(zlib.MAX_WBITS | 32)
        self._between = False  # a gzip member has ended; another may follow
        self._fed = False
        self._tail = b""
        # a stream has ended and what follows is no gzip member: not read (browsers drop
        # it), not kept (zlib would hold it all in unused_data)
        self.done = False

    @property
    def unconsumed_tail(self) -> bytes:
        return self._tail

    @property
    def complete(self) -> bool:
        """The body has come to the end of its stream (or was empty: that is refused as
        an empty answer)."""
        if self.done or self._between or not self._fed:
            return True
        return self._inner is not None and self._inner.eof

    def decompress(self, data: bytes, max_length: int) -> bytes:
        self._fed = self._fed or bool(data)
        out = []
        while data and not self.done and max_length > 0:  # zlib reads 0 as no limit
            if self._inner is None:
                data, self._head = self._head + data, b""
                if len(data) < 2:
                    # kept for the next call, not its tail too (fed again, it was read
                    # twice: a deflate body broken, a gzip body ended after a member)
                    self._head, data = data, b""
                    break
                if self._between:
                    if data[:2] != b"\x1f\x8b":
                        self.done = True
                        break
                    wbits = zlib.MAX_WBITS | 16
                else:
                    zlib_header = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
                    gzip_header = data[:2] == b"\x1f\x8b"
                    wbits = zlib.MAX_WBITS | 32 if zlib_header or gzip_header else -15
                self._inner, self._between = zlib.decompressobj(wbits), False
            try:
                got = self._inner.decompress(data, max_length)
            except zlib.error as exc:
                raise ProtocolFailure(self._url, f"broken compressed body: {exc}") from None
            out.append(got)
            max_length -= len(got)
            if not self._inner.eof:
                data = self._inner.unconsumed_tail
            elif self._gzip:
                data, self._inner, self._between = self._inner.unused_data, None, True
            else:
                self.done = True
        self._tail = b"" if self.done else data
        return b"".join(out)


@dataclass(frozen=True)
class _Target:
    """A URL read once (``_check_url``), as each step of its request uses it."""

    url: str  # as written: what refusals and the log name (redacted where logged)
    read: str  # as browsers read it (``_read``), without user info: what is requested
    host: str  # as the HTTP client looks it up or connects to (``_dialed_host``)
    port: int


class _LoginAsked(Exception):
    """Lemmy answered an image route 401: sent again with the bot's login."""


def _path(target: _Target) -> str:
    return urlsplit(target.read).path


def _lemmys_401(response: _Response) -> bool:
    """Lemmy's 401 to an image request without a login it takes: an empty one (a proxy
    asking for its own login says ``WWW-Authenticate``, which no Lemmy login answers)."""
    return response.status_code == 401 and "www-authenticate" not in response.headers


def _check_url(url: str, policy: HostPolicy, *, redirected_from: str | None = None) -> _Target:
    """``url`` read as browsers read it (``_read``), or ``BadURL``/``BadScheme`` when it
    is no URL an image is fetched from: browsers show nothing there. ``policy``: the
    ports the admin named, fetched even where browsers refuse them (``BAD_PORTS``)."""
    prefix = f"redirect from {redact(redirected_from)} to " if redirected_from else ""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise BadURL(url, f"{prefix}invalid URL: {_unquoted(exc)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise BadScheme(url, f"{prefix}{scheme}: only http and https are fetched")
    if not parts.hostname:
        raise BadURL(url, f"{prefix}URL without a host")
    try:
        host = decoded_host(parts.hostname)
    except ValueError as exc:
        raise BadURL(url, f"{prefix}invalid URL: {exc}: browsers show nothing") from None
    problem = _host_problem(host)
    if problem:
        raise BadURL(url, f"{prefix}invalid URL: {problem}")
    target = _read(url, parts, host, prefix)  # a name IDNA cannot encode is refused here
    host, port = target.host, target.port
    if port in BAD_PORTS and not policy.names_port(host, port):
        entry = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise BadURL(
            url,
            f"{prefix}port {port} is one browsers never fetch from (mail, chat, file and "
            "other servers that are not web servers listen there): no one is shown an "
            "image from it, and the bot does not connect to it; if "
            f"{entry} really is an image server you trust, add it to fetch.allow_hosts",
        )
    return target


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _joined(base: str, location: str) -> str:
    """A redirect's ``location`` resolved on ``base`` (an http(s) URL) as browsers
    resolve it (the WHATWG URL parser): before its query, a backslash is a slash, and
    any number of slashes may come before an http(s) host (``/\\host/a.png``,
    ``http:///host/a.png``, another scheme than the base's with none: ``https:host``).
    ``urljoin`` reads these as paths on the redirecting host: a server answering every
    request with one such redirect showed people the image on ``host`` and the bot a
    decoy of its own at that path."""
    location = location.strip(_C0_AND_SPACE)
    location = location.replace("\t", "").replace("\n", "").replace("\r", "")
    scheme = _SCHEME.match(location)
    if scheme and scheme[1].lower() not in ("http", "https"):
        return urljoin(base, location)  # no http(s) URL: refused as such (_check_url)
    cut = min((i for i in (location.find("?"), location.find("#")) if i >= 0), default=None)
    location = location[:cut].replace("\\", "/") + (location[cut:] if cut is not None else "")
    if scheme:
        rest = location[scheme.end() :]
        if scheme[1].lower() != urlsplit(base).scheme.lower() or rest.startswith("//"):
            return f"{scheme[1]}://{rest.lstrip('/')}"
    elif location.startswith("//"):
        return f"{urlsplit(base).scheme}://{location.lstrip('/')}"
    return urljoin(base, location)


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _escape_undecodable(text: str) -> str:
    """``text`` (a header's value) with each byte that was not UTF-8 (a lone surrogate
    from surrogateescape decoding) percent-escaped; UTF-8 as it came."""
    return _UNDECODABLE.sub(lambda byte: f"%{ord(byte[0]) - 0xDC00:02X}", text)


def _unquoted(exc: ValueError) -> str:
    """What urlsplit says is wrong with a URL, never quoting its authority (its NFKC
    error does: a password in the link with it)."""
    said = str(exc)
    if "NFKC" in said:
        return "its host has characters that NFKC normalization turns into / ? # @ or :"
    return said


def _dialed_host(url: str, prefix: str = "") -> str:
    """The host the HTTP client looks up or connects to: a non-ASCII name IDNA-encoded,
    which turns one written in other digits or dots (``\uff11\uff12\uff17.0.0.1``,
    ``127\u30020\u30020\u30021``) into an IP address, so that is what is checked."""
    try:
        return URL(url).raw_host or ""
    except ValueError as exc:  # UnicodeError too: a name IDNA cannot encode
        # the message may quote a lone surrogate, which no log or record can encode
        said = str(exc).encode("utf-8", "backslashreplace").decode()
        raise BadURL(url, f"{prefix}invalid URL: {said}") from None


def _server(url: str) -> str:
    """The server a request goes to, for its per-host slot: a host and port (the
    instance, its pict-rs and a web host may share an address; a slow one must not take
    the others' slots), as dialled: one written in capitals, with a final dot, its
    default port, in IDNA's other letters or an IPv4 address in a legacy form is the
    same server (a comment's hundred links to one must not each get slots of their
    own)."""
    parts = urlsplit(url)
    target = _read(url, parts, decoded_host(parts.hostname or ""))
    return _server_at(target.host, target.port)


def _server_at(host: str, port: int) -> str:
    return f"[{host.rstrip('.')}]:{port}"


def _read(url: str, parts: SplitResult, decoded: str, prefix: str = "") -> _Target:
    """``url`` (split as ``parts``, its host percent-decoded as ``decoded``:
    ``decoded_host``) as browsers read it: no user info (never sent), the decoded host,
    and an IPv4 address written in a legacy form (``2130706433``, ``127.1``,
    ``0x7f.0.0.1``) or with a final dot as the dotted address browsers read it as (the
    WHATWG URL parser): the image people are shown is the one checked (aiohttp refuses
    these forms, and ``bad_url`` is final), and the address checked is the one connected
    to. With the host the HTTP client dials (``_dialed_host``) and the port."""
    read = url
    if "@" in parts.netloc:  # never send credentials found in content
        read = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    if decoded != (parts.hostname or ""):
        read = _with_host(parts, decoded)
    host = _dialed_host(read, prefix)
    address = literal_address(host) if ":" not in host else None
    if address is not None and address != host:
        read, host = _with_host(parts, address), address
    port = DEFAULT_PORTS.get(parts.scheme.lower(), 0) if parts.port is None else parts.port
    return _Target(url, read, host, port)


def _with_host(parts: SplitResult, host: str) -> str:
    """The URL ``parts`` with ``host`` for its own (its port kept, no user info)."""
    return urlunsplit(parts._replace(netloc=host if parts.port is None else f"{host}:{parts.port}"))


_ASCII_LABEL = re.compile(r"[a-z0-9_-]+\Z")


def _host_problem(host: str) -> str | None:
    """What is wrong with a URL's host (lower-cased by urlsplit), before anything looks
    it up: a name of letters, digits, hyphens and underscores, valid punycode where a
    label says it is, or an IP address. Other non-ASCII names are encoded (and refused
    when invalid) by the HTTP client."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    for label in host.removesuffix(".").split("."):
        if not label.isascii():
            continue
        if not _ASCII_LABEL.match(label):
            return f"{host!r} is not a host name"
        if label.startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return f"{host!r} has invalid punycode in {label!r}"
    return None


# An ETag or Last-Modified longer than this is not kept (the store keeps one per file):
# real ones are tens of characters; without it the file is downloaded again, not asked
# conditionally.
MAX_VALIDATOR = 256


def _validator(value: str | None) -> str | None:
    # A byte that is not ASCII (obs-text, or a server's Latin-1) arrives as a lone
    # surrogate, which SQLite refuses when the file is kept: such a validator is not
    # kept (the next request is unconditional, as for a host that sends none).
    if value is None or len(value) > MAX_VALIDATOR:
        return None
    return value if value.isascii() and value.isprintable() else None


_BASE64_TAIL = re.compile(r";[ ]*base64\Z", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*\Z")
_ASCII_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def decode_data_uri(uri: str, max_bytes: int, reference: str = "data:") -> tuple[bytes, str]:
    """The bytes of a ``data:`` URI and its declared media type, decoded as a browser
    decodes one (the Fetch standard's data: URL processor: percent-decoding, then the
    forgiving base64 decode when it says ``;base64``). Raises ``TooLarge`` over
    ``max_bytes`` (before decoding), ``BadURL`` when browsers could not decode it
    either (they show no image), ``EmptyResponse`` when it holds nothing.
    ``reference``: what the refusals name (never the URI: it is the image)."""
    if not uri:
        raise BadURL(reference, "the data: image's URI was not found in the item's text")
    uri = uri.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r ")
    uri = uri.replace("\t", "").replace("\n", "").replace("\r", "")  # as the URL parser
    if uri[:5].lower() != "data:":
        raise BadScheme(reference, "not a data: URI")
    head, comma, text_body = uri[5:].partition(",")
    # as the URL parser: UTF-8 (a lone surrogate, which no browser gets, kept as bytes:
    # an error quoting the URI would put the image in a log)
    body = text_body.encode("utf-8", "surrogatepass")
    if not comma:
        raise BadURL(
            reference, "a data: URI without the ',' before its bytes: browsers show nothing"
        )
    head = head.strip("\t\n\f\r ")
    media_type = head.split(";", 1)[0].strip().lower() or "text/plain"
    # percent-decoding only shrinks what it decodes: the text's length bounds the bytes
    if _BASE64_TAIL.search(head):
        text = _ASCII_WHITESPACE.sub("", unquote_to_bytes(body).decode("latin-1"))
        if len(text) % 4 == 0:  # its padding, one or two "=" (a third is malformed)
            text = text[:-2] if text.endswith("==") else text.removesuffix("=")
        if len(text) % 4 == 1 or not _BASE64.match(text):
            raise BadURL(reference, "a data: URI whose base64 is malformed: browsers show nothing")
        size = len(text) * 3 // 4
        if size > max_bytes:
            raise TooLarge(
                reference, f"{size} bytes in a data: URI, over the {max_bytes}-byte limit"
            )
        data = binascii.a2b_base64(text + "=" * (-len(text) % 4))
    else:
        if len(body) > 3 * max_bytes:  # each byte is one character, or three (%xx)
            raise TooLarge(reference, f"a data: URI over the {max_bytes}-byte limit")
        data = unquote_to_bytes(body)
        if len(data) > max_bytes:
            raise TooLarge(
                reference, f"{len(data)} bytes in a data: URI, over the {max_bytes}-byte limit"
            )
    if not data:
        raise EmptyResponse(reference, "a data: URI that holds no bytes")
    return data, media_type


class _Body:
    """An image answer's body as far as it came (``Fetcher._read_capped``), for a
    download that stops before its end (``_whole_arrival``)."""

    def __init__(self) -> None:
        self.data = io.BytesIO()
        self.url = ""
        self.headers: Mapping[str, str] = {}
        self.announced: int | None = None  # the Content-Length, believed by no one
        self.decoder: _ZlibDecoder | None = None
        self.received = 0  # bytes as sent (before inflating)
        self.reading = False  # begun and not ended: the deadline came while it did
        self.stopped = False  # the connection closed, broke or stalled before its end
        self.past_cap: str | None = None  # more than max_bytes came: a whole image before

    def begin(
        self,
        url: str,
        headers: Mapping[str, str],
        announced: int | None,
        decoder: _ZlibDecoder | None,
    ) -> None:
        self.url, self.headers, self.announced, self.decoder = url, headers, announced, decoder
        self.reading = True


def _image_within(data: io.BytesIO, cap: int) -> bytes | None:
    """The whole image (``whole_image_end``) at the start of the first ``cap`` bytes of
    a body that ran past them, or None: the buffer cut to the cap, not copied first."""
    data.truncate(cap)
    value = data.getvalue()
    end = whole_image_end(value)
    return None if end is None else value[:end]


def _whole_arrival(url: str, body: _Body, stop: FetchSkipped, hold: BodyHold) -> Fetched:
    """The image in a body that stopped before its end (``stop`` says how), when what
    came is a whole image by the format's own structure: the server announced more
    than it sent (a browser shows what came, whole), or what followed the image never
    came. Anything else may be half an image, and judging half could call the real one
    clean: ``stop`` is raised, saying so."""
    data = body.data.getvalue()
    sent = f"{body.received} bytes came"
    if body.announced is not None:
        sent = f"the server announced {body.announced} bytes and sent {body.received}"
    decoded = body.decoder is None or body.decoder.complete  # an inflated stream ended
    if not data or not decoded or whole_image_end(data) is None:
        # a format whose end is not read says so: its image may be whole, yet unjudged
        unread = (
            not_read(data, media_type)
            if decoded and (media_type := sniff_image_type(data))
            else None
        )
        why = f"{unread}, whole or not" if unread else "not a whole image"
        raise type(stop)(
            stop.url, f"{stop.message}; cut short: {sent}, {why} (never judged)"
        ) from None
    note = f"{sent}, then the download stopped ({stop.reason}): a whole image, judged"
    log.info("image %s: %s", redact(url), note)
    return replace(_as_fetched(url, body.url, data, body.headers, hold), ended_early=note)


def _as_fetched(
    url: str, final_url: str, data: bytes, headers: Mapping[str, str], hold: BodyHold
) -> Fetched:
    """The image downloaded, holding ``hold`` shrunk to its size."""
    fetched = _as_image(url, final_url, data, headers.get("content-type"))
    hold.shrink(len(data))
    return replace(
        fetched,
        held=hold,
        etag=_validator(headers.get("etag")),
        last_modified=_validator(headers.get("last-modified")),
    )


def _as_image(url: str, final_url: str, data: bytes, content_type: str | None) -> Fetched:
    if not data:
        raise EmptyResponse(final_url, "the server sent no bytes")
    media_type = sniff_image_type(data)
    if media_type is None:
        raise NotAnImage(final_url, why_not_an_image(data, content_type))
    return Fetched(
        url=url,
        final_url=final_url,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
    )
