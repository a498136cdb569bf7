"""Is LEMMY_URL a Lemmy modbot can use? Each step of getting there, checked on its own
so that a failure says which one and what to do: the URL's shape, DNS, the TCP
connection, TLS, whether it is Lemmy and which version (nodeinfo), and pict-rs' API key.

Used by ``modbot doctor`` and, the cheap socket-level steps, by ``modbot run`` before it
logs in (``modbot.doctor``). Nothing here logs in or changes anything.
"""

from __future__ import annotations

import re
import socket
import ssl
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from modbot.lemmy.transport import USER_AGENT, shown_url

__all__ = ["Finding", "api_for", "identify", "pictrs_key", "proxy_for", "reach", "url_problem"]

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"


@dataclass(frozen=True)
class Finding:
    """One check: ``status`` ok, warn or FAIL, and what it found in words."""

    check: str
    status: str
    message: str
    # ``identify``'s: the time in the answer's Date header (doctor's clock check reads it
    # there rather than asking nodeinfo again); None when it sent none usable
    date: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def url_problem(url: str, name: str = "LEMMY_URL") -> str | None:
    """What is wrong with the shape of an instance URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{name} {shown_url(url)!r} is not an http:// or https:// URL with a host"
    path = parts.path.rstrip("/")
    # a password written for basic auth (user:password@host) is shown as ***
    user, at, host = parts.netloc.rpartition("@")
    if at and parts.password is not None:
        user = f"{user.partition(':')[0]}:***"
    base = f"{parts.scheme}://{user}{at}{host}"
    if name == "PICTRS_URL" and path:
        # Lemmy's /pictrs route (https://lemmy.example/pictrs) serves images, not
        # pict-rs' internal API: the instance's address is no answer here
        return (
            f"{name} has a path ({path}): give pict-rs' own address, as Lemmy's config "
            "pictrs.url has it (e.g. http://pictrs:8080), not Lemmy's /pictrs route, "
            "which does not pass on pict-rs' internal API"
        )
    if re.search(r"/api(/v\d+)?$", path) or "/api/v" in path:
        return (
            f"{name} ends in the API path ({path}): give the instance's address, {base}; "
            "modbot adds the API path (/api/v3 or /api/v4, as the instance speaks) itself"
        )
    if path:
        return f"{name} has a path ({path}): give the instance's address without one, {base}"
    return None


def _port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def proxy_for(url: str) -> str | None:
    """The proxy the HTTP client goes through for ``url`` (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY`` less ``NO_PROXY``, as httpx reads them), or None."""
    proxies = urllib.request.getproxies()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxy


def first_problem(url: str, timeout: float = 5.0, name: str = "LEMMY_URL") -> str | None:
    """The URL's shape, DNS, the connection, TLS (sockets only, no HTTP request): the
    first problem in words, or None."""
    failed = first_failure(url, timeout, name)
    return failed.message if failed is not None else None


def first_failure(url: str, timeout: float = 5.0, name: str = "LEMMY_URL") -> Finding | None:
    """``first_problem`` as the failed check (``url``, ``dns``, ``connect``, ``tls``)."""
    problem = url_problem(url, name)
    if problem:
        return Finding("url", FAIL, problem)
    for finding in reach(url, timeout, name):
        if finding.failed:
            return finding
    return None


def reach(url: str, timeout: float = 5.0, name: str = "LEMMY_URL") -> list[Finding]:
    """DNS, then a TCP connection, then (https) a TLS handshake with the certificate
    checked; stops at the first that fails. Behind a proxy these are the proxy's: skipped."""
    host, port = _port(url)
    found: list[Finding] = []
    proxy = proxy_for(url)
    if proxy:
        # host[:port] only: a proxy URL may carry a user and password (user:pass@host),
        # and doctor's output is pasted into bug reports
        where = (urlsplit(proxy).netloc or proxy).rpartition("@")[2]
        found.append(Finding("connect", SKIP, f"through the proxy {where}: not checked here"))
        return found
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        found.append(
            Finding(
                "dns",
                FAIL,
                f"cannot resolve {host} ({exc.strerror}): check the host in {name}; in "
                "Docker Compose use the service name on a network modbot shares (e.g. "
                "http://lemmy:8536)",
            )
        )
        return found
    address = infos[0][4]
    found.append(Finding("dns", OK, f"{host} resolves to {address[0]}"))
    try:
        sock = socket.create_connection((str(address[0]), port), timeout=timeout)
    except ConnectionRefusedError:
        found.append(
            Finding(
                "connect",
                FAIL,
                f"{host}:{port} refused the connection: nothing listens there. Is Lemmy "
                f"up, and is {port} its port (Lemmy's own is 8536, behind nginx 80/443)?",
            )
        )
        return found
    except TimeoutError:
        found.append(
            Finding(
                "connect",
                FAIL,
                f"no answer from {host}:{port} within {timeout:g} s: a firewall drops it, "
                "or the address is wrong",
            )
        )
        return found
    except OSError as exc:
        found.append(
            Finding("connect", FAIL, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
        )
        return found
    with sock:
        found.append(Finding("connect", OK, f"{host}:{port} accepts connections"))
        if urlsplit(url).scheme != "https":
            return found
        try:
            with ssl.create_default_context().wrap_socket(sock, server_hostname=host) as tls:
                found.append(Finding("tls", OK, f"TLS {tls.version()}, certificate valid"))
        except ssl.SSLCertVerificationError as exc:
            found.append(
                Finding(
                    "tls",
                    FAIL,
                    f"the TLS certificate of {host} is not valid ({exc.verify_message}): "
                    "fix the certificate, or use the instance's internal http:// URL",
                )
            )
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            found.append(
                Finding(
                    "tls",
                    FAIL,
                    f"{host}:{port} does not speak TLS ({reason}): use http:// for this "
                    "port, or the port that serves https",
                )
            )
    return found


def api_for(version: str) -> str | None:
    """The API version a Lemmy release speaks (0.19: v3, 1.x: v4); None when modbot
    cannot work with it (before 0.19)."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 1:
        return "v4"
    return "v3" if minor >= 19 else None


def identify(
    url: str, timeout: float = 10.0, speaks: tuple[str, ...] = ("v3",), pinned: str = "auto"
) -> Finding:
    """Whether ``url`` is Lemmy (its nodeinfo says so) and a version modbot speaks;
    ``pinned``: the API rules.yaml's ``lemmy.api`` asks (``auto``: the instance's). The
    finding's ``date``: the answer's Date header, Lemmy's clock."""
    shown = shown_url(url)  # a basic-auth password in LEMMY_URL stays out of the message
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        ) as http:
            answer = http.get(f"{url}/nodeinfo/2.0.json")
    except httpx.HTTPError as exc:
        return Finding("lemmy", FAIL, f"{shown}: no answer to nodeinfo ({type(exc).__name__})")
    return replace(_lemmy_of(answer, shown, speaks, pinned), date=_date(answer))


