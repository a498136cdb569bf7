"""Which addresses an image may be fetched from, checked where the connection is made.

A network backend resolves the host, refuses non-public addresses (unless the host and
port are allowed) and connects to the very address it checked, so DNS cannot answer
differently between check and connect. TLS still verifies the certificate against, and
sends SNI for, the URL's host name.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from modbot.fetch.refusals import PrivateAddress, UnresolvableHost

__all__ = [
    "ANY_PORT",
    "DEFAULT_PORTS",
    "HostPolicy",
    "PinnedBackend",
    "PinnedTransport",
    "Resolver",
    "is_public_address",
    "parse_host_entry",
    "system_resolver",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]

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
            addresses.append(str(sockaddr[0]))
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

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._checked_addresses(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _KeptSocketStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
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


_READ_BYTES = 256 * 1024  # asyncio's own read size (selector transports' max_size)


class _KeptSocketStream(httpcore.AsyncNetworkStream):
    """A connection with its socket kept at hand. httpcore's pool asks each idle
    connection whether its server has closed it every time it hands a connection out or
    takes one back (~15 times per download with 16 connections), and anyio answers each
    question by building a dict of every socket attribute, with a getpeername() call:
    ~0.1 ms each, CPU taken from the classifier."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # httpcore asks for 64 KiB; the event loop hands data over in pieces of up to
        # 256 KiB, which anyio splits to the size asked. Taking what is there: ~3 reads
        # for a 234 KiB photo instead of ~8, each a timeout scope and a parser pass
        # (-10 % of the downloads' CPU over plain HTTP; over TLS a read is one record,
        # whatever is asked). The body cap is checked after every read as before; the
        # piece is bounded by the event loop's read size.
        return await self._inner.read(max(max_bytes, _READ_BYTES), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _KeptSocketStream(inner)

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block: data, or the server closed the connection (what
    httpcore's pool asks of an idle connection). A closed socket counts as readable."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetcher of the process: loading the CA
    bundle takes ~18 ms, and each pipeline, sweep and test made two."""
    return httpx.create_ssl_context(trust_env=False)


class PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: PinnedBackend, limits: httpx.Limits) -> None:
        super().__init__(verify=_tls_context(), trust_env=False, limits=limits)
        # httpx has no public hook for a network backend; its pool is the one place.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
