"""The one place that knows Lemmy: its API versions, its JSON, pict-rs' internal API.

    api.py         LemmyApi: the protocol the rest of modbot uses (records of modbot.model)
    transport.py   the HTTP session every API version shares: retries, backoff, request-
                   rate cap, one deadline per request, login and keeping the token
    v3.py          Lemmy 0.19 (API v3): LemmyClient; actions through pythorhead
    views_v3.py    v3 JSON -> records; a malformed view is an Item with its problem
    v4.py          Lemmy 1.0 (API v4): LemmyClientV4, httpx on the same transport
    views_v4.py    v4 JSON -> records
    detect.py      which API an instance speaks (nodeinfo, then /api/v4/site, /api/v3/site)
    pictrs.py      pict-rs' internal API (purge a file, is an alias gone)

``connect(settings, ...)`` makes the client of an API version from ``API_VERSIONS``
(``api_version="auto"``: the one the instance speaks, asked first) and logs which, and
why: the start-up line ``Lemmy API v4: nodeinfo says Lemmy 1.0.0-beta.1``.
"""

from __future__ import annotations

import logging
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
from modbot.lemmy.detect import Detected, detect
from modbot.lemmy.probe import first_failure
from modbot.lemmy.transport import RateLimiter, Transport
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4

__all__ = [
    "API_VERSIONS",
    "LemmyApi",
    "LemmyBadAnswer",
    "LemmyClient",
    "LemmyClientV4",
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
    "v4": LemmyClientV4,
}
DEFAULT_API = "auto"  # ask the instance (rules.yaml `lemmy.api`)

log = logging.getLogger(__name__)


def connect(
    settings: Settings,
    *,
    requests_per_minute: float,
    timeout: float,
    read_only: bool,
    api_version: str = DEFAULT_API,
    report_to_admins: bool = False,
    **options: Any,
) -> LemmyApi:
    """The client of ``settings``' instance, in the given API version (``auto``: the one
    the instance says it speaks). ``report_to_admins``: 1.0's reports go to the admins
    only (``violates_instance_rules``); 0.19 has no such reports."""
    spacing: RateLimiter | None = None
    if api_version == "auto":
        # The sockets first: a wrong URL, DNS, port or TLS is said in its own words at
        # once, not after the retries of the version question.
        failed = first_failure(settings.lemmy_url, min(timeout, 5.0))
        if failed is not None:
            # nothing listening yet (Lemmy starting): passing, the daemon waits for it
            kind = LemmyUnavailable if failed.check == "connect" else LemmyError
            raise kind(f"{failed.message} (`modbot doctor` checks every step)")
        probe = Transport(
            settings.lemmy_url,
            settings.username,
            settings.password,
            requests_per_minute=requests_per_minute,
            timeout=timeout,
            read_only=True,
        )
        try:
            found = detect(probe)
        finally:
            probe.close()
        spacing = probe.limiter
    else:
        found = Detected(api_version, "set by lemmy.api in rules.yaml")
    try:
        client = API_VERSIONS[found.api]
    except KeyError:
        known = ", ".join(API_VERSIONS)
        raise LemmyError(f"Lemmy API {found.api!r}: modbot speaks {known}") from None
    log.info("Lemmy API %s: %s", found.api, found.why)
    if found.api == "v4":
        options["report_to_admins"] = report_to_admins
    # One cap for the question and the client (Lemmy's rate limiter counts both): the
    # client's first request waits its turn after the probe's last.
    return client(
        settings.lemmy_url,
        settings.username,
        settings.password,
        pictrs_url=settings.pictrs_url,
        pictrs_api_key=settings.pictrs_api_key,
        requests_per_minute=requests_per_minute,
        timeout=timeout,
        read_only=read_only,
        limiter=spacing,
        **options,
    )
