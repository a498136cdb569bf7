"""Which API an instance speaks: asked of the server, never guessed from the URL.

Lemmy 1.0 answers API v3 too, but only for browsing: every moderation call of v3 is a
404 there. So the bot must know before its first action. In order:

1. ``GET /nodeinfo/2.1``: ``software.version``'s major number; ``1.x`` and later speak
   v4, ``0.x`` v3 (a 1.0 nightly or a build from git reads ``1.0.0-…`` too);
2. when nodeinfo says nothing usable (hidden by a proxy, another software name):
   ``GET /api/v4/site``, which only 1.0 answers (0.19: 404), then ``GET /api/v3/site``.

``detect(transport)`` gives the API and why, in words for the start-up line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from modbot.errors import LemmyError, LemmyUnavailable
from modbot.lemmy.transport import Transport

__all__ = ["Detected", "api_of_version", "detect"]

log = logging.getLogger(__name__)

_MAJOR = re.compile(r"\s*v?(\d+)\.")


@dataclass(frozen=True)
class Detected:
    api: str  # "v3" | "v4"
    why: str  # "nodeinfo says Lemmy 1.0.0-beta.1"


def api_of_version(version: str) -> str | None:
    """The API of a Lemmy version string: ``1.0.0-beta.1`` -> v4, ``0.19.9`` -> v3."""
    found = _MAJOR.match(version or "")
    if found is None:
        return None
    return "v4" if int(found.group(1)) >= 1 else "v3"


def _get(transport: Transport, path: str) -> dict[str, Any] | None:
    """``path``'s JSON object, or None when the instance has no such route (404)."""
    url = f"{transport.url}{path}"
    try:
        return transport.retrying(
            f"GET {path}",
            lambda: transport.send("GET", url, auth=False, follow_redirects=True),
            auth=False,
        )
    except LemmyUnavailable:
        raise
    except LemmyError as exc:
        if exc.status in (404, 405):
            return None
        raise


def detect(transport: Transport) -> Detected:
    """Ask the instance which API it speaks (see the module's docstring)."""
    try:
        nodeinfo = _get(transport, "/nodeinfo/2.1")
    except LemmyUnavailable:
        raise
    except LemmyError as exc:  # a proxy in the way: the API routes may still tell
        log.debug("nodeinfo: %s", exc)
        nodeinfo = None
    software = (nodeinfo or {}).get("software") or {}
    if isinstance(software, dict) and str(software.get("name", "")).lower() == "lemmy":
        version = str(software.get("version") or "")
        api = api_of_version(version)
        if api is not None:
            return Detected(api, f"nodeinfo says Lemmy {version}")
    site = _get(transport, "/api/v4/site")
    if site is not None:
        return Detected("v4", f"/api/v4/site answers (Lemmy {site.get('version') or '1.x'})")
    site = _get(transport, "/api/v3/site")
    if site is not None:
        version = str(site.get("version") or "")
        api = api_of_version(version) or "v3"
        return Detected(api, f"/api/v3/site answers and /api/v4/site does not (Lemmy {version})")
    raise LemmyError(
        f"{transport.shown} answers neither nodeinfo nor /api/v4/site nor /api/v3/site: is "
        "LEMMY_URL the Lemmy instance? (or set lemmy.api: v3 or v4 in rules.yaml)"
    )
