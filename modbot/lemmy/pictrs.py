"""pict-rs' internal API (on its own port, with its ``X-Api-Token``): listing every stored
file (``/internal/hashes``, paged), the aliases of a file or of the copy it cached of a
remote image (``/internal/aliases``), purging a file with every alias of it (by alias, or
by the remote URL it was cached for), deleting one alias, and asking whether an alias is
gone. Requests go through the Lemmy client's transport: the same deadline, retries and
request-rate cap. pict-rs' JSON is read here and nowhere else (``StoredFile``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer, LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.lemmy.transport import LoggedOut, Transient, Transport, transient
from modbot.model import StoredFile, StorePage, parse_time

__all__ = ["Pictrs", "PictrsStore", "gone", "stored_file"]

HEX_LENGTH = 78  # sha256 (32 bytes) + size (6) + format (1), as lowercase hex


def stored_file(entry: Any) -> StoredFile:
    """One entry of ``/internal/hashes`` as a record (``LemmyBadAnswer`` when it is not
    one pict-rs sends)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("hex"), str):
        raise LemmyBadAnswer(f"pict-rs hashes: an entry without its hex: {str(entry)[:80]}")
    hex_ = entry["hex"].lower()
    if len(hex_) < 64 or any(c not in "0123456789abcdef" for c in hex_):
        raise LemmyBadAnswer(f"pict-rs hashes: {hex_[:80]!r} is not a pict-rs hash")
    aliases = entry.get("aliases") or []
    found = entry.get("details")
    details: dict[str, Any] = found if isinstance(found, dict) else {}

    def number(key: str) -> int | None:
        value = details.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return StoredFile(
        hex=hex_,
        aliases=tuple(a for a in aliases if isinstance(a, str)),
        content_type=details.get("content_type")
        if isinstance(details.get("content_type"), str)
        else None,
        media=details.get("format") if isinstance(details.get("format"), str) else None,
        width=number("width"),
        height=number("height"),
        frames=number("frames"),
        created_at=parse_time(details.get("created_at"))
        if isinstance(details.get("created_at"), str)
        else None,
    )


