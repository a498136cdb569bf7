"""The Lemmy 0.19 client: reads with httpx, actions through pythorhead.

What it takes care of, because Lemmy does not tell you:
- login is rate-limited to a few per hour (it shares the `register` bucket), so the bot
  logs in once and keeps the token; it logs in again only when Lemmy says 401 or when
  ``/site`` stops showing ``my_user`` (a dropped token is *silently* treated as
  anonymous on reads);
- 400 ``rate_limit_error`` (429 in v4), 5xx and timeouts are retried with exponential
  backoff; every request waits for the configured request-rate cap first;
- ``timeout`` is one deadline for the whole request (connect, TLS, sending, every read),
  not per read: a server trickling a byte every few seconds cannot hold a request
  longer. pythorhead's actions are sent through the same transport (pythorhead itself
  uses ``requests``, whose timeout is per read);
- an answer that is not what Lemmy sends (not JSON, an HTML page with status 200, a
  listing that is not a list) is a ``LemmyBadAnswer``, never a traceback;
- ``read_only=True`` (dry-run) refuses every mutating call before it leaves the process.
The token, the password and the pict-rs API key are never logged.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, TypeVar

import httpcore
import httpx

from modbot import __version__
from modbot.errors import (
    LemmyBadAnswer,
    LemmyError,
    LemmyLoginError,
    LemmyUnavailable,
    ReadOnlyError,
)
from modbot.settings import Secret

__all__ = [
    "LemmyBadAnswer",
    "LemmyClient",
    "LemmyError",
    "LemmyLoginError",
    "LemmyUnavailable",
    "RateLimiter",
    "ReadOnlyError",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_DELETE_TOKEN = re.compile(r"(/pictrs/image/delete/)[^/\s\"']+")


class _HideDeleteTokens(logging.Filter):
    """httpx logs every request's URL (at -v); an upload's delete URL carries its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/pictrs/image/delete/" in message:
            record.msg, record.args = _DELETE_TOKEN.sub(r"\1<delete-token>", message), ()
        return True


logging.getLogger("httpx").addFilter(_HideDeleteTokens())

USER_AGENT = f"modbot/{__version__} (Lemmy automoderator)"
API = "/api/v3"