def _date(answer: httpx.Response) -> datetime | None:
    """The time an answer's Date header gives, or None (none, malformed, no zone)."""
    try:
        when = parsedate_to_datetime(answer.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def _lemmy_of(answer: httpx.Response, shown: str, speaks: tuple[str, ...], pinned: str) -> Finding:
    """What nodeinfo's answer says of the instance (``identify``)."""
    if answer.status_code in (502, 503, 504):
        return Finding(
            "lemmy",
            FAIL,
            f"{shown} answers HTTP {answer.status_code} to nodeinfo: the proxy in front of "
            "Lemmy cannot reach it (Lemmy down, starting or overloaded?); check that Lemmy "
            "runs (its logs), then try again",
        )
    body: Any = None
    if answer.status_code == 200:
        try:
            body = answer.json()
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            body = None
    software = body.get("software") if isinstance(body, dict) else None
    if not isinstance(software, dict):
        return Finding(
            "lemmy",
            FAIL,
            f"{shown} answers (HTTP {answer.status_code}) but not as a Lemmy instance (no "
            "nodeinfo): is LEMMY_URL the Lemmy instance, not its front page or another site?",
        )
    name, version = str(software.get("name")), str(software.get("version") or "?")
    if name.lower() != "lemmy":
        return Finding("lemmy", FAIL, f"{shown} is {name} {version}, not Lemmy")
    api = api_for(version)
    if api is None:
        return Finding(
            "lemmy", FAIL, f"Lemmy {version}: modbot needs Lemmy 0.19 or later; upgrade it"
        )
    if api not in speaks:
        return Finding(
            "lemmy",
            WARN,
            f"Lemmy {version} (API {api}): this modbot speaks {', '.join(speaks)}; reads "
            "may work, actions will fail",
        )
    if pinned not in ("auto", api):
        broken = (
            "from 1.0 the v3 API has no remove, purge or ban: every action would fail"
            if api == "v4"
            else "Lemmy 0.19 has no v4 API: every request would fail"
        )
        return Finding(
            "lemmy",
            FAIL,
            f"Lemmy {version} speaks API {api}, but rules.yaml has lemmy.api: {pinned}; "
            f"{broken}. Set lemmy.api: auto (or {api})",
        )
    return Finding("lemmy", OK, f"Lemmy {version} (API {api})")


def pictrs_key(url: str, key: str, timeout: float = 10.0) -> Finding:
    """pict-rs' internal API answers with this key (an alias lookup that changes nothing)."""
    shown = shown_url(url)  # a basic-auth password in PICTRS_URL stays out of the message
    try:
        with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as http:
            answer = http.get(
                f"{url}/internal/aliases",
                params={"alias": "modbot-doctor-check.png"},
                headers={"X-Api-Token": key},
            )
    except httpx.HTTPError as exc:
        return Finding(
            "pictrs",
            FAIL,
            f"PICTRS_URL {shown}: no answer ({type(exc).__name__}); it is pict-rs' own "
            "address (e.g. http://pictrs:8080), not Lemmy's",
        )
    if answer.status_code in (401, 403):
        return Finding(
            "pictrs",
            FAIL,
            f"pict-rs refused PICTRS_API_KEY (HTTP {answer.status_code}): it must equal "
            "pict-rs' server.api_key (PICTRS__SERVER__API_KEY; Lemmy's pictrs.api_key)",
        )
    status, kind = answer.status_code, answer.headers.get("content-type") or "no content type"
    if 300 <= status < 400:
        return Finding(
            "pictrs",
            FAIL,
            f"PICTRS_URL {shown} redirects (HTTP {status} to "
            f"{shown_url(answer.headers.get('location') or '?')}): its internal API does not; give "
            "pict-rs' own address (e.g. http://pictrs:8080), not a proxy or web page in front",
        )
    try:
        body = answer.json() if "json" in kind else None
    except (ValueError, RecursionError):
        body = None
    # pict-rs answers its internal API in JSON with a "msg", an error as much as
    # {"msg": "ok", "aliases": []}: a web page (a reverse proxy's, Lemmy's front end)
    # answering 200 says nothing about the key
    if status >= 500 or not isinstance(body, dict) or "msg" not in body:
        return Finding(
            "pictrs",
            FAIL,
            f"PICTRS_URL {shown} answered HTTP {status} ({kind}) to its internal API, not "
            "pict-rs' JSON: is it pict-rs (0.4+) with an api_key set, at its own address "
            "(e.g. http://pictrs:8080), not Lemmy's or a web page in front of it?",
        )
    return Finding("pictrs", OK, f"pict-rs at {shown} accepts the API key")
