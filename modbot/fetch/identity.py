"""How the downloader presents itself: the User-Agent and Accept headers of a request.

A host can serve a scanner one thing and people another ("cloaking"): an HTML page or
a harmless picture to anything that says it is a bot, the real image to browsers. So by
default (``fetch.user_agent: browser``) images on other hosts are asked for as a
browser's ``<img>`` asks for them. The instance's own hosts (Lemmy, its pict-rs) have
no reason to cloak and their admin should see modbot in their logs: they always get
modbot's own User-Agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from modbot import __version__

__all__ = [
    "BROWSER_USER_AGENT",
    "MODBOT_USER_AGENT",
    "Identity",
    "check_user_agent",
    "host_port",
    "origin",
]

MODBOT_USER_AGENT = f"modbot/{__version__} (Lemmy automoderator)"
# Firefox ESR on Windows, the most common desktop pairing; no word of a bot in it
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
)
# What Firefox sends for an <img> on another site (no cookies, no Referer: as a private
# window or a strict referrer policy sends it)
_BROWSER_IMAGE = {
    "Accept": "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "Accept-Language": "en-US,en;q=0.5",
    "Accept-Encoding": "gzip, deflate",  # the encodings the fetcher inflates (bounded)
    "Sec-Fetch-Dest": "image",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Site": "cross-site",
}
_MODBOT_IMAGE = {"Accept": "image/*", "Accept-Encoding": "identity"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_user_agent(value: str) -> str:
    """``fetch.user_agent``: ``browser``, ``modbot`` or a User-Agent of one's own (one
    line of printable ASCII, as HTTP allows); ``ValueError`` saying so otherwise."""
    text = value.strip()
    if not text or len(text) > 300 or not all(" " <= c <= "~" for c in text):
        raise ValueError(
            "use browser (the default: images on other hosts are asked for as a browser "
            "does), modbot (modbot's own User-Agent everywhere), or a User-Agent in quotes "
            "(printable ASCII on one line, at most 300 characters)"
        )
    return text


class Identity:
    """The headers of an image request to a URL: ``user_agent`` is ``browser``,
    ``modbot`` or a User-Agent of one's own (sent with a browser's Accept headers);
    ``own_urls``: the instance's URLs, whose hosts always get modbot's headers."""

    def __init__(self, user_agent: str = "browser", own_urls: Iterable[str] = ()) -> None:
        self.user_agent = check_user_agent(user_agent)
        self._own = {key for url in own_urls if (key := host_port(url)) is not None}

    def headers_for(self, url: str) -> dict[str, str]:
        if self.user_agent == "modbot" or host_port(url) in self._own:
            return {"User-Agent": MODBOT_USER_AGENT, **_MODBOT_IMAGE}
        agent = BROWSER_USER_AGENT if self.user_agent == "browser" else self.user_agent
        return {"User-Agent": agent, **_BROWSER_IMAGE}


def host_port(url: str) -> tuple[str, int] | None:
    """``url``'s host (lower case) and port (the scheme's default if none), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname.lower(), port


def origin(url: str) -> tuple[str, str, int] | None:
    """``url``'s origin: its scheme and host (lower case) and port (the scheme's default
    if none), or None. What a credential is bound to, as browsers bind cookies and
    logins: the same host and port in another scheme is another server (``http://h:443``
    is no TLS, whatever the port)."""
    key = host_port(url)
    if key is None:
        return None
    return urlsplit(url).scheme.lower(), *key
