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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from modbot.config.settings import Secret
from modbot.fetch.identity import origin
from modbot.fetch.refusals import redact

__all__ = ["InstanceLogin", "is_image_route"]

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
    plain HTTP). ``token``: the Lemmy client's token (logging in
    when it has none); ``relogin``: log in again because Lemmy dropped the token given
    (the client's ``login(dropped=...)``). Both block: they run in a thread. Either may
    raise: the image is then skipped as Lemmy answered it (401), the reason logged."""

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

    def covers(self, url: str, path: str) -> bool:
        """Whether a request for ``url`` (``path``: as sent) may carry the login."""
        return origin(url) in self._origins and is_image_route(path)

    async def before(self, url: str) -> Secret | None:
        """The token to send with a request for ``url`` (covered), or None: not asked
        for there yet."""
        if origin(url) not in self._asked:
            return None
        return await self._current()

    async def after_401(self, url: str, sent: Secret | None) -> Secret | None:
        """Lemmy answered 401 to ``url`` sent with ``sent`` (None: without the login):
        the token to send it again with, or None (the 401 stands)."""
        key = origin(url)
        if key is None:
            return None
        if sent is None:
            self._asked.add(key)
            return await self._current()
        current = await self._current()
        if current is not None and current is not sent:
            return current  # the client logged in again meanwhile
        if sent is not self._let_in:
            log.warning(
                "image %s: Lemmy answered 401 with the bot's login too; not logging in again "
                "for it (that login was never let into the instance's image routes)",
                redact(url),
            )
            return None
        try:
            # the client logs in once for a dropped token, however many ask at once
            await asyncio.to_thread(self._relogin, sent)
        except Exception as exc:  # the client's errors say what to do
            log.warning("image %s: logging in again failed: %s", redact(url), exc)
            return None
        return await self._current()

    def let_in(self, sent: Secret) -> None:
        """An image route answered ``sent`` with something other than 401."""
        self._let_in = sent

    async def _current(self) -> Secret | None:
        try:
            return await asyncio.to_thread(self._token)
        except Exception as exc:  # the client's errors say what to do
            log.warning("the bot's login for the instance's image routes failed: %s", exc)
            return None
