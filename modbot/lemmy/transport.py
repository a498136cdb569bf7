"""The HTTP session with a Lemmy instance, whatever its API version: what every API
version's client (``modbot.lemmy.v3``, and the next) shares.

What it takes care of, because Lemmy does not tell you:
- login is rate-limited to a few per hour (it shares the `register` bucket), so the bot
  logs in once and keeps the token; it logs in again only when Lemmy says 401 or when
  the site stops showing the bot's own user (a dropped token is *silently* treated as
  anonymous on reads: the API version's ``check_session`` notices that); a login Lemmy
  refused (the password changed while the bot runs, the account banned or deleted) is
  not tried again for ``LOGIN_REFUSED_WAIT``: each request that needed it fails with the
  same error; a rate-limited login too (no retries seconds apart); so do logins after
  ``LOGIN_UNANSWERED`` sent without an answer (timed out, a 500: Lemmy counts each login
  it gets, answered or not); threads that find no token, or the same one dropped, log in
  once between them;
- 400 ``rate_limit_error`` (429 in v4), 5xx and timeouts are retried with exponential
  backoff, except an action the caller cannot tell was carried out when its answer did
  not come (``resend_unanswered``: 0.19's bans and removals); every request waits for
  the configured request-rate cap first; a ``Retry-After`` (a rate limit's or a 503's)
  is waited in full, and one longer than ``max_backoff`` fails the request at once and
  holds it back until then (``on_hold``: kept for the next process too, a `run --once`
  from cron); once the process's ``stop`` is set
  (SIGTERM), a request that would wait to be retried fails at once as ``STOPPING``;
- ``timeout`` is one deadline for the whole request (connect, TLS, sending, every read),
  not per read: a server trickling a byte every few seconds cannot hold a request
  longer. Requests of other libraries (pythorhead's actions) are sent through the same
  transport;
- an answer that is not what Lemmy sends (not JSON, an HTML page with status 200, an
  empty body from its API) is a
  ``LemmyBadAnswer``, never a traceback; so is a redirect, which is not followed (the
  token would go along) and whose empty body is no answer of Lemmy's;
- ``read_only=True`` (dry-run) refuses every mutating call before it leaves the process:
  the callers check first (``refuse_if_read_only``), and ``send`` refuses any that did
  not (every method but GET, HEAD and OPTIONS, and an upload's delete link; the login
  excepted, which changes nothing).
The token, the password and the pict-rs API key are never logged.

Every concern of the HTTP session in one place, shared by every API version.
"""

from __future__ import annotations

import json
import logging
import math
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from modbot import __version__
from modbot.config.settings import Secret
from modbot.errors import (
    LemmyBadAnswer,
    LemmyError,
    LemmyLoginError,
    LemmyUnavailable,
    ReadOnlyError,
)

