"""The one place that knows Lemmy: its API versions, its JSON, pict-rs' internal API.

    api.py         LemmyApi: the protocol the rest of modbot uses (records of modbot.model)
    transport.py   the HTTP session every API version shares: retries, backoff, request-
                   rate cap, one deadline per request, login and keeping the token
    v3.py          Lemmy 0.19 (API v3): LemmyClient; actions through pythorhead
    views_v3.py    v3 JSON -> records; a malformed view is an Item with its problem
    pictrs.py      pict-rs' internal API (purge a file, is an alias gone)

``connect(settings, ...)`` makes the client of an API version from ``API_VERSIONS``;
Lemmy 1.0's API v4 is one more module pair (``v4.py``, ``views_v4.py``) and one more row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modbot.config.settings import Settings
from modbot.errors import (
    LemmyBadAnswer,
    LemmyError,
    LemmyLoginError,
    LemmyUnavailable,
    ReadOnlyError,
)
from modbot.lemmy.api import LemmyApi
from modbot.lemmy.transport import RateLimiter
from modbot.lemmy.v3 import LemmyClient

__all__ = [
    "API_VERSIONS",
    "LemmyApi",
    "LemmyBadAnswer",
    "LemmyClient",
    "LemmyError",
    "LemmyLoginError",
    "LemmyUnavailable",
    "RateLimiter",
    "ReadOnlyError",
    "connect",
]

# API version -> the client class that speaks it (each implements LemmyApi).
API_VERSIONS: dict[str, Callable[..., LemmyApi]] = {
    "v3": LemmyClient,
}
DEFAULT_API = "v3"


def connect(
    settings: Settings,
    *,
    requests_per_minute: float,
    timeout: float,
    read_only: bool,
    api_version: str = DEFAULT_API,
    **options: Any,
) -> LemmyApi:
    """The client of ``settings``' instance, in the given API version."""
    try:
        client = API_VERSIONS[api_version]
    except KeyError:
        known = ", ".join(API_VERSIONS)
        raise LemmyError(f"Lemmy API {api_version!r}: modbot speaks {known}") from None
    return client(
        settings.lemmy_url,
        settings.username,
        settings.password,
        pictrs_url=settings.pictrs_url,
        pictrs_api_key=settings.pictrs_api_key,
        requests_per_minute=requests_per_minute,
        timeout=timeout,
        read_only=read_only,
        **options,
    )