class _Transient(Exception):
    """Internal: worth retrying (rate limit, 5xx, timeout, connection error)."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class _LoggedOut(Exception):
    """Internal: Lemmy answered 401, the token is gone."""


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


def _error_code(body: Any) -> str | None:
    return body.get("error") if isinstance(body, dict) else None


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

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host,
            port,
            timeout=self.left(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
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

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._inner.start_tls(
            ssl_context, server_hostname, self._backend.left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _pythorhead_on(client: LemmyClient) -> Any:
    """pythorhead's action API with its requests sent by ``client``.

    pythorhead sends with ``requests`` (a timeout per read, no total) and reads nodeinfo
    in its constructor; its API classes only build the request and call
    ``Requestor.api``. This requestor sends that through the client's httpx transport:
    the same deadline, errors, token and User-Agent as every other request.
    """
    from pythorhead.comment import Comment
    from pythorhead.community import Community
    from pythorhead.post import Post
    from pythorhead.private_message import PrivateMessage
    from pythorhead.requestor import Requestor
    from pythorhead.user import User

    class Transport(Requestor):
        def __init__(self) -> None:
            super().__init__(raise_exceptions=True, request_timeout=client.timeout)
            self.domain = client.url
            self._auth.set_api_base_url(client.url)

        @property
        def nodeinfo(self) -> dict:
            return client.nodeinfo()

        def api(self, method: Any, endpoint: str, **kwargs: Any) -> Any:
            return client._send(method.value, f"{client.url}{API}{endpoint}", auth=True, **kwargs)

    requestor = Transport()
    return SimpleNamespace(
        post=Post(requestor),
        comment=Comment(requestor),
        user=User(requestor),
        community=Community(requestor),
        private_message=PrivateMessage(requestor),
    )


def _listing(body: dict, key: str, what: str) -> list[dict]:
    """``body[key]``, which Lemmy always sends as a list (of objects, checked later)."""
    value = body.get(key)
    if not isinstance(value, list):
        raise LemmyBadAnswer(
            f"{what}: Lemmy's answer has no list {key!r} (got {_kind_of(value)}); is "
            "LEMMY_URL the Lemmy API, not a proxy or another site?",
            error="bad_answer",
        )
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


class LemmyClient:
    """One bot account on one Lemmy instance. Synchronous; safe to share between threads."""

    def __init__(
        self,
        url: str,
        username: str,
        password: Secret,
        *,
        pictrs_url: str | None = None,
        pictrs_api_key: Secret | None = None,
        requests_per_minute: float = 120,
        timeout: float = 20.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        read_only: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self.pictrs_url = pictrs_url.rstrip("/") if pictrs_url else None
        self._pictrs_key = pictrs_api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.read_only = read_only
        self._sleep = sleep
        self.limiter = RateLimiter(requests_per_minute, sleep=sleep)
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT}
        )
        self._deadline = _Deadline.install(self._http)
        self._token: Secret | None = None
        self._ph: Any = None  # pythorhead's API objects, built on the first action
        self._nodeinfo: dict | None = None
        self._lock = threading.RLock()
        self.requests = 0  # every HTTP request sent, retries and logins included
        self.logins = 0
        # Called with each new token, so it can be kept for the next run (see restore_token).
        self.on_login: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"LemmyClient({self.url!r}, user={self.username!r}, read_only={self.read_only})"

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing
    def _retrying(self, what: str, attempt_once: Callable[[], T], *, auth: bool) -> T:
        """Run one request with retries on transient errors and one re-login on 401."""
        relogged = False
        attempt = 0
        while True:
            self.limiter.wait()
            with self._lock:
                self.requests += 1
            try:
                return attempt_once()
            except _Transient as exc:
                attempt += 1
                if attempt > self.retries:
                    raise LemmyUnavailable(
                        f"{what}: still failing after {self.retries} retries ({exc}); "
                        "is Lemmy up and the request rate (lemmy.requests_per_minute) low enough?"
                    ) from None
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                if exc.retry_after is not None:
                    delay = min(self.max_backoff, max(delay, exc.retry_after))
                log.warning("%s: %s; retry %d/%d in %.1fs", what, exc, attempt, self.retries, delay)
                self._sleep(delay)
            except _LoggedOut:
                if not auth or relogged:
                    raise LemmyLoginError(
                        f"{what}: Lemmy answered 401 incorrect_login even after logging in "
                        "again; check LEMMY_USERNAME/LEMMY_PASSWORD and that the account "
                        "is not banned"
                    ) from None
                log.warning("%s: the login was dropped (401); logging in again", what)
                self.login()
                relogged = True

    def _send(self, method: str, url: str, *, auth: bool, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        try:
            with self._deadline.within(self.timeout):
                r = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise _Transient(
                f"timed out (no whole answer within lemmy.timeout, {self.timeout:g} s)"
            ) from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection error: {type(exc).__name__}") from None
        try:
            body = r.json()
        except ValueError:
            body = None
        code = _error_code(body)
        if r.status_code == 429 or code == "rate_limit_error":
            retry_after = r.headers.get("Retry-After")
            raise _Transient(
                "rate limited",
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if r.status_code >= 500:
            raise _Transient(f"HTTP {r.status_code}")
        if r.status_code == 401:
            raise _LoggedOut()
        if r.status_code >= 400:
            detail = code or (r.text[:200] if r.text else "")
            raise LemmyError(
                f"{method} {url.replace(self.url, '')}: HTTP {r.status_code} {detail}",
                status=r.status_code,
                error=code,
            )
        if body is None and r.content.strip():
            kind = r.headers.get("content-type", "no content type").split(";")[0]
            raise LemmyBadAnswer(
                f"{method} {url.replace(self.url, '')}: HTTP {r.status_code} but not JSON "
                f"({kind}: {r.text[:60].strip()!r}...); is LEMMY_URL the Lemmy API, not a "
                "proxy's or another site's page?",
                status=r.status_code,
                error="bad_answer",
            )
        if body is not None and not isinstance(body, dict):
            raise LemmyBadAnswer(
                f"{method} {url.replace(self.url, '')}: HTTP {r.status_code} with JSON "
                f"that is {_kind_of(body)}, not an object as Lemmy sends",
                status=r.status_code,
                error="bad_answer",
            )
        return body if body is not None else {}

    def _api(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> dict:
        if method != "GET" and self.read_only:
            raise ReadOnlyError(f"{method} {path} refused: this client is read-only (dry-run)")
        if auth and self._token is None:
            self.login()
        url = f"{self.url}{API}{path}"
        return self._retrying(
            f"{method} {path}", lambda: self._send(method, url, auth=auth, **kwargs), auth=auth
        )

    # ------------------------------------------------------------------ session
    @property
    def logged_in(self) -> bool:
        return self._token is not None

    def login(self) -> None:
        """Log in and keep the token. Lemmy allows only a few logins an hour: call rarely."""
        payload = {"username_or_email": self.username, "password": self._password.reveal()}
        url = f"{self.url}{API}/user/login"

        def once() -> dict:
            try:
                return self._send("POST", url, auth=False, json=payload)
            except _LoggedOut:
                raise LemmyLoginError(
                    f"login as {self.username!r} refused (incorrect_login): check "
                    "LEMMY_USERNAME and LEMMY_PASSWORD",
                    status=401,
                    error="incorrect_login",
                ) from None

        with self._lock:
            try:
                body = self._retrying("login", once, auth=False)
            except LemmyError as exc:
                if isinstance(exc, LemmyLoginError):
                    raise
                # Lemmy down or rate-limiting: a passing failure (an action is tried again).
                kind = LemmyUnavailable if isinstance(exc, LemmyUnavailable) else LemmyLoginError
                raise kind(
                    f"login as {self.username!r} failed: {exc}", status=exc.status, error=exc.error
                ) from None
            jwt = body.get("jwt")
            if not jwt:
                raise LemmyLoginError(
                    f"login as {self.username!r} returned no token (email not verified or "
                    "registration not approved?)"
                )
            self._token = Secret(jwt)
            self.logins += 1
        log.info("logged in to %s as %s", self.url, self.username)
        if self.on_login is not None:
            self.on_login(jwt)

    def restore_token(self, jwt: str) -> None:
        """Use a token kept from an earlier run instead of logging in (logins are scarce).
        Call ``ensure_session()`` next: a stale token is silently anonymous on reads."""
        with self._lock:
            self._token = Secret(jwt)

    def site(self) -> dict:
        return self._api("GET", "/site")

    def ensure_session(self) -> dict:
        """``GET /site``; when it answers as for an anonymous visitor, log in again.

        Lemmy ignores a dropped token on reads, so a bot that only watches for 401 would
        read the anonymous view (NSFW hidden) for days. Returns the site response.
        """
        site = self.site()
        if site.get("my_user"):
            return site
        log.warning("Lemmy answers as if logged out (no my_user in /site); logging in again")
        self.login()
        site = self.site()
        if not site.get("my_user"):
            raise LemmyLoginError(
                "Lemmy still answers as for an anonymous visitor after logging in again"
            )
        return site

    # ------------------------------------------------------------------ reads
    def list_posts(
        self,
        *,
        page_cursor: str | None = None,
        limit: int = 50,
        sort: str = "New",
        show_nsfw: bool = True,
    ) -> tuple[list[dict], str | None]:
        """One page of ``post/list`` (``type_=All``): (posts, next_page cursor)."""
        params: dict[str, Any] = {"sort": sort, "type_": "All", "limit": min(limit, 50)}
        if show_nsfw:
            params["show_nsfw"] = "true"
        if page_cursor:
            params["page_cursor"] = page_cursor
        body = self._api("GET", "/post/list", params=params)
        posts = _listing(body, "posts", "post/list")
        next_page = body.get("next_page")
        if next_page is not None and not isinstance(next_page, str):
            raise LemmyBadAnswer(
                f"post/list: next_page is {_kind_of(next_page)}, not a string", error="bad_answer"
            )
        return posts, next_page or None

    def list_comments(
        self,
        *,
        page: int = 1,
        limit: int = 50,
        sort: str = "New",
        post_id: int | None = None,
    ) -> list[dict]:
        """One page of ``comment/list`` (``type_=All``; no cursor, ``page`` <= 100)."""
        params: dict[str, Any] = {
            "sort": sort,
            "type_": "All",
            "limit": min(limit, 50),
            "page": page,
        }
        if post_id is not None:
            params["post_id"] = post_id
        return _listing(
            self._api("GET", "/comment/list", params=params), "comments", "comment/list"
        )

    def get_post(self, post_id: int) -> dict:
        """One post's ``PostView`` (admins and moderators also get a removed one); it is
        checked where it becomes an item (``source.Item``)."""
        return self._api("GET", "/post", params={"id": post_id}).get("post_view")

    def list_all_media(self, *, page: int = 1, limit: int = 50) -> list[dict]:
        """One page of every upload on the instance, newest first (admin only, 0.19.4+)."""
        params = {"page": page, "limit": min(limit, 50)}
        return _listing(
            self._api("GET", "/admin/list_all_media", params=params),
            "images",
            "admin/list_all_media",
        )

    # Reads that say whether an action was carried out (after a crash while sending it).
    def get_comment(self, comment_id: int) -> dict:
        """One comment's ``CommentView`` (admins and moderators also get a removed one)."""
        return self._api("GET", "/comment", params={"id": comment_id})["comment_view"]

    def get_person(self, person_id: int) -> dict:
        """A person's ``PersonView`` (``person.banned``, ``person.ban_expires``)."""
        params = {"person_id": person_id, "limit": 1}
        return self._api("GET", "/user", params=params)["person_view"]

    def reports_of(self, kind: str, item_id: int) -> list[dict]:
        """Every report on one post or comment (``kind``), resolved or not, newest first."""
        params = {f"{kind}_id": item_id, "unresolved_only": "false", "limit": 50}
        return self._api("GET", f"/{kind}/report/list", params=params).get(f"{kind}_reports") or []

    def sent_private_messages(self, creator_id: int, *, page: int = 1) -> list[dict]:
        """One page of the private messages ``creator_id`` (the bot) sent, newest first."""
        params = {"unread_only": "false", "creator_id": creator_id, "page": page, "limit": 50}
        return (
            self._api("GET", "/private_message/list", params=params).get("private_messages") or []
        )

    def image_gone(self, alias: str) -> bool:
        """Whether pict-rs no longer has ``alias``: its internal API when configured, else
        the instance's image route (only the status is read, never the image)."""
        if self.pictrs_url and self._pictrs_key:
            url, params = f"{self.pictrs_url}/internal/aliases", {"alias": alias}
            headers = {"X-Api-Token": self._pictrs_key.reveal()}
        else:
            url, params, headers = f"{self.url}/pictrs/image/{alias}", {}, {}

        def once() -> bool:
            try:
                with self._http.stream("GET", url, params=params, headers=headers) as r:
                    status = r.status_code
            except httpx.TimeoutException:
                raise _Transient("timed out") from None
            except httpx.TransportError as exc:
                raise _Transient(f"connection error: {type(exc).__name__}") from None
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status}")
            if status >= 400 and status != 404:
                raise LemmyError(f"image check of {alias}: HTTP {status}", status=status)
            return status == 404

        return self._retrying("image check", once, auth=False)

    # ------------------------------------------------------------------ actions
    def nodeinfo(self) -> dict:
        """``/nodeinfo/2.0.json`` (Lemmy redirects it to 2.1), read once."""
        if self._nodeinfo is None:
            url = f"{self.url}/nodeinfo/2.0.json"
            self._nodeinfo = self._retrying(
                "nodeinfo",
                lambda: self._send("GET", url, auth=False, follow_redirects=True),
                auth=False,
            )
        return self._nodeinfo

    def _pythorhead(self) -> Any:
        if self._ph is None:
            self._ph = _pythorhead_on(self)
        return self._ph

    def _act(self, what: str, call: Callable[[Any], Any]) -> Any:
        """One mutating call through pythorhead, with our retries, rate cap and re-login."""
        if self.read_only:
            raise ReadOnlyError(f"{what} refused: this client is read-only (dry-run)")
        if self._token is None:
            self.login()
        ph = self._pythorhead()

        # Our transport raises our own errors (_Transient, _LoggedOut, LemmyError).
        return self._retrying(what, lambda: call(ph), auth=True)

    def remove_post(self, post_id: int, reason: str) -> Any:
        return self._act("remove post", lambda ph: ph.post.remove(post_id, True, reason))

    def remove_comment(self, comment_id: int, reason: str) -> Any:
        return self._act("remove comment", lambda ph: ph.comment.remove(comment_id, True, reason))

    def purge_post(self, post_id: int, reason: str) -> Any:
        return self._act("purge post", lambda ph: ph.post.purge(post_id, reason))

    def purge_comment(self, comment_id: int, reason: str) -> Any:
        return self._act("purge comment", lambda ph: ph.comment.purge(comment_id, reason))

    def ban_site(
        self, person_id: int, reason: str, *, expires: int | None, remove_data: bool
    ) -> Any:
        return self._act(
            "ban from site",
            lambda ph: ph.user.ban(
                True, expires=expires, person_id=person_id, reason=reason, remove_data=remove_data
            ),
        )

    def ban_community(
        self,
        person_id: int,
        community_id: int,
        reason: str,
        *,
        expires: int | None,
        remove_data: bool,
    ) -> Any:
        return self._act(
            "ban from community",
            lambda ph: ph.community.ban_user(
                True,
                expires=expires,
                person_id=person_id,
                community_id=community_id,
                reason=reason,
                remove_data=remove_data,
            ),
        )

    def report_post(self, post_id: int, reason: str) -> Any:
        return self._act("report post", lambda ph: ph.post.report(post_id, reason))

    def report_comment(self, comment_id: int, reason: str) -> Any:
        return self._act("report comment", lambda ph: ph.comment.report(comment_id, reason))

    def private_message(self, recipient_id: int, content: str) -> Any:
        # pythorhead's hint says str; Lemmy rejects anything but an int id.
        return self._act(
            "private message", lambda ph: ph.private_message.create(content, int(recipient_id))
        )

    def save_user_settings(self, **settings: Any) -> Any:
        return self._act("save user settings", lambda ph: ph.user.save_user_settings(**settings))

    def delete_image(self, alias: str, delete_token: str) -> dict:
        """Delete one upload with its delete token (an admin may, from 0.19.12)."""
        if self.read_only:
            raise ReadOnlyError("image delete refused: this client is read-only (dry-run)")
        if self._token is None:
            self.login()
        url = f"{self.url}/pictrs/image/delete/{delete_token}/{alias}"
        try:
            return self._retrying(
                "delete image",
                # the image routes take the token as a cookie, not a header
                lambda: self._send(
                    "GET", url, auth=False, headers={"Cookie": f"jwt={self._token.reveal()}"}
                ),
                auth=True,
            )
        except LemmyError as exc:  # keep the delete token out of logs and records
            # Same type: a LemmyUnavailable must stay one, so the delete is tried again.
            raise type(exc)(
                str(exc).replace(delete_token, "<delete-token>"), status=exc.status, error=exc.error
            ) from None

    def purge_image_alias(self, alias: str) -> dict:
        """pict-rs ``POST /internal/purge?alias=``: the file and *all* its aliases."""
        if self.read_only:
            raise ReadOnlyError("pict-rs purge refused: this client is read-only (dry-run)")
        if not (self.pictrs_url and self._pictrs_key):
            raise LemmyError("pict-rs purge needs PICTRS_URL and PICTRS_API_KEY")
        url = f"{self.pictrs_url}/internal/purge"
        key = self._pictrs_key.reveal()
        try:
            return self._retrying(
                "pict-rs purge",
                lambda: self._send(
                    "POST",
                    url,
                    auth=False,
                    params={"alias": alias},
                    headers={"X-Api-Token": key},
                ),
                auth=False,
            )
        except LemmyError as exc:
            if exc.status == 404:  # gone already (a ban's remove_data, a user's delete)
                return {"msg": "ok", "aliases": [], "already_gone": True}
            if exc.status in (401, 403) or isinstance(exc, LemmyLoginError):
                raise LemmyError(
                    f"pict-rs refused the purge of {alias} ({exc.status}): check "
                    "PICTRS_API_KEY (pict-rs' server.api_key)",
                    status=exc.status,
                ) from None
            raise