def gone(
    transport: Transport,
    url: str,
    alias: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> bool:
    """Whether ``url`` (the instance's own image route) answers 404 (only the status is
    read, never the image), within lemmy.timeout as one deadline, and a 429's or 503's
    Retry-After honoured, like every request of the transport. A private instance
    answers its image routes 401 without a login: asked again with the bot's, as the
    ``jwt`` cookie (what the image routes read; ``modbot.fetch.login``), and a login
    Lemmy dropped is replaced once (the transport's re-login)."""
    login = False  # the instance asked for it: every try from then on sends it

    def once() -> bool:
        nonlocal login
        while True:
            sent = dict(headers or {})
            if login:
                sent["Cookie"] = f"jwt={transport.token().reveal()}"
            status, asks = _image_status(transport, url, params, sent)
            if status != 401 or not asks:
                break
            if login:
                raise LoggedOut()  # the token was dropped: logged in again once
            login = True
        if status >= 400 and status != 404:
            raise LemmyError(f"image check of {alias}: HTTP {status}", status=status)
        return status == 404

    return transport.retrying("image check", once, auth=True)


def _image_status(
    transport: Transport,
    url: str,
    params: dict[str, str] | None,
    headers: dict[str, str],
) -> tuple[int, bool]:
    """The status of ``url``, and whether it is Lemmy's 401 asking for a login (empty:
    a proxy asking for one of its own says ``WWW-Authenticate``)."""
    try:
        # A server sending its headers a byte at a time must not hold the check longer.
        with (
            transport._deadline.within(transport.timeout),
            transport.http.stream("GET", url, params=params, headers=headers) as r,
        ):
            status, passing = r.status_code, transient(r.status_code, r.headers)
            asks = status == 401 and "www-authenticate" not in r.headers
    except httpx.TimeoutException:
        raise Transient(
            f"timed out (no answer within lemmy.timeout, {transport.timeout:g} s)"
        ) from None
    except httpx.TransportError as exc:
        raise Transient(f"connection error: {type(exc).__name__}") from None
    if passing is not None:  # a 429 or 5xx, as any request's: waited, or held back
        raise passing
    return status, asks


class Pictrs:
    """The internal API of the instance's pict-rs (PICTRS_URL, PICTRS_API_KEY)."""

    def __init__(self, transport: Transport, url: str, api_key: Secret) -> None:
        self.transport = transport
        self.url = url.rstrip("/")
        self._key = api_key

    def _headers(self) -> dict[str, str]:
        return {"X-Api-Token": self._key.reveal()}

    def _internal(
        self,
        what: str,
        method: str,
        path: str,
        params: dict[str, Any],
        sent: list[int] | None = None,
    ) -> Any:
        """One internal API call, with retries; a refused key says what to fix.
        ``sent``: its one number counts the attempts sent."""
        url = f"{self.url}{path}"

        def attempt() -> Any:
            if sent is not None:
                sent[0] += 1
            return self.transport.send(
                method, url, auth=False, params=params, headers=self._headers()
            )

        try:
            return self.transport.retrying(what, attempt, auth=False)
        except LemmyBadAnswer as exc:
            # The transport's words send the admin to LEMMY_URL, which is right: this is
            # PICTRS_URL's answer (often the public address, whose nginx answers lemmy-ui's
            # page: pict-rs' port is not public). Still passing, as any bad answer.
            said = re.split(r"[;.] [Ii]s LEMMY_URL ", str(exc), maxsplit=1)[0]
            raise LemmyBadAnswer(
                f"{said}; is PICTRS_URL pict-rs' own address (its port, as Lemmy's "
                "pictrs.url names it), not the instance's public URL or a proxy?",
                status=exc.status,
                error=exc.error,
            ) from None
        except LemmyError as exc:
            if exc.status in (401, 403) or isinstance(exc, LemmyLoginError):
                raise LemmyError(
                    f"pict-rs refused {what} ({exc.status or 401}): check PICTRS_API_KEY "
                    "(pict-rs' server.api_key)",
                    status=exc.status or 401,
                ) from None
            raise

    def aliases(self, alias: str) -> list[str]:
        """Every alias of the file ``alias`` names (pict-rs answers ``[]`` for an alias
        it does not have)."""
        body = self._internal("pict-rs aliases", "GET", "/internal/aliases", {"alias": alias})
        found = body.get("aliases") if isinstance(body, dict) else None
        return [a for a in found or [] if isinstance(a, str)]

    def proxy_aliases(self, url: str) -> list[str]:
        """Every alias of the file pict-rs cached for the remote image ``url`` (under an
        alias of its own, which no text that shows the image names); ``[]`` when it has
        no copy (404 ``proxy-not-found``) or ``url`` is no URL pict-rs could proxy (400)."""
        try:
            body = self._internal("pict-rs aliases", "GET", "/internal/aliases", {"proxy": url})
        except LemmyError as exc:
            if exc.status in (400, 404):
                return []
            raise
        found = body.get("aliases") if isinstance(body, dict) else None
        return [a for a in found or [] if isinstance(a, str)]

    def alias_gone(self, alias: str) -> bool:
        """Whether pict-rs no longer has ``alias``: its file has no alias left by that
        name (pict-rs answers 200 with no aliases, not 404, for one it does not know)."""
        return alias not in self.aliases(alias)

    def hashes(
        self, slug: str | None = None, *, timestamp: datetime | None = None, limit: int = 100
    ) -> StorePage:
        """One page of every stored original, newest first (``GET /internal/hashes``):
        from ``slug`` (a page's ``next``) on, or the files stored strictly before
        ``timestamp``; ``limit`` files per page."""
        params: dict[str, Any] = {"limit": limit}
        if timestamp is not None:
            params["timestamp"] = timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif slug is not None:
            params["slug"] = slug
        body = self._internal("pict-rs hashes", "GET", "/internal/hashes", params)
        page = body.get("page")
        if not isinstance(page, dict) or not isinstance(page.get("hashes"), list):
            raise LemmyBadAnswer(
                "pict-rs hashes: no page of hashes in the answer; is PICTRS_URL pict-rs?"
            )
        current, next_ = page.get("current"), page.get("next")
        return StorePage(
            files=[stored_file(entry) for entry in page["hashes"]],
            current=current if isinstance(current, str) else None,
            next=next_ if isinstance(next_, str) else None,
        )

    def _purging(self, what: str, path: str, params: dict[str, Any]) -> Any:
        """A purge or delete's answer; None when pict-rs had nothing of it (404)."""
        self.transport.refuse_if_read_only(what)
        sent = [0]
        try:
            return self._internal(what, "POST", path, params, sent)
        except LemmyError as exc:
            if exc.status != 404:
                raise
            if sent[0] > 1:
                # a retry after an answer lost (a timeout): the first try may have done
                # it. Not "nothing purged", nor a purge done: the executor asks pict-rs
                # next cycle (its verify) and records it done as the bot's when gone.
                raise LemmyUnavailable(
                    f"{what}: its answer to an earlier try was lost and the retry found "
                    "nothing left: looked at again next cycle",
                    status=404,
                ) from None
            return None  # gone already (a ban's remove_data, a user's delete)

    def purge(self, alias: str) -> dict[str, Any]:
        """``POST /internal/purge?alias=``: the file and *all* its aliases. pict-rs'
        answer (``aliases``: those purged); ``already_gone`` when it had no such alias."""
        params = {"alias": alias}
        body = self._purging("pict-rs purge", "/internal/purge", params)
        return body if body is not None else {"msg": "ok", "aliases": [], "already_gone": True}

    def purge_proxy(self, url: str) -> dict[str, Any]:
        """``POST /internal/purge?proxy=``: the file pict-rs cached for the remote ``url``
        and every alias of it (it comes back on the next view unless the item that shows
        it goes too); ``already_gone`` when pict-rs has no copy of it."""
        params = {"proxy": url}
        body = self._purging("pict-rs purge", "/internal/purge", params)
        return body if body is not None else {"msg": "ok", "aliases": [], "already_gone": True}

    def delete(self, alias: str) -> bool:
        """``POST /internal/delete?alias=``: this alias only (the file stays while another
        alias has it). False when pict-rs had no such alias."""
        params = {"alias": alias}
        body = self._purging("pict-rs delete", "/internal/delete", params)
        return body is not None

    def delete_proxy(self, url: str) -> bool:
        """``POST /internal/delete?proxy=``: the alias pict-rs cached the remote ``url``
        under (the file stays while another alias has it). False when it had no copy."""
        params = {"proxy": url}
        body = self._purging("pict-rs delete", "/internal/delete", params)
        return body is not None


class PictrsStore:
    """pict-rs' whole store as the ``LemmyApi`` offers it, the same for every API version
    (pict-rs does not change with Lemmy's API): a client class mixes it in and sets
    ``pictrs`` (None without PICTRS_URL + PICTRS_API_KEY)."""

    pictrs: Pictrs | None
    refuse_if_read_only: Callable[[str], None]  # the client's (Transport)

    def _pictrs_api(self, what: str) -> Pictrs:
        if self.pictrs is None:
            raise LemmyError(f"{what} needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY")
        return self.pictrs

    def stored_files(
        self, slug: str | None, *, timestamp: datetime | None = None, limit: int = 100
    ) -> StorePage:
        return self._pictrs_api("listing pict-rs' store").hashes(
            slug, timestamp=timestamp, limit=limit
        )

    @property
    def can_purge_files(self) -> bool:
        # Never through Lemmy (1.0's DELETE /image, 0.19's purge of a post): they purge the
        # file with every alias unchecked, and only pict-rs can say first whether one of
        # those is an admin's upload (``file_aliases``).
        return self.pictrs is not None

    def purge_file(self, alias: str) -> list[str]:
        """Purge the file of ``alias`` with every alias of it, through pict-rs' internal
        API: the aliases that went (none when it was gone already)."""
        self.refuse_if_read_only("pict-rs purge")
        body = self._pictrs_api("purging a file").purge(alias)
        return list(body.get("aliases") or [])

    def proxied_aliases(self, url: str) -> list[str]:
        return self._pictrs_api("looking up a cached remote image").proxy_aliases(url)

    def file_aliases(self, alias: str) -> list[str]:
        return self._pictrs_api("looking up a file's aliases").aliases(alias)

    def purge_proxied(self, url: str) -> list[str]:
        self.refuse_if_read_only("pict-rs purge")
        body = self._pictrs_api("purging a cached remote image").purge_proxy(url)
        return list(body.get("aliases") or [])

    def delete_proxied(self, url: str) -> bool:
        self.refuse_if_read_only("pict-rs delete")
        return self._pictrs_api("deleting a cached remote image").delete_proxy(url)

    def delete_alias(self, alias: str) -> bool:
        self.refuse_if_read_only("pict-rs delete")
        return self._pictrs_api("deleting an image alias").delete(alias)
