"""The bot's Lemmy login on the instance's own image routes.

A private Lemmy shows its images to logged-in users only: 0.19 answers
``/pictrs/image/{name}`` 401 without a login when ``private_instance`` is set (its
``/api/v3/image_proxy`` has no such check), 1.0 answers ``/api/v4/image/{name}`` and
``/api/v4/image/proxy`` 401 when the instance is private and does not federate. modbot
reads the instance's own images through these routes, so there it sends its login, as
the ``jwt`` cookie (both versions read it; a Bearer header would clash with a proxy's
basic-auth login in LEMMY_URL).

Only where it is needed: a request goes without the login until the instance has
answered one of these routes 401 without it (an empty 401, Lemmy's; a proxy's says
``WWW-Authenticate``); from then on it goes with every such request to that origin. A
public instance, and a CDN in front of its public host, never see the token. The login
changes nothing there: Lemmy only checks it (its session middleware reads the user; no
route marks anything read). It goes only to LEMMY_URL's and the public URL's origins
(scheme, host and port: a posted ``http://lemmy.example:443/...`` is plain HTTP, where
every hop would read the token), never to another host, to the instance's pict-rs,
to a redirect's next hop (``Fetcher`` sends it on a request's first hop only), nor to
any other path on the instance (0.19's ``GET /pictrs/image/delete/...`` deletes an image
for a logged-in admin: that path is no image route here).

A token dropped (401 even with it) after it was let in is replaced by logging in again
once (the Lemmy client's own re-login, shared with its API requests); one that was never
let in is not: a login spent per image would run into Lemmy's few logins an hour.

A reverse proxy in front of the instance may ask for a basic-auth login of its own,
written in LEMMY_URL (``https://user:password@lemmy.example``): ``ProxyLogin`` sends it
as the Lemmy client does (``Authorization: Basic``) with every request to LEMMY_URL's
origin, a redirect's hop there too (the proxy guards all of it), never to another origin
(the public URL's included, when it is another: the login is LEMMY_URL's). Content
cannot choose where it goes: user info in a link is never sent (``Fetcher``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from modbot.config.settings import Secret
from modbot.fetch.identity import origin
from modbot.fetch.refusals import redact

__all__ = ["InstanceLogin", "ProxyLogin", "is_image_route", "without_user_info"]

log = logging.getLogger(__name__)

# the routes Lemmy serves images on (0.19's, 1.0's): one file name after the prefix
_IMAGE_PREFIXES = ("/pictrs/image/", "/api/v4/image/")
_PROXY_ROUTES = ("/api/v3/image_proxy", "/api/v4/image/proxy")


def is_image_route(path: str) -> bool:
    """Whether ``path`` (as requested) is one of Lemmy's image routes: a file name after
    ``/pictrs/image/`` or ``/api/v4/image/``, or the image proxy. Nothing escaped, no
    dot segment, no second segment (``/pictrs/image/delete/{token}/{name}``)."""
    if "%" in path or "\\" in path:
        return False
    if path in _PROXY_ROUTES:
        return True
    for prefix in _IMAGE_PREFIXES:
        if path.startswith(prefix):
            name = path[len(prefix) :]
            return bool(name) and "/" not in name and name not in (".", "..")
    return False


class InstanceLogin:
    """The login for the image routes of the instance at ``urls`` (LEMMY_URL, the
    public URL: their origins, the scheme with the host and port: the token never goes
    in plain HTTP to an https URL's host and port, nor over TLS where LEMMY_URL says
    plain HTTP). ``token``: the Lemmy client's token (logging in when it has none);
    ``relogin``: log in again because Lemmy dropped the token given (the client's
    ``login(dropped=...)``). Either may raise: the images waiting are then skipped as
    Lemmy answered them (401), the reason logged once.

    Both block (a login holds the transport's lock through its retries), so each runs
    in a thread of its own, one call shared by every image waiting for it: never in the
    event loop's default executor, where the perceptual hashes' decodes run (images
    parked there on a login would stall them). The token last got is kept: a request
    takes it without a thread."""

    def __init__(
        self,
        urls: Iterable[str],
        token: Callable[[], Secret],
        relogin: Callable[[Secret], None],
    ) -> None:
        self._origins = {key for url in urls if (key := origin(url)) is not None}
        self._token, self._relogin = token, relogin
        self._asked: set[tuple[str, str, int]] = set()  # origins that answered 401 without it
        self._let_in: Secret | None = None  # the last token an image route took
        self._held: Secret | None = None  # the last token got from the client
        # the client's call in flight ("token", "relogin"), shared by all who wait for it
        self._pending: dict[str, asyncio.Future[Secret | None]] = {}

    def covers(self, url: str, path: str) -> bool:
        """Whether a request for ``url`` (``path``: as sent) may carry the login."""
        return origin(url) in self._origins and is_image_route(path)

    async def before(self, url: str) -> Secret | None:
        """The token to send with a request for ``url`` (covered), or None: not asked
        for there yet."""
        if origin(url) not in self._asked:
            return None
        return self._held if self._held is not None else await self._current()

    async def after_401(self, url: str, sent: Secret | None) -> Secret | None:
        """Lemmy answered 401 to ``url`` sent with ``sent`` (None: without the login):
        the token to send it again with, or None (the 401 stands)."""
        key = origin(url)
        if key is None:
            return None
        if sent is None:
            self._asked.add(key)
            return self._held if self._held is not None else await self._current()
        current = await self._current()  # the client's own: it may have logged in again
        if current is not None and current is not sent:
            return current  # the client logged in again meanwhile
        if sent is not self._let_in:
            log.warning(
                "image %s: Lemmy answered 401 with the bot's login too; not logging in again "
                "for it (that login was never let into the instance's image routes)",
                redact(url),
            )
            return None

        def relogin() -> Secret:
            self._relogin(sent)  # the client logs in once for a dropped token
            return self._token()

        return await self._shared("relogin", relogin, "logging in again failed")

    def let_in(self, sent: Secret) -> None:
        """An image route answered ``sent`` with something other than 401."""
        self._let_in = sent

    async def _current(self) -> Secret | None:
        return await self._shared("token", self._token, "the bot's login failed")

    async def _shared(self, what: str, call: Callable[[], Secret], failed: str) -> Secret | None:
        """``call``'s token, got in a thread of its own; those asking while it runs wait
        for the same call. None when it raised (logged once, with ``failed``)."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(what)
        if pending is None or pending.get_loop() is not loop:
            pending = self._pending[what] = loop.create_future()

            def settle(got: Secret | None) -> None:
                if self._pending.get(what) is pending:
                    del self._pending[what]
                if got is not None:
                    self._held = got
                if not pending.done():
                    pending.set_result(got)

            def run() -> None:
                try:
                    got: Secret | None = call()
                except Exception as exc:  # the client's errors say what to do
                    log.warning("the instance's image routes: %s: %s", failed, exc)
                    got = None
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(settle, got)

            threading.Thread(target=run, name=f"modbot-login-{what}", daemon=True).start()
        # one waiter cancelled (its image's deadline) leaves the call to the others
        return await asyncio.shield(pending)


class ProxyLogin:
    """The basic-auth login of a proxy in front of the instance, from LEMMY_URL's user
    info (``of``): the ``Authorization`` value for a request to LEMMY_URL's origin
    (scheme, host and port), None for any other. Never printed."""

    def __init__(self, url: str, header: Secret) -> None:
        self._origin = origin(url)
        self._header = header

    @classmethod
    def of(cls, url: str) -> ProxyLogin | None:
        """The login written in ``url`` (LEMMY_URL), or None when it has none. Encoded
        as the Lemmy client (httpx) encodes it: user and password percent-decoded, UTF-8."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if "@" not in parts.netloc or origin(url) is None:
            return None
        user, _, password = parts.netloc.rpartition("@")[0].partition(":")
        pair = f"{unquote(user)}:{unquote(password)}".encode()
        return cls(url, Secret("Basic " + base64.b64encode(pair).decode("ascii")))

    def header_for(self, url: str) -> Secret | None:
        """The ``Authorization`` value for a request to ``url``, or None: another origin."""
        return self._header if origin(url) == self._origin else None

    def __repr__(self) -> str:
        return f"ProxyLogin({self._origin!r})"


def without_user_info(url: str) -> str:
    """``url`` without its ``user:password@`` (LEMMY_URL's proxy login): what a request
    is made to and a record names; the login goes apart (``ProxyLogin``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
