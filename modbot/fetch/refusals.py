"""Why an image was not downloaded: a ``FetchSkipped`` subclass per refusal, whose
``reason`` is the short code the decision record's ``skipped`` holds (``bad_url``,
``private_address``, ``timeout``, ``http_404``, ``too_large``, ``not_an_image``...) and
whose ``message`` says why in words. A refusal is not a failure of the run: the record
says it and the rest goes on."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from modbot.errors import ModbotError

__all__ = [
    "BadScheme",
    "BadStatus",
    "BadURL",
    "ConnectFailed",
    "EmptyResponse",
    "FetchSkipped",
    "FetchTimeout",
    "NetworkFailure",
    "NotAnImage",
    "PrivateAddress",
    "ProtocolFailure",
    "TooLarge",
    "TooManyRedirects",
    "UnresolvableHost",
    "redact",
]

# a query parameter whose name (percent-decoded, as servers read it) holds one of these
# is a secret's: pw is a password's usual short name (pw=, pwd=)
_SECRET_PARAMS = ("token", "key", "sig", "auth", "pass", "pw", "cred", "secret", "jwt", "session")


def redact(url: str) -> str:
    """A URL fit for logs: no user info, no values of secret-looking parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(
        f"{k}=***" if _secret(k) else f"{k}={v}" if sep else k
        for k, sep, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))[:300]


def _secret(name: str) -> bool:
    said = unquote(name).lower()
    return any(s in said for s in _SECRET_PARAMS)


class FetchSkipped(ModbotError):
    """An image that was not downloaded; ``reason`` is a short code for the record."""

    reason = "skipped"
    #: a refusal on principle: trying the same image elsewhere must not follow it
    policy = False

    def __init__(self, url: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.message} ({redact(self.url)})"


class BadURL(FetchSkipped):
    reason = "bad_url"
    policy = True


class BadScheme(FetchSkipped):
    reason = "bad_scheme"
    policy = True


class PrivateAddress(FetchSkipped):
    reason = "private_address"
    policy = True


class UnresolvableHost(FetchSkipped):
    reason = "dns_error"


class ConnectFailed(FetchSkipped):
    reason = "connect_error"


class NetworkFailure(FetchSkipped):
    reason = "network_error"


class ProtocolFailure(FetchSkipped):
    reason = "protocol_error"


class FetchTimeout(FetchSkipped):
    reason = "timeout"


class TooManyRedirects(FetchSkipped):
    reason = "too_many_redirects"


class BadStatus(FetchSkipped):
    """A non-2xx answer; ``reason`` is ``http_<status>``, e.g. ``http_404``."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"the server answered HTTP {status}", reason=f"http_{status}")
        self.status = status


class TooLarge(FetchSkipped):
    reason = "too_large"
    policy = True


class EmptyResponse(FetchSkipped):
    reason = "empty"


class NotAnImage(FetchSkipped):
    reason = "not_an_image"
