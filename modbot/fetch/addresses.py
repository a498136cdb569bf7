"""Which addresses an image may be fetched from, checked where the connection is made.

The connector's resolver resolves the host, leaves out its non-public addresses (unless
the host and port are allowed; a name with no public one is refused) and answers only
the addresses it checked, which are the ones connected to, so DNS cannot answer
differently between check and connect. An IP address
in the URL is checked before the request (aiohttp does not resolve those). TLS still
verifies the certificate against, and sends SNI for, the URL's host name.

A name's lookup is pinned (``PinnedResolver.pinned``) while requests to it run and for a
while after: a request dials the one address its download slot was counted on
(``address_key``), so many names of one server (wildcard DNS) share that server's slots;
when connecting there fails, the next of the name's addresses is tried on its own slots
(``Pinned.fall_back``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from modbot.fetch.refusals import PrivateAddress, UnresolvableHost

log = logging.getLogger(__name__)

__all__ = [
    "ANY_PORT",
    "BAD_PORTS",
    "CONNECTION_KEEPALIVE",
    "DEFAULT_PORTS",
    "DIAL_ADDRESSES",
    "LOOKUP_THREADS",
    "Dial",
    "HostPolicy",
    "Pinned",
    "PinnedResolver",
    "Resolver",
    "SystemResolver",
    "address_key",
    "embedded_ipv4",
    "is_public_address",
    "literal_address",
    "may_hide_private",
    "nat64_prefixes",
    "parse_host_entry",
    "system_resolver",
    "tls_context",
]

# A host's addresses; raises ``socket.gaierror`` (EAI_NONAME: no such name, else the DNS
# did not answer), ``UnresolvableHost`` or ``TimeoutError`` when it cannot answer now
Resolver = Callable[[str, int], Awaitable[list[str]]]
Dial = Callable[[str, int], tuple[str, int]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
Nat64 = tuple[ipaddress.IPv6Network, ...]

# RFC 7050: the name whose only addresses are these two IPv4 ones; a DNS64 answers it
# with them inside the network's NAT64 prefix, which is how hosts learn that prefix.
NAT64_PROBE = "ipv4only.arpa"
_PROBE_ADDRESSES = frozenset(map(ipaddress.IPv4Address, ("192.0.0.170", "192.0.0.171")))
_NAT64_LENGTHS = (96, 64, 56, 48, 40, 32)  # RFC 6052's prefix lengths
# How long a learned answer holds (getaddrinfo gives no TTL), and when a failed lookup is
# tried again (the prefixes learned before hold meanwhile); sooner while none has
# answered yet (IPv6 addresses wait for it: ``_learn_nat64``).
NAT64_RELEARN = 3600.0
NAT64_RETRY = 300.0
NAT64_FIRST_RETRY = 30.0
_NO_SUCH_ADDRESS = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def is_public_address(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address, nat64: Nat64 = ()
) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and
    shared addresses, IPv4 or IPv6, also when an IPv4 address is embedded in IPv6
    (mapped, compatible, 6to4, NAT64). A mapped or NAT64 address (``64:ff9b::/96``, or
    one of ``nat64``: the network's own prefixes, ``nat64_prefixes``) is its IPv4
    address: DNS64 answers that for every IPv4-only host on an IPv6-only network, and
    the translator connects there. Other addresses of the local-use prefix
    ``64:ff9b:1::/48`` are refused: where its operator put the IPv4 address in it
    (RFC 6052's six lengths) is not in the address."""
    ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        for prefix in nat64:
            if ip in prefix:
                return is_public_address(embedded_ipv4(ip, prefix.prefixlen))
        embedded = _translated(ip) or ip.sixtofour
        if embedded is None and ip in _IPV4_COMPATIBLE:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None and not is_public_address(embedded):
            return False
        if _translated(ip) is not None:  # (in ::/8, which ipaddress calls reserved)
            return True
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


