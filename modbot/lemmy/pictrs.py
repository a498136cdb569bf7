"""pict-rs' internal API (on its own port, with its ``X-Api-Token``): purging a file with
every alias of it, and asking whether an alias is gone. Requests go through the Lemmy
client's transport: the same deadline, retries and request-rate cap."""

from __future__ import annotations

from typing import Any

import httpx

from modbot.config.settings import Secret
from modbot.errors import LemmyError, LemmyLoginError
from modbot.lemmy.transport import Transient, Transport

__all__ = ["Pictrs", "gone"]


def gone(
    transport: Transport,
    url: str,
    alias: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> bool:
    """Whether ``url`` answers 404 (only the status is read, never the image)."""

    def once() -> bool:
        try:
            with transport.http.stream("GET", url, params=params, headers=headers) as r:
                status = r.status_code
        except httpx.TimeoutException:
            raise Transient("timed out") from None
        except httpx.TransportError as exc:
            raise Transient(f"connection error: {type(exc).__name__}") from None
        if status >= 500 or status == 429:
            raise Transient(f"HTTP {status}")
        if status >= 400 and status != 404:
            raise LemmyError(f"image check of {alias}: HTTP {status}", status=status)
        return status == 404

    return transport.retrying("image check", once, auth=False)


class Pictrs:
    """The internal API of the instance's pict-rs (PICTRS_URL, PICTRS_API_KEY)."""

    def __init__(self, transport: Transport, url: str, api_key: Secret) -> None:
        self.transport = transport
        self.url = url.rstrip("/")
        self._key = api_key

    def alias_gone(self, alias: str) -> bool:
        return gone(
            self.transport,
            f"{self.url}/internal/aliases",
            alias,
            params={"alias": alias},
            headers={"X-Api-Token": self._key.reveal()},
        )

    def purge(self, alias: str) -> dict[str, Any]:
        """``POST /internal/purge?alias=``: the file and *all* its aliases. pict-rs'
        answer (``aliases``: those purged); ``already_gone`` when it had no such alias."""
        self.transport.refuse_if_read_only("pict-rs purge")
        url = f"{self.url}/internal/purge"
        key = self._key.reveal()
        try:
            return self.transport.retrying(
                "pict-rs purge",
                lambda: self.transport.send(
                    "POST", url, auth=False, params={"alias": alias}, headers={"X-Api-Token": key}
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
