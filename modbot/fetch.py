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

Addresses are checked where the connection is made: a network backend resolves the
host, refuses non-public addresses (unless the host is allowed) and connects to the
very address it checked, so DNS cannot answer differently between check and connect.
TLS still verifies the certificate against, and sends SNI for, the URL's host name.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.cookiejar
import io
import ipaddress
import logging
import socket
import threading
import weakref
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from modbot import __version__
from modbot.errors import ModbotError

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class FetchLimits:
    """Limits for one download. Times in seconds."""

    max_bytes: int = 25 * 1024 * 1024
    connect_timeout: float = 5.0
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

    def release(self) -> None:
        """Done with the body: its bytes leave the fetcher's budget (``max_bytes_held``)."""
        if self.held is not None:
            self.held.release()


# --- the budget of bodies held -----------------------------------------------------


class BodyHold:
    """Bytes held in a ``BodyBudget``: ``shrink(n)`` to what the body turned out to be,
    ``release()`` when it is dropped."""

    def __init__(self, budget: BodyBudget, nbytes: int) -> None:
        self._budget = budget
        self.nbytes = nbytes

    def shrink(self, nbytes: int) -> None:
        freed = self.nbytes - max(0, min(nbytes, self.nbytes))
        self.nbytes -= freed
        if freed:
            self._budget._give_back(freed)

    def release(self) -> None:
        self.shrink(0)


class BodyBudget:
    """A byte semaphore for downloaded bodies, first come first served. Used on one
    event loop (the first ``hold``'s); ``release`` may come from any thread (a dropped
    ``Fetched``)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.in_use = 0
        self.peak = 0  # the most ever held at once (see reset_peak)
        self.waits = 0  # holds that had to wait for bytes to be released
        self._waiting: deque[tuple[int, asyncio.Future]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    async def hold(self, nbytes: int) -> BodyHold:
        if self._loop is None:
            self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        nbytes = max(0, min(nbytes, self.total))
        if not self._waiting and self.in_use + nbytes <= self.total:
            self._take(nbytes)
            return BodyHold(self, nbytes)
        self.waits += 1
        granted = self._loop.create_future()
        entry = (nbytes, granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._give_back(nbytes)  # granted just as we were cancelled
            else:
                self._waiting.remove(entry)
                self._grant()  # the one behind us may fit now
            raise
        return BodyHold(self, nbytes)

    def reset_peak(self) -> None:
        self.peak = self.in_use

    def _take(self, nbytes: int) -> None:
        self.in_use += nbytes
        self.peak = max(self.peak, self.in_use)

    def _give_back(self, nbytes: int) -> None:
        if self._loop is not None and threading.get_ident() != self._thread:
            try:
                self._loop.call_soon_threadsafe(self._give_back, nbytes)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                self.in_use -= nbytes
            return
        self.in_use -= nbytes
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.in_use + self._waiting[0][0] <= self.total:
            nbytes, granted = self._waiting.popleft()
            if granted.done():
                continue
            self._take(nbytes)
            granted.set_result(None)


# --- refusals --------------------------------------------------------------------


class FetchSkipped(ModbotError):
    """An image that was not downloaded; ``reason`` is a short code for the record."""

    reason = "skipped"
    #: a refusal on principle: trying the same image elsewhere must not follow it
    policy = False

    def __init__(self, url: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.message} ({redact(self.url)})"


class BadURL(FetchSkipped):
    reason = "bad_url"
    policy = True


class BadScheme(FetchSkipped):
    reason = "bad_scheme"
    policy = True


class PrivateAddress(FetchSkipped):
    reason = "private_address"
    policy = True


class UnresolvableHost(FetchSkipped):
    reason = "dns_error"


class ConnectFailed(FetchSkipped):
    reason = "connect_error"


class NetworkFailure(FetchSkipped):
    reason = "network_error"


class ProtocolFailure(FetchSkipped):
    reason = "protocol_error"


class FetchTimeout(FetchSkipped):
    reason = "timeout"


class TooManyRedirects(FetchSkipped):
    reason = "too_many_redirects"


class BadStatus(FetchSkipped):
    """A non-2xx answer; ``reason`` is ``http_<status>``, e.g. ``http_404``."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"the server answered HTTP {status}", reason=f"http_{status}")
        self.status = status