__all__ = [
    "STOPPING",
    "USER_AGENT",
    "Held",
    "LoggedOut",
    "RateLimiter",
    "Transient",
    "Transport",
    "kind_of",
    "shown_url",
    "sleep_unless_stopped",
    "transient",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_DELETE_TOKEN = re.compile(r"(/pictrs/image/delete/)[^/\s\"']+")


_USERINFO = re.compile(r"(://)[^/\s\"'@]+@")


class _HideDeleteTokens(logging.Filter):
    """httpx logs every request's URL (at -v) whole: an upload's delete URL carries its
    token, and LEMMY_URL / PICTRS_URL may carry a password for basic auth."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        if "/pictrs/image/delete/" in hidden:
            hidden = _DELETE_TOKEN.sub(r"\1<delete-token>", hidden)
        if "@" in hidden:
            hidden = _USERINFO.sub(r"\1", hidden)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


logging.getLogger("httpx").addFilter(_HideDeleteTokens())

USER_AGENT = f"modbot/{__version__} (Lemmy automoderator)"
LOGIN_REFUSED_WAIT = 300.0  # seconds before a refused login is tried again
# Logins sent whose answer did not come (a timeout, a cut answer, a 500 or 504) before
# logins rest for LOGIN_REFUSED_WAIT: Lemmy counts each login it gets in its `register`
# bucket (1.0: 10 an hour per address, 0.19: 3), answered or not.
LOGIN_UNANSWERED = 2
# The most of one answer read into memory: Lemmy's largest (a page of 50 posts with
# their communities, /site with its languages and emojis) are well under 1 MiB.
MAX_ANSWER_BYTES = 16 * 2**20
# The longest Retry-After believed: Lemmy's longest bucket (import_user_settings) is a
# day; a larger one (a broken proxy's) would hold an action back until a restart.
RETRY_AFTER_MAX = 86400.0
# The error code of a request given up on because modbot is stopping (not Lemmy's)
STOPPING = "stopping"


# A kept hold ending within this of one this process has is that one, read back (its
# end, written in wall-clock time and read into monotonic time, moves by microseconds)
SAME_HOLD_S = 1.0


def same_hold(until: float, other: float) -> bool:
    """Whether two holds' ends (monotonic) are one hold's, read back or raised again."""
    return abs(until - other) <= SAME_HOLD_S


def _saved_holds(saved: str | None) -> tuple[dict[str, Any], Any]:
    """The holds a state keeps (``Transport.holds()``'s JSON): its requests' entries and
    its login's; none of them when it cannot be read."""
    try:
        held = json.loads(saved or "{}")
    except (ValueError, RecursionError):
        return {}, None
    if not isinstance(held, dict):
        return {}, None
    requests = held.get("requests")
    return (requests if isinstance(requests, dict) else {}), held.get("login")


def _ends_later(until: float, than: float | None) -> bool:
    """Whether a hold ending at ``until`` is to replace one ending at ``than`` (None: no
    hold): the later end wins, unless both are one hold (``same_hold``), which stays."""
    return than is None or than < until - SAME_HOLD_S


class Transient(Exception):
    """Worth retrying (rate limit, 5xx, timeout, connection error). ``code``: the error
    code of Lemmy's own JSON error body (any rate limit: ``rate_limit_error``), None for
    an answer that did not come from Lemmy (a proxy's page, a timeout, a cut connection)."""

    def __init__(
        self,
        why: str,
        retry_after: float | None = None,
        code: str | None = None,
        *,
        unanswered: bool = True,
        status: int | None = None,
    ) -> None:
        super().__init__(why)
        self.retry_after, self.code = retry_after, code
        self.status = status  # the HTTP status, when there was an answer
        # Lemmy may have carried the request out (a timeout after it was sent, a cut
        # answer, a 500 or 504): False when it did not (refused as rate limited, a
        # proxy's 502 or 503, or the connection never opened)
        self.unanswered = unanswered


class Held(LemmyUnavailable):
    """A request (the login among them) that Lemmy, or pict-rs, asked to wait for: not
    sent, or refused, before ``until`` (``time.monotonic()``): a rate-limited login, or a
    ``Retry-After`` longer than a request waits. Passing, as any ``LemmyUnavailable``;
    the daemon's start waits it out (``left``) rather than exit into a restart loop."""

    def __init__(
        self, message: str, *, until: float, status: int | None = None, error: str | None = None
    ) -> None:
        super().__init__(message, status=status, error=error)
        self.until = until

    def left(self) -> float:
        """The seconds before it may be sent again (0 once that time has come)."""
        return max(0.0, self.until - time.monotonic())


def _kept_hold(refusal: LemmyError) -> bool:
    """Whether a login's refusal is kept for the next process (``holds``): a login refused
    for its rate, or logins resting after ones Lemmy may have counted unanswered (both
    ``Held``), not a wrong password (the admin who fixes it expects the next run to log in)."""
    return refusal.error == "rate_limit_error" or isinstance(refusal, Held)


class LoggedOut(Exception):
    """Lemmy answered 401, the token is gone. ``code`` as ``Transient``'s."""

    def __init__(self, code: str | None = None) -> None:
        super().__init__(code or "401")
        self.code = code


class RateLimiter:
    """Spaces requests evenly so the bot stays under ``per_minute`` (0 = no cap)."""

    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute and per_minute > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            self._sleep(delay)


# The longest a main thread's pause sleeps before it looks at its stop event again.
_STOP_LOOK = 0.1


def sleep_unless_stopped(stop: threading.Event, seconds: float) -> bool:
    """Sleep ``seconds``, or until ``stop`` is set; whether it is set.

    On the main thread not ``stop.wait()``: the handler of SIGTERM and Ctrl-C sets
    ``stop`` in that very thread, and one landing while ``wait()`` holds the Event's
    lock (not reentrant) blocks in ``set()`` forever. There it sleeps in short slices,
    holding no lock, and looks at the flag between them (``is_set`` takes no lock)."""
    if threading.current_thread() is not threading.main_thread():
        return stop.wait(seconds)
    end = time.monotonic() + seconds
    while not stop.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, _STOP_LOOK))
    return True


def retry_after(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait: delta-seconds (with a fraction,
    as some proxies send), or an HTTP date; None when there is none or it is unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, says RFC 5322
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):  # "nan", "inf"
        return None
    return min(max(0.0, seconds), RETRY_AFTER_MAX)


def transient(status: int, headers: httpx.Headers, code: str | None = None) -> Transient | None:
    """The ``Transient`` an answer with ``status`` is, when it is worth retrying (None
    otherwise): a rate limit (429, or 0.19's 400 ``rate_limit_error``: ``code``, the error
    of Lemmy's JSON body) or a 5xx, with the ``Retry-After`` to wait. One reading for
    every request: Lemmy's API and the image checks alike."""
    if status == 429 or code == "rate_limit_error":
        return Transient(
            "rate limited",
            retry_after(headers.get("Retry-After")),
            code="rate_limit_error",
            unanswered=False,  # refused before it was carried out
            status=status,
        )
    if status >= 500:
        # 502 and 503 are a proxy's: Lemmy could not be reached (connection refused,
        # marked down, nginx's limit_req); 500 and 504 may come after Lemmy acted.
        # A 503's Retry-After (a proxy in maintenance, RFC 9110) is a rate limit's.
        return Transient(
            f"HTTP {status}",
            retry_after(headers.get("Retry-After")) if status == 503 else None,
            code=code,
            unanswered=status not in (502, 503),
            status=status,
        )
    return None