def _translated(ip: ipaddress.IPv6Address, nat64: Nat64 = ()) -> ipaddress.IPv4Address | None:
    """The IPv4 address a connection to ``ip`` reaches: IPv4-mapped, or NAT64's
    well-known prefix or one of ``nat64`` (a translator on the way sends it there)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    for prefix in nat64:
        if ip in prefix:
            return embedded_ipv4(ip, prefix.prefixlen)
    return None


def may_hide_private(address: str) -> bool:
    """Whether ``address`` is an IPv6 address that some NAT64 prefix (RFC 6052's six
    lengths) could map to a non-public IPv4 address: while the network's own prefixes
    are not known, it may lead to a private host through the translator."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not isinstance(ip, ipaddress.IPv6Address) or _translated(ip) is not None:
        return False  # IPv4, mapped or in the well-known prefix: judged by its IPv4 already
    return any(not is_public_address(embedded_ipv4(ip, n)) for n in _NAT64_LENGTHS)


def embedded_ipv4(ip: ipaddress.IPv6Address, length: int) -> ipaddress.IPv4Address:
    """The IPv4 address in ``ip`` under a NAT64 prefix of ``length`` bits (RFC 6052
    2.2: right after the prefix, skipping bits 64 to 71)."""
    number = int(ip)
    if length == 96:
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    joined = (number >> 64) << 56 | (number & ((1 << 56) - 1))  # bits 64-71 left out
    return ipaddress.IPv4Address((joined >> (88 - length)) & 0xFFFFFFFF)


def nat64_prefixes(answers: Iterable[str]) -> Nat64:
    """The NAT64 prefixes a DNS64's addresses for ``NAT64_PROBE`` show (RFC 7050): where
    one of its two IPv4 addresses sits in an IPv6 answer says the prefix and its
    length. Other answers (IPv4, or IPv6 without them) show none."""
    found: list[ipaddress.IPv6Network] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            continue
        if not isinstance(ip, ipaddress.IPv6Address):
            continue
        for length in _NAT64_LENGTHS:
            if embedded_ipv4(ip, length) in _PROBE_ADDRESSES:
                bits = 128 - length
                prefix = ipaddress.IPv6Network((int(ip) >> bits << bits, length))
                if prefix not in found:
                    found.append(prefix)
                break
    return tuple(found)


# Name lookups waiting at once in the whole process (each in a thread of its own).
LOOKUP_THREADS = 64


class SystemResolver:
    """Every address of a host by the C library's lookup (getaddrinfo), IP literals
    included; an instance is a ``Resolver``.

    getaddrinfo cannot be cancelled: a lookup given up on keeps its thread until the DNS
    answers or the C library gives up (tens of seconds when the DNS server does not
    answer). So lookups do not run in the
    event loop's default executor, where a hundred links to such hosts would fill every
    thread and stall all else that uses it (the perceptual hashes' decodes): each runs in
    a daemon thread of its own (one never answered holds no interpreter exit), at most
    ``threads`` at once in the process; past that a lookup is refused at once
    (``UnresolvableHost``), saying why, rather than adding a thread or waiting for one.
    One more is kept for the NAT64 probe (``NAT64_PROBE`` on port 0, as
    ``PinnedResolver`` asks it): links to names that never answer must not keep the
    network's NAT64 prefixes from being learned."""

    def __init__(self, threads: int = LOOKUP_THREADS) -> None:
        self.threads = threads
        self.running = 0  # lookups in a thread, given up on or not
        self._lock = threading.Lock()

    async def __call__(self, host: str, port: int) -> list[str]:
        probe = host == NAT64_PROBE and port == 0
        with self._lock:
            if self.running >= self.threads + probe:
                raise UnresolvableHost(
                    f"//{host}:{port}",
                    f"no name lookup could start for host {host!r}: all {self.threads} "
                    "lookup threads are waiting for DNS answers that have not come (is the "
                    "DNS server answering?)",
                )
            self.running += 1
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[tuple]] = loop.create_future()

        def look_up() -> None:
            try:
                infos: list[tuple] | None = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                error: BaseException | None = None
            except Exception as exc:  # handed to the caller
                infos, error = None, exc
            finally:
                with self._lock:
                    self.running -= 1
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, answer, infos, error)

        try:
            threading.Thread(target=look_up, name="modbot-lookup", daemon=True).start()
        except BaseException:
            with self._lock:
                self.running -= 1
            raise
        addresses: list[str] = []
        for _family, _type, _proto, _name, sockaddr in await answer:
            if sockaddr[0] not in addresses:
                addresses.append(str(sockaddr[0]))
        return addresses


def _settle(
    answer: asyncio.Future[list[tuple]], infos: list[tuple] | None, error: BaseException | None
) -> None:
    if answer.done():  # the caller gave up (its timeout, or cancelled)
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(infos or [])