class TooLarge(FetchSkipped):
    reason = "too_large"
    policy = True


class EmptyResponse(FetchSkipped):
    reason = "empty"


class NotAnImage(FetchSkipped):
    reason = "not_an_image"


# --- addresses -------------------------------------------------------------------

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and
    shared addresses, IPv4 or IPv6, also when an IPv4 address is embedded in IPv6
    (mapped, compatible, 6to4, NAT64)."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and (ip in _NAT64 or ip in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None and not is_public_address(embedded):
            return False
        if ip in _IPV4_COMPATIBLE:  # deprecated form; "::" and "::1" live here too
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` (getaddrinfo in a thread), IP literals included."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_PORT = "*"


class HostPolicy:
    """Which hosts may be on a private address, and on which ports only.

    An entry is ``host:port`` (IPv6 as ``[::1]:8080``), a URL (its port, else its
    scheme's default: ``http://lemmy`` is ``lemmy:80``), a bare ``host`` (ports 80 and
    443 only), or ``host:*`` (every port: anything on that host answering HTTP may be
    fetched, so use it only for a host that runs nothing else). A URL's path is
    ignored.
    """

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self._any_port: set[str] = set()
        self._host_ports: set[tuple[str, int]] = set()
        for entry in allowed_hosts:
            host, ports = parse_host_entry(entry)
            if ports is None:
                self._any_port.add(host)
            else:
                self._host_ports.update((host, port) for port in ports)

    def may_be_private(self, host: str, port: int) -> bool:
        host = _normal_host(host)
        return host in self._any_port or (host, port) in self._host_ports


def parse_host_entry(entry: str) -> tuple[str, tuple[int, ...] | None]:
    """``(host, ports)`` of an allowed-host entry (see ``HostPolicy``); ports None: any.
    Raises ``ValueError`` saying what is wrong."""
    text = entry.strip()
    any_port = text.endswith(":" + ANY_PORT)
    if any_port:
        text = text[: -len(ANY_PORT) - 1]
    has_scheme = "//" in text
    parts = urlsplit(text if has_scheme else f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or (any_port and port is not None):
        raise ValueError(f"allowed host {entry!r} is not a host, host:port, host:* or URL")
    host = _normal_host(parts.hostname)
    if any_port:
        return host, None
    if port is not None:
        return host, (port,)
    if has_scheme:
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"allowed host {entry!r}: only http and https URLs")
        return host, (DEFAULT_PORTS[scheme],)
    return host, tuple(DEFAULT_PORTS.values())


def _normal_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (no second lookup)."""

    def __init__(
        self,
        policy: HostPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = await self._checked_addresses(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise PrivateAddress(path, "connections to unix sockets are never made")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _checked_addresses(self, host: str, port: int) -> list[str]:
        url = f"//{host}:{port}"
        try:
            addresses = await self._resolver(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvableHost(url, f"cannot resolve host {host!r}: {exc}") from None
        if not addresses:
            raise UnresolvableHost(url, f"host {host!r} has no address")
        if self._policy.may_be_private(host, port):
            return addresses
        bad = [a for a in addresses if not is_public_address(a)]
        if bad:
            raise PrivateAddress(
                url,
                f"host {host!r} resolves to non-public address {bad[0]}; add it to the "
                "allowed hosts if it really is an image server you trust",
            )
        return addresses


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: PinnedBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no public hook for a network backend; its pool is the one place.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


# --- media types -----------------------------------------------------------------

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff_image_type(data: bytes) -> str | None:
    """The image media type the bytes say, or None when they are not a raster image."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 22:
        return "image/x-icon"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if head[4:8] == b"ftyp":
        return _ftyp_image_type(data)
    return None


def _ftyp_image_type(data: bytes) -> str | None:
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 512)]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4) if i != 4}
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIC_BRANDS:
        return "image/heic"
    if brands & _HEIF_BRANDS:
        return "image/heif"
    return None


def _why_not_an_image(data: bytes, content_type: str | None) -> str:
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    said = f" (served as {content_type})" if content_type else ""
    if b"<svg" in text and (text.startswith(b"<svg") or text.startswith(b"<?xml")):
        return f"an SVG image{said}: SVG is not rasterised, so it cannot be classified"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<?xml")):
        return f"an HTML/XML page, not an image{said}"
    if data[4:8] == b"ftyp" or data[:4] == b"\x1aE\xdf\xa3":
        return f"a video, not a still image{said}"
    return f"not a known image format{said}; first bytes {data[:8].hex()}"


# --- the fetcher -----------------------------------------------------------------

_REDIRECTS = {301, 302, 303, 307, 308}
_SECRET_PARAMS = ("token", "key", "sig", "auth", "pass", "secret", "jwt", "session")


def redact(url: str) -> str:
    """A URL fit for logs: no user info, no values of secret-looking parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(
        f"{k}=***" if any(s in k.lower() for s in _SECRET_PARAMS) else f"{k}={v}" if sep else k
        for k, sep, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))[:300]


class Fetcher:
    """Downloads images with ``limits``; ``allowed_hosts`` may be private (the
    configured Lemmy and pict-rs hosts and the admin's allow list). Use as
    ``async with Fetcher(...) as f: await f.fetch(url)``, or call ``aclose()``."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        allowed_hosts: Iterable[str] = (),
        resolver: Resolver = system_resolver,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        if self.limits.max_bytes_held < self.limits.max_bytes:
            raise ValueError("max_bytes_held must be at least max_bytes (one whole body)")
        self._backend = PinnedBackend(HostPolicy(allowed_hosts), resolver, network_backend)
        self._client: httpx.AsyncClient | None = None
        self._all: asyncio.Semaphore | None = None
        self._hosts: dict[str, list] = {}
        self._bodies: BodyBudget | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
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

    async def fetch(self, url: str, hold: BodyHold | None = None) -> Fetched:
        """The image at ``url``, or a ``FetchSkipped`` saying why not. ``hold``: room
        reserved with ``reserve_body()``; without it the room is reserved here."""
        own = hold is None
        try:
            parts = _check_url(url)
            # a server is a host and port (the instance, its pict-rs and a web host may
            # share an address; a slow one must not take the others' slots)
            host = f"{parts.hostname or ''}:{parts.port or ''}"
            async with self._host_slot(host), self._slot():
                if hold is None:  # waiting for memory is not the server's time
                    hold = await self.reserve_body()
                fetched = await self._fetch_within_deadline(url, hold)
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

    async def fetch_first(self, urls: Sequence[str], hold: BodyHold | None = None) -> Fetched:
        """The first of ``urls`` that downloads (e.g. an original, then its proxy).
        Raises the first URL's refusal; a refusal on principle (private address, bad
        scheme, too large) is final and the other URLs are not tried. ``hold``: as for
        ``fetch``; released here when nothing downloads."""
        first: FetchSkipped | None = None
        if hold is None:
            hold = await self.reserve_body()
        try:
            for url in urls:
                try:
                    return await self.fetch(url, hold)
                except FetchSkipped as exc:
                    first = first or exc
                    if exc.policy:
                        break
        except BaseException:
            hold.release()
            raise
        hold.release()
        if first is None:
            raise ValueError("fetch_first needs at least one URL")
        raise first

    async def _fetch_within_deadline(self, url: str, hold: BodyHold) -> Fetched:
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._follow(url, hold)
        except TimeoutError:
            raise FetchTimeout(
                url, f"the download took longer than {self.limits.total_timeout:g} s in all"
            ) from None

    async def _follow(self, url: str, hold: BodyHold) -> Fetched:
        current = url
        for hop in range(self.limits.max_redirects + 1):
            async with self._stream(current) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = self._redirect_target(url, response)
                    continue
                if not 200 <= response.status_code < 300:
                    raise BadStatus(current, response.status_code)
                data = await self._read_capped(current, response)
                fetched = _as_image(url, current, data, response.headers.get("content-type"))
                hold.shrink(len(data))
                return replace(fetched, held=hold)
        raise TooManyRedirects(
            url, f"more than {self.limits.max_redirects} redirects (last to {redact(current)})"
        )

    def _redirect_target(self, url: str, response: httpx.Response) -> str:
        try:
            target = str(response.url.join(response.headers["location"]))
        except (httpx.InvalidURL, ValueError) as exc:
            raise BadURL(url, f"redirect to an invalid URL: {exc}") from None
        _check_url(target, redirected_from=url)
        return target

    @asynccontextmanager
    async def _stream(self, url: str) -> AsyncIterator[httpx.Response]:
        parts = urlsplit(url)
        if "@" in parts.netloc:  # never send credentials found in content
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
        try:
            async with self._http().stream("GET", url) as response:
                yield response
        except FetchSkipped as exc:
            if exc.url.startswith("//"):
                exc.url = url  # raised by the backend, which only knows host:port
            raise
        except httpx.TimeoutException as exc:
            phase = type(exc).__name__.replace("Timeout", "").lower() or "network"
            raise FetchTimeout(url, f"{phase} timed out") from None
        except httpx.ConnectError as exc:
            raise ConnectFailed(url, f"cannot connect: {exc or type(exc).__name__}") from None
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
            raise ProtocolFailure(url, f"broken HTTP answer: {exc}") from None
        except httpx.NetworkError as exc:
            raise NetworkFailure(url, f"connection failed: {exc or type(exc).__name__}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as exc:
            raise BadURL(url, f"invalid URL: {exc}") from None  # UnicodeError: bad IDNA

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > cap:
            raise TooLarge(url, f"{int(declared)} bytes announced, over the {cap}-byte limit")
        decoder = _decoder(url, response.headers.get("content-encoding", ""))
        # BytesIO hands its buffer over as the bytes (no second copy of the body)
        data, size = io.BytesIO(), 0
        async for raw in response.aiter_raw():
            while raw:
                if decoder is None:
                    size += data.write(raw)
                    raw = b""
                else:  # never inflate past the cap, however small the compressed input
                    size += data.write(decoder.decompress(raw, cap + 1 - size))
                    raw = decoder.unconsumed_tail
                if size > cap:
                    raise TooLarge(url, f"more than {cap} bytes sent, over the limit")
        return data.getvalue()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            limits = httpx.Limits(
                max_connections=self.limits.max_concurrency,
                max_keepalive_connections=self.limits.max_concurrency,
            )
            self._client = httpx.AsyncClient(
                transport=_PinnedTransport(self._backend, limits),
                timeout=httpx.Timeout(
                    self.limits.read_timeout,
                    connect=self.limits.connect_timeout,
                    pool=self.limits.total_timeout,
                ),
                headers={
                    "User-Agent": f"modbot/{__version__} (Lemmy automoderator)",
                    "Accept": "image/*",
                    "Accept-Encoding": "identity",
                },
                cookies=http.cookiejar.CookieJar(
                    policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
                ),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._all is None:
            self._all = asyncio.Semaphore(self.limits.max_concurrency)
        async with self._all:
            yield

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        # [semaphore, users]; dropped when unused so the dict does not grow forever
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


def _decoder(url: str, content_encoding: str):
    """A bounded zlib decoder for gzip/deflate (asked for identity, but servers differ),
    None for identity; other encodings are refused."""
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        return None
    if encodings in (["gzip"], ["x-gzip"], ["deflate"]):
        return _ZlibDecoder(url)
    raise ProtocolFailure(url, f"unsupported Content-Encoding {content_encoding!r}")


class _ZlibDecoder:
    def __init__(self, url: str) -> None:
        self._url = url
        self._inner = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header

    @property
    def unconsumed_tail(self) -> bytes:
        return self._inner.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        try:
            return self._inner.decompress(data, max_length)
        except zlib.error as exc:
            raise ProtocolFailure(self._url, f"broken compressed body: {exc}") from None


def _check_url(url: str, *, redirected_from: str | None = None):
    prefix = f"redirect from {redact(redirected_from)} to " if redirected_from else ""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as exc:
        raise BadURL(url, f"{prefix}invalid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise BadScheme(url, f"{prefix}{scheme}: only http and https are fetched")
    if not parts.hostname:
        raise BadURL(url, f"{prefix}URL without a host")
    return parts


def _as_image(url: str, final_url: str, data: bytes, content_type: str | None) -> Fetched:
    if not data:
        raise EmptyResponse(final_url, "the server sent no bytes")
    media_type = sniff_image_type(data)
    if media_type is None:
        raise NotAnImage(final_url, _why_not_an_image(data, content_type))
    return Fetched(
        url=url,
        final_url=final_url,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
    )