def _again_in(seconds: float) -> str:
    """When a rate-limited Lemmy takes requests again, for a human."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return f"in {seconds:.0f} s, at {when:%Y-%m-%d %H:%M:%S} UTC (its Retry-After)"


def _server(what: str) -> str:
    """Who refused the request ``what`` names, for its error: pict-rs' internal API
    (PICTRS_URL, its own port and proxy) is not Lemmy."""
    return "pict-rs" if what.startswith("pict-rs ") else "Lemmy"


def _changes(method: str, url: str) -> bool:
    """Whether a request may change something on Lemmy or pict-rs: every method but a
    read's (a login too: the caller tells it apart), and an upload's delete link, a GET."""
    return method.upper() not in ("GET", "HEAD", "OPTIONS") or "/pictrs/image/delete/" in url


def _text(content: bytes, r: httpx.Response) -> str:
    """``content`` (``r``'s body) as text, as ``Response.text`` decodes it: its charset
    when httpx knows it, else UTF-8, with what is not valid replaced."""
    return content.decode(r.encoding or "utf-8", errors="replace")


def _error_code(body: Any) -> str | None:
    """The error code of Lemmy's JSON error body (``{"error": "..."}``), if it is one."""
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code else None


class _Deadline(httpcore.NetworkBackend):
    """httpcore's network backend with one deadline per request (per calling thread).

    httpx's timeouts apply to each connect, read or write on its own, so a server that
    sends a byte every few seconds holds a request forever. Here every network wait is
    cut to the time left before the deadline set by ``within()``, and one that starts
    after it fails at once: the whole request ends by then, whatever the server does.
    """

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner
        self._local = threading.local()

    @classmethod
    def install(cls, client: httpx.Client) -> _Deadline:
        """Put one deadline backend under every transport of ``client`` (proxies too)."""
        backend: _Deadline | None = None
        for transport in [client._transport, *client._mounts.values()]:
            if transport is None:  # a NO_PROXY mount: the default transport serves it
                continue
            pool = getattr(transport, "_pool", None)
            if pool is None or not hasattr(pool, "_network_backend"):
                raise RuntimeError("httpx/httpcore changed: cannot bound Lemmy requests in time")
            backend = backend or cls(pool._network_backend)
            pool._network_backend = backend
        assert backend is not None
        return backend

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        before = getattr(self._local, "deadline", None)
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.deadline = before

    def left(self, timeout: float | None, error: type[Exception]) -> float | None:
        deadline = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            timeout=self.left(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, timeout=self.left(timeout, httpcore.ConnectTimeout), socket_options=socket_options
        )
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: _Deadline) -> None:
        self._inner, self._backend = inner, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(
            ssl_context, server_hostname, self._backend.left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def shown_url(url: str) -> str:
    """``url`` fit for a log line or a message: without the user and password that basic
    auth in front of Lemmy or pict-rs puts in LEMMY_URL / PICTRS_URL (user:pass@host)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        if not parts.netloc and "@" in url and not url.startswith("/"):
            # no `scheme://` (`bot:pass@host`, `https//bot:pass@host`): no netloc to
            # take the login from, so all up to the last `@` goes
            return url.rpartition("@")[2]
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


class Transport:
    """One bot account's HTTP session with one Lemmy instance: what an API version's
    client builds on (it names its ``API`` prefix and ``LOGIN`` path). Synchronous; safe
    to share between threads."""

    API: ClassVar[str] = ""  # the API version's prefix, e.g. "/api/v3"
    LOGIN: ClassVar[str] = "/user/login"  # under API: POST {username_or_email, password}
    LOGIN_FIELDS: ClassVar[dict[str, Any]] = {}  # more fields of the login (v4: stay_logged_in)

    def __init__(
        self,
        url: str,
        username: str,
        password: Secret,
        *,
        requests_per_minute: float = 120,
        timeout: float = 20.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        read_only: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.shown = shown_url(self.url)  # for logs and messages: no password in it
        # ``user:password@`` in LEMMY_URL: the basic-auth login of a proxy in front of
        # Lemmy, which httpx sends as ``Authorization: Basic``. The bot's own token then
        # goes in the ``jwt`` cookie, which Lemmy (0.19 and 1.0) reads when that header
        # holds no Bearer token (``read_auth_token``): both reach where they belong.
        parts = urlsplit(self.url)
        self._proxy_login = bool(parts.username or parts.password)
        self.username = username
        self._password = password
        self.timeout = timeout
        self.retries = retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.read_only = read_only
        self._sleep = sleep
        # The process's stop event (SIGTERM, Ctrl-C): set, it ends a retry's wait, and
        # the request fails as stopping (``STOPPING``) instead of waiting out backoffs
        # and Retry-Afters past a container's stop timeout. Set after building too.
        self.stop = stop
        # ``limiter``: another transport's, when both speak to the same instance (the
        # version question, then the client): one cap for all their requests.
        self.limiter = limiter or RateLimiter(requests_per_minute, sleep=sleep)
        self.http = httpx.Client(timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT})
        self._deadline = _Deadline.install(self.http)
        self._token: Secret | None = None
        # tokens Lemmy said are gone (a 401, an anonymous /site): not sent again, nor
        # taken up again from the state
        self._dropped_tokens: set[str] = set()
        self._lock = threading.RLock()
        self.requests = 0  # every HTTP request sent, retries and logins included
        self.logins = 0
        # A login Lemmy refused, when (monotonic), and for how long it is not tried
        # again: LOGIN_REFUSED_WAIT, or a rate-limited login's longer Retry-After. A
        # rate-limited login too (LemmyUnavailable: the action is tried again later).
        self._refused: tuple[float, float, LemmyError] | None = None
        # A request Lemmy refused with a Retry-After longer than a request waits, by
        # ``what``: (monotonic time before which it is not sent again, since when, why:
        # "rate limited", "HTTP 503")
        self._not_before: dict[str, tuple[float, float, str]] = {}
        # Called with each new token, so it can be kept for the next run (see restore_token).
        self.on_login: Callable[[str], None] | None = None
        # Called with ``holds()`` each time a hold is added, so the next process keeps
        # it too (see ``restore_holds``).
        self.on_hold: Callable[[str], None] | None = None
        # The holds kept in the state now (any process's), taken up before each login
        self.kept_holds: Callable[[], str | None] | None = None
        # The token kept in the state now (any process's, ``on_login``'s): a login
        # Lemmy dropped takes it up first when another process logged in since.
        self.kept_token: Callable[[], str | None] | None = None

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.shown!r}, user={self.username!r}, read_only={self.read_only})"

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ plumbing
    def retrying(
        self,
        what: str,
        attempt_once: Callable[[], T],
        *,
        auth: bool,
        resend_unanswered: bool = True,
    ) -> T:
        """Run one request with retries on transient errors and one re-login on 401.
        ``attempt_once`` raises ``Transient`` (retried) or ``LoggedOut`` (log in again).
        ``resend_unanswered`` False: an attempt Lemmy may have carried out without
        saying so (a timeout, a cut answer, a 5xx) is not sent again: an action Lemmy
        cannot tell was done twice (a second ban or removal line in the modlog, a timed
        ban counted from the resend) is left to the executor, which looks on Lemmy
        whether it was done before it sends it again (the next cycle)."""
        relogged = False
        attempt = 0
        server = _server(what)
        with self._lock:
            held = self._not_before.get(what)
            if held is not None and held[0] <= time.monotonic():
                del self._not_before[what]
                held = None
        if held is not None:
            # Lemmy said when it takes this again (the next cycle's try of an action,
            # another thread's): sent earlier, it is only refused again.
            now = time.monotonic()
            raise Held(
                f"{what}: {held[2]}: {server} takes requests again {_again_in(held[0] - now)}"
                f"; not sent before then (said {now - held[1]:.0f} s ago): a later cycle "
                "tries it",
                until=held[0],
                error="rate_limit_error",
            )
        while True:
            self.limiter.wait()
            with self._lock:
                self.requests += 1
                sent_with = self._token  # what a 401 says is dropped (see ``login``)
            try:
                return attempt_once()
            except Transient as exc:
                if exc.unanswered and not resend_unanswered:
                    raise LemmyUnavailable(
                        f"{what}: {exc}; not sent again, since Lemmy may have carried it "
                        "out: the next cycle looks on Lemmy whether it did",
                        error=exc.code,
                        status=exc.status,
                    ) from None
                if exc.retry_after is not None and exc.retry_after > self.max_backoff:
                    # Retried at max_backoff it would only be refused again (and again,
                    # for each action): fail now, and hold it back until then.
                    now = time.monotonic()
                    with self._lock:
                        self._not_before[what] = (now + exc.retry_after, now, str(exc))
                    self._held_more()
                    raise Held(
                        f"{what}: {exc}: {server} takes requests again "
                        f"{_again_in(exc.retry_after)}, longer than a request waits "
                        f"({self.max_backoff:g} s); not sent before then: a later cycle tries it",
                        until=now + exc.retry_after,
                        error=exc.code,
                        status=exc.status,
                    ) from None
                attempt += 1
                if attempt > self.retries:
                    raise LemmyUnavailable(
                        f"{what}: still failing after {self.retries} retries ({exc}); is "
                        "Lemmy up and the request rate (lemmy.requests_per_minute) low enough?",
                        error=exc.code,
                        status=exc.status,
                    ) from None
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                if exc.retry_after is not None:  # within max_backoff (see above)
                    delay = max(delay, exc.retry_after)
                if self.stop is not None and self.stop.is_set():
                    raise self._stopping(what, exc) from None
                log.warning("%s: %s; retry %d/%d in %.1fs", what, exc, attempt, self.retries, delay)
                if self.stop is None:
                    self._sleep(delay)
                elif sleep_unless_stopped(self.stop, delay):
                    raise self._stopping(what, exc) from None
            except LoggedOut as exc:
                if not auth:
                    # Sent without the login (an anonymous read, nodeinfo, pict-rs): no
                    # token was dropped, and logging in would not change the answer.
                    raise LemmyLoginError(
                        f"{what}: Lemmy answered 401 ({exc.code}) to a request sent without "
                        "the login; is LEMMY_URL the Lemmy instance?"
                        if exc.code
                        else f"{what}: HTTP 401 to a request sent without the login, and "
                        "without Lemmy's error in it, so not Lemmy's answer: a proxy in front "
                        f"of Lemmy {self._proxy_ask()}",
                        status=401,
                        error=exc.code,
                    ) from None
                if relogged:
                    raise LemmyLoginError(
                        f"{what}: Lemmy answered 401 {exc.code or 'without its error in it'} "
                        "even after logging in again; check LEMMY_USERNAME/LEMMY_PASSWORD and "
                        "that the account is not banned",
                        status=401,
                        error=exc.code,
                    ) from None
                if not self.login(dropped=sent_with, what=what):
                    relogged = True  # a token taken up from the state may be dropped too

    @staticmethod
    def _stopping(what: str, exc: Transient) -> LemmyUnavailable:
        """A request given up on, not retried, because modbot is stopping: passing, as
        any LemmyUnavailable (an action is tried again by a later run, a page read
        again); no refusal of Lemmy's is kept (no login held back, no Retry-After)."""
        return LemmyUnavailable(
            f"{what}: {exc}; not retried: modbot is stopping (a later run tries it again)",
            error=STOPPING,
        )

    def send(self, method: str, url: str, *, auth: bool, **kwargs: Any) -> dict[str, Any]:
        """One attempt at a request; Lemmy's answer as a JSON object, or the error it is."""
        if self.read_only and _changes(method, url) and url != f"{self.url}{self.API}{self.LOGIN}":
            # Requests go through here: a dry run sends nothing that changes anything
            # even where a caller forgot ``refuse_if_read_only``.
            shown = _DELETE_TOKEN.sub(r"\1<delete-token>", self._request(method, url))
            raise ReadOnlyError(f"{shown} refused: this client is read-only (dry-run)")
        headers = kwargs.pop("headers", {})
        if auth and self._token and self._proxy_login:
            headers["Cookie"] = f"jwt={self._token.reveal()}"
        elif auth and self._token:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        try:
            with (
                self._deadline.within(self.timeout),
                self.http.stream(method, url, headers=headers, **kwargs) as r,
            ):
                content = self._read_bounded(method, url, r)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # no connection: the request never reached Lemmy
            raise Transient(f"connection error: {type(exc).__name__}", unanswered=False) from None
        except httpx.TimeoutException:
            raise Transient(
                f"timed out (no whole answer within lemmy.timeout, {self.timeout:g} s)"
            ) from None
        except httpx.TransportError as exc:
            raise Transient(f"connection error: {type(exc).__name__}") from None
        except httpx.DecodingError:
            raise LemmyBadAnswer(
                f"{self._request(method, url)}: an answer whose body is not "
                "what its Content-Encoding says (gzip, br...); is LEMMY_URL the Lemmy API, "
                "not a proxy that mangles answers?",
                error="bad_answer",
            ) from None
        except httpx.TooManyRedirects:
            raise LemmyBadAnswer(
                f"{self._request(method, url)}: it redirects too many "
                "times (a loop?); is LEMMY_URL the Lemmy instance's address?",
                error="bad_answer",
            ) from None
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            body = None
        code = _error_code(body)
        passing = transient(r.status_code, r.headers, code)
        if passing is not None:
            raise passing
        if r.status_code == 401:
            raise LoggedOut(code)
        if r.status_code >= 400:
            detail = code or _text(content, r)[:200]
            said = body.get("message") if isinstance(body, dict) else None
            if code == "unknown" and isinstance(said, str) and said:
                detail += f" ({said[:200]})"  # 0.19's "unknown" says what only here
            raise LemmyError(
                f"{self._request(method, url)}: HTTP {r.status_code} {detail}",
                status=r.status_code,
                error=code,
            )
        if r.is_redirect:
            raise self._redirected(method, url, r)
        if body is None and content.strip():
            kind = r.headers.get("content-type", "no content type").split(";")[0]
            raise LemmyBadAnswer(
                f"{self._request(method, url)}: HTTP {r.status_code} but not JSON "
                f"({kind}: {_text(content, r)[:60].strip()!r}...); is LEMMY_URL the Lemmy "
                "API, not a proxy's or another site's page?",
                status=r.status_code,
                error="bad_answer",
            )
        if body is None and url.startswith(f"{self.url}/api/"):
            # Every route of Lemmy's API answers JSON: an empty body is a proxy's or a
            # cache's (read as {}, a /site without my_user spent a login at every check,
            # and an action would read as done)
            raise LemmyBadAnswer(
                f"{self._request(method, url)}: HTTP {r.status_code} with an empty body, "
                "which Lemmy never answers; is LEMMY_URL the Lemmy API, not a proxy or "
                "cache in front of it that answers for it?",
                status=r.status_code,
                error="bad_answer",
            )
        if body is not None and not isinstance(body, dict):
            raise LemmyBadAnswer(
                f"{self._request(method, url)}: HTTP {r.status_code} with JSON "
                f"that is {kind_of(body)}, not an object as Lemmy sends",
                status=r.status_code,
                error="bad_answer",
            )
        return body if body is not None else {}

    def _request(self, method: str, url: str) -> str:
        """A request as its errors name it: the method and the path, no secret in it."""
        return f"{method} {shown_url(url.replace(self.url, ''))}"

    def _read_bounded(self, method: str, url: str, r: httpx.Response) -> bytes:
        """``r``'s body, read up to ``MAX_ANSWER_BYTES`` (decoded): a hostile or broken
        answer of gigabytes is cut off there, not read whole into memory. (httpx has no
        bound of its own: ``read()`` takes it all; so the answer is read from these bytes,
        not from ``r.json()`` or ``r.text``.)"""
        chunks, size = [], 0
        for chunk in r.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise LemmyBadAnswer(
                    f"{self._request(method, url)}: HTTP {r.status_code} "
                    f"with an answer larger than {MAX_ANSWER_BYTES // 2**20} MiB, far more "
                    "than Lemmy sends; not read further. Is LEMMY_URL the Lemmy API, not a "
                    "proxy's or another site's?",
                    status=r.status_code,
                    error="bad_answer",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _redirected(self, method: str, url: str, r: httpx.Response) -> LemmyBadAnswer:
        """A redirect, not followed: the login would go along (to another host, maybe),
        and a redirected POST may arrive as a GET or not at all. Its empty body is no
        answer of Lemmy's (a login without a token, an action seemingly done)."""
        where = urljoin(url, r.headers.get("location", "")).split("?")[0].split("#")[0]
        rest = url[len(self.url) :] if url.startswith(self.url) else None
        if rest is not None and where != url and where.endswith(rest):
            fix = f"set LEMMY_URL to {shown_url(where[: len(where) - len(rest)] or where)}"
        elif rest is not None:
            fix = "set LEMMY_URL to the address Lemmy answers at itself"
        else:
            fix = "give the address it redirects to"
        return LemmyBadAnswer(
            f"{self._request(method, url)}: HTTP {r.status_code}, it "
            f"redirects to {shown_url(where)}: {fix} (modbot follows no redirects: its login "
            "would go along)",
            status=r.status_code,
            error="bad_answer",
        )

    # ``read_visitor_first``: reads go without the login until Lemmy says the instance
    # is private; and whether a dry run said once that a logged-in read marks a post
    _read_posts_anonymously = True
    _said_read_mark = False

    def read_visitor_first(
        self,
        path: str,
        params: dict[str, Any],
        *,
        hidden: Callable[[LemmyError], bool],
        dry_run_note: str,
    ) -> dict[str, Any]:
        """``GET path`` without the login first (Lemmy marks a post read for a
        logged-in reader, a change on the instance); logged in only when a visitor is
        not shown it (``hidden(error)``), or every visitor's read fails
        (``instance_is_private``, remembered). A read-only client (a dry run) says
        ``dry_run_note`` once when it reads logged in."""
        if self._read_posts_anonymously:
            try:
                return self.api("GET", path, auth=False, params=params)
            except LemmyUnavailable:
                raise
            except LemmyError as exc:
                if exc.error == "instance_is_private":
                    self._read_posts_anonymously = False  # every visitor's read fails
                elif not hidden(exc):
                    raise
        if self.read_only and not self._said_read_mark:
            self._said_read_mark = True
            log.warning("%s", dry_run_note)
        return self.api("GET", path, params=params)

    def api(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> dict[str, Any]:
        """A request to ``API + path``, with retries; refused in a read-only client unless
        it is a GET."""
        if method != "GET" and self.read_only:
            raise ReadOnlyError(f"{method} {path} refused: this client is read-only (dry-run)")
        if auth:
            self._login_first()
        url = f"{self.url}{self.API}{path}"
        return self.retrying(
            f"{method} {path}", lambda: self.send(method, url, auth=auth, **kwargs), auth=auth
        )

    def _proxy_ask(self) -> str:
        """What a 401 without Lemmy's error in it (a proxy's) asks the admin to do."""
        if self._proxy_login:
            return "refused the user and password written in LEMMY_URL: check them"
        return (
            "asks for a login of its own: write it in LEMMY_URL "
            "(https://user:password@host), or point LEMMY_URL at Lemmy past that proxy"
        )

    def refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{what} refused: this client is read-only (dry-run)")

    def token(self) -> Secret:
        """The login token (logging in first when there is none)."""
        self._login_first()
        assert self._token is not None
        return self._token

    def _login_first(self) -> None:
        """Before a request that needs the login: log in when there is no token, or when
        Lemmy said the one held is gone and no login replaced it yet (the login held
        back for its rate, Lemmy down): sent with it, the request would only be answered
        as logged out, each cycle, while the hold says nothing is sent (a held login
        raises its ``Held`` here, before anything is sent)."""
        token = self._token
        if token is None:
            self.login(missing=True)
        elif token.reveal() in self._dropped_tokens:
            self.login(dropped=token)

    # ------------------------------------------------------------------ session
    @property
    def logged_in(self) -> bool:
        return self._token is not None

    def login(
        self,
        *,
        dropped: Secret | None = None,
        what: str = "",
        missing: bool = False,
        why: str = "",
    ) -> bool:
        """Log in and keep the token. Lemmy allows only a few logins an hour: call rarely.
        ``dropped``: the token a request (``what``) was answered 401 with; when another
        thread has logged in again since (both of them refused at once), its token is
        taken, not another login spent. ``missing``: called because there was no token
        yet; one another thread got meanwhile is taken as well. ``why``: what found the
        login gone (a session check), said with "logging in again" when a login goes.
        True when no login went because a token another process kept in the state
        (``kept_token``) was taken up instead of ``dropped``."""
        if self.kept_holds is not None:
            # holds other processes on the state kept since this one started (the gate's
            # login refused for its rate): Lemmy counts a login sent inside its window
            try:
                self.restore_holds(self.kept_holds())
            except Exception as exc:  # a state that cannot be read now: as without it
                log.debug("the holds kept in the state not read: %s", exc)
        try:
            return self._login(dropped=dropped, what=what, missing=missing, why=why)
        except LemmyError as exc:
            refused = self._refused
            if refused is not None and refused[2] is exc and _kept_hold(exc):
                self._held_more()  # a new hold (not one already held), out of the lock
            raise

    def _kept_elsewhere(self, dropped: Secret) -> str | None:
        """The token the state keeps, when another process wrote one since ``dropped``
        (not the one Lemmy dropped, nor one taken up and dropped already)."""
        if self.kept_token is None:
            return None
        try:
            kept = self.kept_token()
        except Exception as exc:  # a state that cannot be read now: as without it
            log.debug("the token kept in the state not read: %s", exc)
            return None
        if not kept or kept == dropped.reveal() or kept in self._dropped_tokens:
            return None
        return kept

    def _login(self, *, dropped: Secret | None, what: str, missing: bool, why: str) -> bool:
        payload = {
            "username_or_email": self.username,
            "password": self._password.reveal(),
            **self.LOGIN_FIELDS,
        }
        url = f"{self.url}{self.API}{self.LOGIN}"
        wait = LOGIN_REFUSED_WAIT  # before a refused login is tried again
        unanswered = 0  # logins sent that Lemmy may have counted without answering
        spent: LemmyUnavailable | None = None  # the error that ended them

        def once() -> dict[str, Any]:
            nonlocal wait, unanswered, spent
            try:
                return self.send("POST", url, auth=False, json=payload)
            except Transient as exc:
                if exc.code != "rate_limit_error" and exc.unanswered:
                    # Not the retry layer's five resends: each may have been counted (a
                    # slow spell would spend the hour's logins), and so would each
                    # action's own login after it: they rest, as after a refusal.
                    unanswered += 1
                    if unanswered >= LOGIN_UNANSWERED:
                        # a Held, kept in the state as a rate-limited login is: a `run
                        # --once` from cron each minute would send two more each run
                        spent = Held(
                            f"login as {self.username!r} failed: {exc}, {unanswered} times; "
                            f"no login is sent for {wait:.0f} s: Lemmy may have counted "
                            "each (it takes only a few logins an hour from one address, "
                            "answered or not). Is Lemmy up, and not overloaded?",
                            until=time.monotonic() + wait,
                            status=exc.status,
                            error=exc.code,
                        )
                        raise spent from None
                if exc.code != "rate_limit_error":
                    raise
                # The login's own bucket (a few an hour per address) refills in minutes,
                # not seconds: a retry in seconds is refused too, and spends nothing useful;
                # nor one before the time Lemmy says (1.0's Retry-After, up to an hour).
                when = f"; modbot tries again in {wait:.0f} s at the earliest"
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                    when = f"; it takes them again {_again_in(exc.retry_after)}"
                # What to do: Lemmy's limit is per address, so a restart (or a restart
                # loop, or cron) makes it no sooner; what spends the logins is the cause.
                raise Held(
                    f"login as {self.username!r}: Lemmy refuses logins for now "
                    "(rate_limit_error): it takes only a few logins an hour from one "
                    f"address{when}. Nothing to do but wait: restarting modbot makes it "
                    "no sooner. If it recurs, something spends the logins: a restart loop, "
                    "another client logging in from this address, or a login Lemmy keeps "
                    "dropping (each 'logging in again' in the log); Lemmy's `register` rate "
                    "limit (its admin settings) sets how many",
                    until=time.monotonic() + wait,
                    error="rate_limit_error",
                ) from None
            except LoggedOut as exc:
                if exc.code is None:  # no Lemmy error in it: not Lemmy's answer
                    raise LemmyLoginError(
                        f"login as {self.username!r}: HTTP 401 without Lemmy's error in it, "
                        f"so not Lemmy's answer: a proxy in front of Lemmy {self._proxy_ask()}"
                        "; and check that LEMMY_URL is the Lemmy instance",
                        status=401,
                    ) from None
                raise LemmyLoginError(
                    f"login as {self.username!r} refused (incorrect_login): check "
                    "LEMMY_USERNAME and LEMMY_PASSWORD",
                    status=401,
                    error="incorrect_login",
                ) from None

        with self._lock:
            if missing and self._token is not None:
                return False  # two threads without a token yet: the first one's login serves both
            if dropped is not None and self._token is not None and self._token is not dropped:
                log.info("%s: the login was dropped (401); logged in again already", what)
                return False
            if dropped is not None:
                # Another process on the state (the gate, a `run --once`) may have logged
                # in again already: its token spares one of the few logins Lemmy takes an
                # hour, and is usable even while this process's login is held.
                self._dropped_tokens.add(dropped.reveal())
                if (kept := self._kept_elsewhere(dropped)) is not None:
                    self._token = Secret(kept)
                    log.info(
                        "%s: the login was dropped; took up the login another modbot "
                        "process on the state made since",
                        what or why,
                    )
                    return True
            refused = self._refused
            if refused is not None and time.monotonic() - refused[0] < refused[1]:
                # The password changed while the bot runs, or logins are rate-limited:
                # every action of a cycle would try its own login, and Lemmy allows
                # only a few an hour.
                left = refused[0] + refused[1] - time.monotonic()
                when = datetime.now(UTC) + timedelta(seconds=left)
                said = (
                    f"{refused[2]} (said {time.monotonic() - refused[0]:.0f} s ago; no login "
                    f"is sent before {when:%Y-%m-%d %H:%M:%S} UTC, in {left:.0f} s)"
                )
                if _kept_hold(refused[2]):
                    raise Held(
                        said,
                        until=refused[0] + refused[1],
                        status=refused[2].status,
                        error=refused[2].error,
                    )
                raise type(refused[2])(said, status=refused[2].status, error=refused[2].error)
            # (said only when a login goes: held, every request and check would say it)
            if what:
                log.warning("%s: the login was dropped (401); logging in again", what)
            elif why:
                log.warning("%s; logging in again", why)
            try:
                body = self.retrying("login", once, auth=False)
            except LemmyError as exc:
                if isinstance(exc, LemmyLoginError) or exc is spent:
                    self._refused = (time.monotonic(), wait, exc)
                    raise
                if exc.error == "rate_limit_error":  # said in full by ``once``
                    self._refused = (time.monotonic(), wait, exc)
                    raise
                if isinstance(exc, LemmyUnavailable):
                    # Lemmy down: a passing failure (an action is tried again).
                    raise LemmyUnavailable(
                        f"login as {self.username!r} failed: {exc}",
                        status=exc.status,
                        error=exc.error,
                    ) from None
                refusal = LemmyLoginError(
                    f"login as {self.username!r} failed: {exc}", status=exc.status, error=exc.error
                )
                if exc.error:
                    # Lemmy's own 400 refusing this account (site_ban, deleted,
                    # email_not_verified, missing_totp_token): as lasting as a wrong
                    # password, so not tried again by every action of the cycle either
                    refusal = LemmyLoginError(
                        f"login as {self.username!r} refused ({exc.error}): Lemmy will not "
                        "let this account log in; `modbot doctor` says what to do",
                        status=exc.status,
                        error=exc.error,
                    )
                    self._refused = (time.monotonic(), wait, refusal)
                raise refusal from None
            jwt = body.get("jwt")
            if not jwt:
                raise LemmyLoginError(
                    f"login as {self.username!r} returned no token (email not verified or "
                    "registration not approved?)"
                )
            self._token = Secret(jwt)
            self._refused = None
            self.logins += 1
        log.info("logged in to %s as %s", self.shown, self.username)
        if self.on_login is not None:
            self.on_login(jwt)
        return False

    def restore_token(self, jwt: str) -> None:
        """Use a token kept from an earlier run instead of logging in (logins are scarce).
        Check the session next: a stale token is silently anonymous on reads."""
        with self._lock:
            self._token = Secret(jwt)

    def holds(self) -> str:
        """What this process holds back (a rate-limited login, requests refused with a
        long ``Retry-After``) and until when, as JSON in wall-clock time: for
        ``restore_holds`` in the next process. Lemmy's rate limits are per address, not
        per process: a `run --once` from cron each minute would otherwise send the same
        refused request at every run (and a proxy counting refusals may ban the address).
        A refused password is not kept: the admin who fixes it expects the next run to
        log in."""
        now, wall = time.monotonic(), time.time()

        def entry(since: float, until: float, why: str, **more: Any) -> dict[str, Any]:
            return {
                "since": wall - (now - since),
                "until": wall + (until - now),
                "why": why,
                **more,
            }

        with self._lock:
            held: dict[str, Any] = {
                "requests": {
                    what: entry(since, until, why)
                    for what, (until, since, why) in self._not_before.items()
                    if until > now
                }
            }
            refused = self._refused
            if refused is not None and _kept_hold(refused[2]) and refused[0] + refused[1] > now:
                # what it is, kept: a rest after unanswered logins is no rate limit
                # (its code is the timeout's or the 5xx's), and reads back as itself
                held["login"] = entry(
                    refused[0],
                    refused[0] + refused[1],
                    str(refused[2]),
                    error=refused[2].error,
                    status=refused[2].status,
                )
        return json.dumps(held)

    def restore_holds(self, saved: str | None) -> None:
        """Take up the holds an earlier process kept (``holds()``) that have not ended;
        one that cannot be read is no hold (the request is sent, as without it). A hold
        this process has that ends later is kept."""
        requests, login = _saved_holds(saved)
        now, wall = time.monotonic(), time.time()

        def read(entry: Any) -> tuple[float, float, str] | None:
            """(since, until) in this process's monotonic time, and why; None if past."""
            if not isinstance(entry, dict):
                return None
            since, until, why = entry.get("since"), entry.get("until"), entry.get("why")
            if not isinstance(since, (int, float)) or not isinstance(until, (int, float)):
                return None
            if not isinstance(why, str) or not until > wall:  # ended (or NaN)
                return None
            # a clock set back, or a broken value: never held longer than Lemmy can ask
            until, since = min(until, wall + RETRY_AFTER_MAX), since if since <= wall else wall
            return now - (wall - since), now + (until - wall), why

        with self._lock:
            for what, entry in requests.items():
                found = read(entry)
                if found is not None and isinstance(what, str):
                    mine = self._not_before.get(what)
                    if _ends_later(found[1], mine[0] if mine is not None else None):
                        self._not_before[what] = (found[1], found[0], found[2])
            found = read(login)
            mine_refused = self._refused
            if (
                found is not None
                and isinstance(login, dict)
                and _ends_later(
                    found[1], sum(mine_refused[:2]) if mine_refused is not None else None
                )
            ):
                since, until, why = found
                # an older modbot kept rate-limited logins only, without their code
                error = login.get("error", "rate_limit_error")
                status = login.get("status")
                self._refused = (
                    since,
                    until - since,
                    Held(
                        why,
                        until=until,
                        error=error if isinstance(error, str) else None,
                        status=status if type(status) is int else None,
                    ),
                )

    @staticmethod
    def merge_holds(kept: str | None, new: str) -> str:
        """``new`` (this process's ``holds()``) added to ``kept`` (the holds in the state,
        written by any process on it: the daemon, the gate, `run --once`): per request and
        for the login, the hold that ends last wins, and ended ones go. Written over, a
        hold another process kept would be lost, and the next process would send during
        Lemmy's window what Lemmy counts (a login among the few it takes an hour)."""
        wall = time.time()

        def until(entry: Any) -> float:
            end = entry.get("until") if isinstance(entry, dict) else None
            if isinstance(end, (int, float)) and not isinstance(end, bool) and end > wall:
                return float(end)
            return -math.inf  # NaN, past, broken: no hold

        old_requests, old_login = _saved_holds(kept)
        requests, login = _saved_holds(new)
        merged: dict[str, Any] = {}
        for what in {*old_requests, *requests}:
            best = max(requests.get(what), old_requests.get(what), key=until)
            if until(best) > wall:
                merged[what] = best
        held: dict[str, Any] = {"requests": merged}
        best = max(login, old_login, key=until)
        if until(best) > wall:
            held["login"] = best
        return json.dumps(held)

    def _held_more(self) -> None:
        """A hold was added: handed to ``on_hold``, to be kept for the next process."""
        if self.on_hold is not None:
            self.on_hold(self.holds())