system_resolver = SystemResolver()


DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_PORT = "*"

# The ports browsers never fetch from (the Fetch standard's "bad port" list): mail, chat,
# file, shell and other servers that would read an HTTP request as commands of their
# own. No one is shown an image there, and a link to one must not make the bot talk to
# such a server. (0 too: no server is dialled there.)
BAD_PORTS = frozenset(
    {
        *(0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79),
        *(87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137),
        *(139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540),
        *(548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049),
        *(3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679),
        *(6697, 10080),
    }
)


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

    def names_port(self, host: str, port: int) -> bool:
        """Whether an entry names this very port of the host (``host:port``, or a URL's):
        a port the admin chose, fetched even where browsers refuse it (``BAD_PORTS``).
        ``host:*`` names none."""
        return (_normal_host(host), port) in self._host_ports


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
    host = host.strip("[]").rstrip(".").lower()
    if not host.isascii():
        # as the HTTP client dials it (IDNA: ``bücher.example`` is ``xn--bcher-kva.example``),
        # so an allow_hosts entry written in Unicode matches the requests made
        with contextlib.suppress(ValueError):  # UnicodeError too: matches no request
            host = URL.build(scheme="http", host=host).raw_host or host
    return host


# How long the fetcher's HTTP client keeps an idle connection for reuse (aiohttp's
# keepalive_timeout): a name's pin outlives it, so a reused connection went to the pinned
# address too.
CONNECTION_KEEPALIVE = 15.0
# A pin older than this is looked up again when next taken while nothing uses it (a
# host that moved is found within minutes).
PIN_MAX_AGE = 300.0
# How many of a name's addresses one request tries in turn when connecting fails
# (refused, unreachable, timed out; never once the server answered): a host whose
# listed IPv4 address is dead is reached on its IPv6 one, as browsers do. Bounded: each
# try may take the connect timeout, and the download's deadline holds for them all.
DIAL_ADDRESSES = 3

# The name and address the running request dials (``Pinned.dialling``): aiohttp asks
# the resolver in the request's own task (its DNS cache is off), so the answer is the
# address that request's slot is counted on, whatever other requests to the name do.
_DIALLING: ContextVar[tuple[tuple[str, int], str] | None] = ContextVar(
    "modbot_dialling", default=None
)


@dataclass
class _Pin:
    # checked; an untrusted name's are those its requests dial, the first first (a
    # failed first one is dropped: ``Pinned.fall_back``), a trusted name's all it has
    addresses: list[str]
    looked_up: float
    trusted: bool = False
    users: int = 0
    last_used: float = 0.0


def _dial_order(addresses: list[str]) -> list[str]:
    """The addresses a name's requests dial, in turn (``DIAL_ADDRESSES`` of them): its
    first IPv4 address first, then the others as listed. A machine with IPv6
    configured but no route out gets AAAA answers sorted first; an IPv4 address a host
    lists is as much its own."""
    first = next((a for a in addresses if ":" not in a), addresses[0])
    return [first, *(a for a in addresses if a != first)][:DIAL_ADDRESSES]


def address_key(address: str, nat64: Nat64 = ()) -> str:
    """What one server's download slots are counted by: its IPv4 address (also when
    mapped, or reached through NAT64, ``nat64`` the network's own prefixes: every
    IPv4-only host is in one /64 there), or the /64 an IPv6 address is in (one machine
    is commonly given a whole /64, and can answer on any address of it)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _translated(ip, nat64) or ip
    if isinstance(ip, ipaddress.IPv6Address):
        return f"address {ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"address {ip}"


@dataclass
class Pinned:
    """One request's place among its name's addresses (``PinnedResolver.pinned``):
    ``address`` is the one it dials (None for a trusted name: any of its addresses),
    ``key`` the download slots that address is counted by (None: a trusted host, whose
    per-name limit stands alone)."""

    address: str | None
    trusted: bool
    _name: tuple[str, int] = ("", 0)
    _pin: _Pin | None = field(default=None, repr=False)
    tried: list[str] = field(default_factory=list)
    nat64: Nat64 = ()  # the network's NAT64 prefixes, as learned (``address_key``)

    @property
    def key(self) -> str | None:
        if self.trusted or self.address is None:
            return None
        return address_key(self.address, self.nat64)

    def fall_back(self) -> bool:
        """Connecting to ``address`` failed: the name's requests no longer dial it (when
        it has others), and this one moves to the next address it has not tried (True),
        or has none left within ``DIAL_ADDRESSES`` (False). Take the new ``key``'s
        slots before dialling it."""
        pin = self._pin
        if pin is None or self.address is None:
            return False  # an IP address in the URL, or a trusted name (aiohttp tries all)
        if pin.addresses[0] == self.address and len(pin.addresses) > 1:
            pin.addresses.pop(0)
        following = next((a for a in pin.addresses if a not in self.tried), None)
        if following is None or len(self.tried) >= DIAL_ADDRESSES:
            return False
        self.address = following
        self.tried.append(following)
        return True

    @contextlib.contextmanager
    def dialling(self) -> Iterator[None]:
        """While a connection is made: the resolver answers this request's address."""
        if self._pin is None or self.trusted or self.address is None:
            yield
            return
        token = _DIALLING.set((self._name, self.address))
        try:
            yield
        finally:
            _DIALLING.reset(token)

    @property
    def name_address(self) -> str | None:
        """The address this request's host name is dialled at (None: an IP address in
        the URL, or a trusted name): a connection to the name that went elsewhere is
        not to be reused for it."""
        return None if self._pin is None or self.trusted else self.address


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver: resolves, checks, and answers only the addresses it checked,
    which aiohttp then connects to (no second lookup). aiohttp does not ask it about IP
    literals in URLs: ``check_literal`` is for those. ``dial``: where a checked address
    is connected to (the address itself; a test plays a public host with a local
    server). ``timeout``: seconds a lookup may take (None: no limit of its own)."""

    def __init__(
        self,
        policy: HostPolicy,
        resolver: Resolver = system_resolver,
        dial: Dial | None = None,
        timeout: float | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._dial = dial
        self._timeout = timeout
        self._pins: dict[tuple[str, int], _Pin] = {}
        self._pruned = 0.0
        self._nat64: Nat64 = ()
        self._nat64_known = False  # a lookup for them has answered (``_learn_nat64``)
        self._nat64_until = 0.0  # when the NAT64 prefixes are asked again (``_learn_nat64``)
        self._nat64_lock: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def pinned(self, host: str, port: int) -> AsyncIterator[Pinned]:
        """For one request to ``host:port`` (as dialled), while it runs: the address it
        dials and the key of its server's slots (``Pinned``). A name is looked up once,
        and its requests dial the first address of that lookup (``_dial_order``) until
        connecting there fails; then the next (``Pinned.fall_back``), each on the
        slots of the address it dials: a hostile DNS answer listing a fresh dead address
        first each time reaches the one slow server on that server's slots. The lookup
        holds until nothing has used the name for longer than an idle connection is
        kept (``CONNECTION_KEEPALIVE``) or it is ``PIN_MAX_AGE`` old and unused. A kept
        connection to a name reaches the address it was made to: the fetcher reuses
        only those made to the request's own (``Pinned.name_address``), so the address
        counted is the address dialled, also after the name moved. ``FetchSkipped`` from the lookup (a
        private address, no answer), with ``//host:port`` as its URL."""
        trusted = self._policy.may_be_private(host, port)
        literal = literal_address(host)
        if literal is not None:  # aiohttp connects to it without asking the resolver
            nat64 = await self._learn_nat64([literal])  # (checked: ``check_literal``)
            yield Pinned(literal, trusted, nat64=nat64 or ())
            return
        key = (_normal_host(host), port)
        pin = await self._pin(key, host, port, trusted)
        pin.users += 1
        try:
            first = None if trusted else pin.addresses[0]
            yield Pinned(first, trusted, key, pin, [first] if first else [], self._nat64)
        finally:
            pin.users -= 1
            pin.last_used = time.monotonic()

    async def _pin(self, key: tuple[str, int], host: str, port: int, trusted: bool) -> _Pin:
        now = time.monotonic()
        if now - self._pruned > CONNECTION_KEEPALIVE:  # forget the names no longer used
            self._pruned = now
            # not one in use (its requests' address would change under them)
            for old in [k for k, p in self._pins.items() if self._unused(p, now)]:
                del self._pins[old]
        pin = self._pins.get(key)
        if pin is not None and self._current(pin, now):
            return pin
        addresses = await self._checked_addresses(host, port)
        # another request to the name may have pinned it meanwhile: one pin per name
        pin = self._pins.get(key)
        if pin is not None and self._current(pin, time.monotonic()):
            return pin
        if pin is not None and pin.users:  # old, and dialled now: kept until unused
            if pin.addresses[0] in addresses:
                pin.looked_up = time.monotonic()
            return pin
        # a trusted host keeps every address (no slots counted by them), to fall back on
        fresh = _Pin(
            addresses if trusted else _dial_order(addresses),
            looked_up=time.monotonic(),
            trusted=trusted,
        )
        self._pins[key] = fresh
        return fresh

    @staticmethod
    def _current(pin: _Pin, now: float) -> bool:
        if now - pin.looked_up > PIN_MAX_AGE:
            return False
        return pin.users > 0 or now - pin.last_used < CONNECTION_KEEPALIVE + 5

    @staticmethod
    def _unused(pin: _Pin, now: float) -> bool:
        return pin.users == 0 and now - pin.last_used >= CONNECTION_KEEPALIVE + 5

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results: list[ResolveResult] = []
        key = (_normal_host(host), port)
        dialling = _DIALLING.get()
        pin = self._pins.get(key)
        if dialling is not None and dialling[0] == key:  # a request's own address
            addresses = [dialling[1]]
        elif pin is not None and pin.users:  # the name's pin (``pinned``): no second lookup
            addresses = pin.addresses if pin.trusted else pin.addresses[:1]
        else:
            addresses = await self._checked_addresses(host, port)
        for address in addresses:
            to, to_port = self._dial(address, port) if self._dial else (address, port)
            results.append(
                {
                    "hostname": host,  # TLS: SNI and the certificate's name
                    "host": to,
                    "port": to_port,
                    "family": socket.AF_INET6 if ":" in to else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self) -> None:
        pass

    async def check_literal(self, host: str, port: int) -> None:
        """Refuse a URL whose host is a non-public IP address, in any of the forms the
        C library reads as one (``127.1``, ``2130706433``), unless it is allowed."""
        address = literal_address(host)
        if address is None or self._policy.may_be_private(host, port):
            return
        nat64 = await self._learn_nat64([address])
        if not is_public_address(address, nat64 or ()):
            raise _private(host, port, address)
        if nat64 is None and may_hide_private(address):
            raise _nat64_unknown(host, port, address)

    async def _learn_nat64(self, addresses: list[str]) -> Nat64 | None:
        """The network's NAT64 prefixes (RFC 7050: its DNS64's answer for
        ``NAT64_PROBE``, looked up with the same resolver), asked only when an IPv6
        address is to be judged, once an hour (after a failed lookup, in 5 minutes).
        None while no lookup has answered (the first failed): no prefix is known, so an
        IPv6 address a prefix could map to a private IPv4 host is not dialled
        (``may_hide_private``), and the lookup is asked again sooner (``NAT64_FIRST_RETRY``).
        An address in one is the IPv4 address inside it (``is_public_address``):
        behind a translator on a prefix of the network's own (``64:ff9b:1::/48``'s,
        or one in its public IPv6 space) a private IPv4 host is reached there too.

        Only an answer replaces them (no such name, or no IPv6 address, is one: no
        DNS64): a failed lookup keeps those last learned, or a DNS made slow, or every
        lookup thread taken by links to names that never answer, would make an address
        inside the prefix public again. Only the first lookup is waited for: while a
        later one runs, the others judge by those last learned."""
        known = self._nat64 if self._nat64_known else None
        if not any(":" in address for address in addresses):
            return known
        if time.monotonic() < self._nat64_until:
            return known
        if self._nat64_lock is None:
            self._nat64_lock = asyncio.Lock()
        if self._nat64_until and self._nat64_lock.locked():
            return known  # asked again now: meanwhile, those last learned
        async with self._nat64_lock:
            if time.monotonic() < self._nat64_until:
                return self._nat64 if self._nat64_known else None
            try:
                async with asyncio.timeout(self._timeout):
                    answers = await self._resolver(NAT64_PROBE, 0)
            except Exception as exc:
                if _dns_failed(exc):
                    # the DNS did not answer: those last learned hold, asked again sooner
                    log.info(
                        "NAT64 prefixes not learned (%s lookup failed): %r%s",
                        NAT64_PROBE,
                        exc,
                        ""
                        if self._nat64_known
                        else "; IPv6 addresses are not dialled until "
                        "it answers (one inside the network's prefix may be a private host's)",
                    )
                    retry = NAT64_RETRY if self._nat64_known else NAT64_FIRST_RETRY
                    self._nat64_until = time.monotonic() + retry
                    return self._nat64 if self._nat64_known else None
                answers = []  # no DNS64: the name has only its IPv4 addresses
            learned = nat64_prefixes(answers)
            if learned != self._nat64 or not self._nat64_known:
                said = ", ".join(map(str, learned)) or "none"
                log.info("NAT64 prefixes of this network (RFC 7050): %s", said)
            self._nat64, self._nat64_until = learned, time.monotonic() + NAT64_RELEARN
            self._nat64_known = True
            return learned

    async def _checked_addresses(self, host: str, port: int) -> list[str]:
        url = f"//{host}:{port}"
        try:
            # aiohttp goes on with a lookup its request gave up on (shared by the
            # requests to the host): this bounds it, and says what took the time
            async with asyncio.timeout(self._timeout):
                addresses = await self._resolver(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvableHost(url, f"cannot resolve host {host!r}: {exc}") from None
        except TimeoutError:
            raise UnresolvableHost(
                url, f"host {host!r} did not answer a name lookup within {self._timeout:g} s"
            ) from None
        if not addresses:
            raise UnresolvableHost(url, f"host {host!r} has no address")
        if self._policy.may_be_private(host, port):
            return addresses
        nat64 = await self._learn_nat64(addresses)
        public = [a for a in addresses if is_public_address(a, nat64 or ())]
        if nat64 is None:  # no prefix known yet: one may hide a private host
            unknown = [a for a in public if may_hide_private(a)]
            public = [a for a in public if a not in unknown]
            if not public and unknown:
                raise _nat64_unknown(host, port, unknown[0])
        if not public:
            raise _private(host, port, addresses[0])
        if len(public) < len(addresses):
            # Browsers (and the instance's image proxy) go on to the next address when
            # one does not answer, and show the public one's image: refusing the name
            # would leave that image unchecked. The others are never dialled.
            left_out = ", ".join(a for a in addresses if a not in public)
            log.info("host %r: its non-public addresses are not dialled: %s", host, left_out)
        return public


def _private(host: str, port: int, address: str) -> PrivateAddress:
    return PrivateAddress(
        f"//{host}:{port}",
        f"host {host!r} resolves to non-public address {address}; add it to the "
        "allowed hosts if it really is an image server you trust",
    )


def _dns_failed(exc: Exception) -> bool:
    """Whether a lookup's error says the DNS did not answer now (no answer in time, no
    lookup thread free, a gaierror other than "no such name"), not that the name has
    no address (any other error of a resolver: a mapping's KeyError, say)."""
    if isinstance(exc, socket.gaierror):
        return exc.errno not in _NO_SUCH_ADDRESS
    return isinstance(exc, (OSError, TimeoutError, UnresolvableHost))


def _nat64_unknown(host: str, port: int, address: str) -> UnresolvableHost:
    return UnresolvableHost(
        f"//{host}:{port}",
        f"host {host!r} is at IPv6 address {address}, which a NAT64 prefix of this "
        "network could map to a private IPv4 host, and the network's prefixes are not "
        f"known yet (its DNS has not answered {NAT64_PROBE}): not dialled until it does",
    )


def literal_address(host: str) -> str | None:
    """The IP address ``host`` is written as, or None for a name."""
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    # browsers drop one final dot, as from a name: 93.184.216.34. is that address
    if bare.endswith(".") and not bare.endswith(".."):
        bare = bare[:-1]
    try:  # the legacy IPv4 forms inet_aton accepts: 127.1, 0x7f.1, 2130706433
        return socket.inet_ntoa(socket.inet_aton(bare))
    except (OSError, ValueError):  # ValueError: a NUL, or a lone surrogate (not UTF-8)
        return None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetcher of the process: loading the CA
    bundle takes ~18 ms, and each pipeline, sweep and test made two."""
    return httpx.create_ssl_context(trust_env=False)
