"""Where an answer's body ends, read as browsers read it.

aiohttp's parser (llhttp) refuses answers every browser shows: ``Transfer-Encoding:
chunked`` together with a ``Content-Length`` (RFC 9112 §6.3: the Transfer-Encoding
overrides it; chunked anywhere in an HTTP/1.1 answer's list, as browsers read it), a
``Transfer-Encoding`` browsers do not read (any in HTTP/1.0, which has none: RFC 9112
§6.1; one without chunked) together with a ``Content-Length`` (browsers read the
length), a ``Content-Length`` repeated with one value (two fields, or ``42,
42``: RFC 9110 §8.6, the Fetch standard's "extract a length"), and a ``Content-Length`` that is
no number (browsers read the body to the connection's end). It has no option for
these, and its pure-Python parser (``AIOHTTP_NO_EXTENSIONS``, for the whole process)
refuses them too. A host that answers so hid its image from the bot (``protocol_error``,
never judged) while everyone else saw it.

So each answer's head (status line and fields) is read here before the parser sees it,
and only those fields are rewritten: with chunked framing the ``Content-Length`` is
dropped and the coding given as ``chunked``, a ``Transfer-Encoding`` browsers do not
read beside a length is dropped (in both cases the connection is not kept: such
framing is suspect, RFC 9112 §6.1 and §6.3), a
length repeated with one value is given once, and one that is no number is dropped. A
length that differs between its copies is left for the parser to refuse, as browsers
refuse it. Everything else reaches the
parser byte for byte: its limits, the fetcher's byte caps and the pinned address (the
connection is made before any of this) are unchanged. A head longer than browsers read
(``MAX_HEAD``) is not held, but handed on as it came. Interim answers (any 1xx but 101
that the parser reads no body after) are read in turn, at most ``MAX_INTERIM`` of them:
past that the answer is broken (``protocol_error``). And the bytes after a body its
``Content-Length`` bounds are not handed on (``_BrowserFraming._within``): browsers read
none, and use no connection again that sent them; the parser refused the answer, or
read them as the next one's. Such bytes coming later than the body's end reach the next
request's answer on the kept connection: where the parser refuses an answer there that
does not begin with a status line, the error says so (``NotAnAnswer``), and the fetcher
asks again, once, on a new connection, as browsers do.

The parser is wrapped per answer by the connection's protocol (``ResponseHandler``),
which the fetcher's connector makes (``use_browser_framing``).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler as _AiohttpResponseHandler
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError

__all__ = [
    "MAX_HEAD",
    "MAX_INTERIM",
    "NotAnAnswer",
    "ResponseHandler",
    "as_browsers_frame",
    "not_an_answer",
    "use_browser_framing",
]

# The longest answer head held to be read: more than browsers take (Chromium 256 KiB,
# Firefox 384 KiB), so a host cannot pad its head past it to be shown yet unread. One
# per connection (``FetchLimits.max_concurrency``).
MAX_HEAD = 512 * 1024
# The interim (1xx) answers read before an answer's own: a host sending them without end
# held the bot on one request (aiohttp reads any number). Servers send one or two.
MAX_INTERIM = 32

# The 1xx answers llhttp never reads a body after. It reads one after any other 1xx (but
# 101, which switches protocols) whose head gives a length or a Transfer-Encoding.
_BODILESS = frozenset({100, 102, 103})
_STATUS = re.compile(rb"HTTP/(\d)\.(\d) +(\d{3})")
_DIGITS = re.compile(rb"[0-9]+\Z")
_LINES = re.compile(rb"[^\n]*\n|[^\n]+\Z")


class NotAnAnswer(BadHttpMessage):
    """What a kept connection sent for an answer, refused by the parser, did not begin
    with a status line: bytes its server sent after an earlier answer (a host hiding its
    image need only delay them), not an answer to this request. Browsers send such a
    request again (Chromium's HttpNetworkTransaction resends one whose reused socket
    failed before any answer): the fetcher asks again, once, on a new connection. Its
    message is the parser's."""


def not_an_answer(exc: BaseException | None) -> bool:
    """Whether ``exc`` (aiohttp's error for an answer) came of a ``NotAnAnswer``: aiohttp
    wraps the parser's error in its own, and that in a ``ClientResponseError``, each
    raised from the one before."""
    for _ in range(8):  # a chain of causes is short; never walk one without end
        if exc is None:
            return False
        if isinstance(exc, NotAnAnswer):
            return True
        exc = exc.__cause__
    return False


def as_browsers_frame(head: bytes) -> tuple[bytes, bool]:
    """``head`` (an answer's status line and fields, with the empty line that ends
    them) with its length fields as browsers read them (see the module), and whether
    another head follows it (an interim 1xx answer)."""
    lines = _LINES.findall(head)  # split where the parser splits: at line feeds only
    status = _STATUS.match(lines[0]) if lines else None
    if status is None:
        return head, False  # the parser says what is wrong with it
    version, code = (int(status[1]), int(status[2])), int(status[3])
    fields = [(line.split(b":", 1)[0].lower(), line) for line in lines[1:]]
    interim = _is_interim(code, fields)
    if any(line[:1] in (b" ", b"\t") for line in lines[1:]):
        return head, interim  # a folded field: left as it is
    lengths = [line for name, line in fields if name == b"content-length"]
    ending = lines[1][len(lines[1].rstrip(b"\r\n")) :] if len(lines) > 1 else b"\r\n"
    if not lengths:
        return head, interim
    if any(name == b"transfer-encoding" for name, _ in fields):
        codings = [
            coding.lower()
            for name, line in fields
            if name == b"transfer-encoding"
            for coding in _values(line)
        ]
        # llhttp refuses a length beside a Transfer-Encoding. Browsers (Chromium's
        # IsChunkEncoded, Firefox's nsHttpTransaction) read the chunks when an HTTP/1.1
        # answer lists chunked anywhere in it; else the length, reading no other
        # transfer coding, nor any in HTTP/1.0, which has none (RFC 9112 §6.1: its
        # framing is faulty). (Without a length llhttp reads a body as other clients
        # do: left to it.)
        chunked = version >= (1, 1) and b"chunked" in codings
        # such framing is suspect (RFC 9112 §6.1, §6.3): the connection is closed after it
        # (its own Connection fields dropped: llhttp keeps an HTTP/1.0 connection that
        # says keep-alive, whatever follows)
        dropped = {b"transfer-encoding", b"connection"} | (
            {b"content-length"} if chunked else set()
        )
        kept = [line for name, line in fields if name not in dropped]
        framing = b"Connection: close" + ending
        if chunked:  # the chunks say where the body ends
            framing = b"Transfer-Encoding: chunked" + ending + framing
        head = lines[0] + b"".join(kept[:-1]) + framing + kept[-1]
        if chunked:
            return head, interim
        lines = _LINES.findall(head)  # the length as any other (below)
        fields = [(line.split(b":", 1)[0].lower(), line) for line in lines[1:]]
    values = {value for line in lengths for value in _values(line)}
    if len(values) != 1:
        return head, interim  # lengths that differ: the parser refuses them, as browsers
    (value,) = values
    if not _DIGITS.match(value):
        # no number (or nothing): browsers read the body to the connection's end
        kept = [line for name, line in fields if name != b"content-length"]
        return lines[0] + b"".join(kept), interim
    if len(lengths) == 1 and b"," not in lengths[0]:
        return head, interim  # one length: as it came
    single = b"Content-Length: " + value + ending
    out, placed = [lines[0]], False
    for name, line in fields:
        if name != b"content-length":
            out.append(line)
        elif not placed:
            out.append(single)
            placed = True
    return b"".join(out), interim


def _is_interim(code: int, fields: list[tuple[bytes, bytes]]) -> bool:
    """Whether an answer with status ``code`` and ``fields`` (name, line) is an interim
    one: another head follows it, no body between. llhttp reads a 1xx answer (but 101)
    as bodiless unless it has a Transfer-Encoding or a length above 0; all after one that
    has goes to the parser as it came, so the rewrite never runs where it reads a body."""
    if code in _BODILESS:
        return True
    if not 100 <= code < 200 or code == 101:
        return False
    if any(name == b"transfer-encoding" for name, _ in fields):
        return False
    values = (
        value for name, line in fields if name == b"content-length" for value in _values(line)
    )
    return all(_DIGITS.match(value) and int(value) == 0 for value in values)


def _values(line: bytes) -> list[bytes]:
    """The values of a field ``line`` (``Content-Length: 42, 42``): split at commas,
    each without the spaces, tabs and line end around it."""
    return [value.strip(b" \t\r\n") for value in line.split(b":", 1)[1].split(b",")]


_HEAD_END = re.compile(rb"\n\r?\n")


def _head_end(data: bytes | bytearray, start: int) -> int | None:
    """Where the head in ``data`` ends (after its empty line), searching from
    ``start``; None when it has not come whole yet. (Searched for once: two ``find``
    calls, one for each ending, would each scan all that follows, once per head.)"""
    found = _HEAD_END.search(data, start)
    return None if found is None else found.end()


class _BrowserFraming:
    """One answer's parser, handed each head rewritten (``as_browsers_frame``) and all
    else as it came. Any other call goes to the parser itself."""

    def __init__(self, parser: Any, close: Callable[[], None], reused: bool = False) -> None:
        self._parser = parser
        self._reused = reused  # the connection answered before (``NotAnAnswer``)
        self._close = close  # the connection is not used again
        self._head = bytearray()  # (appended to in place: a head may come byte by byte)
        self._searched = 0  # how far the head was searched for its end
        self._passing = False  # the final head is through: the rest as it comes
        self._interim = 0  # interim answers read
        self._left: int | None = None  # the body's bytes yet to come, by its length

    def _within(self, data: bytes) -> bytes:
        """What of ``data`` is the body (by its ``Content-Length``). Browsers read no
        more, and use no connection again that sent more (Chromium's
        CanReuseConnection); llhttp refused the answer, or read the bytes as the next
        one's: an image people saw was ``protocol_error``."""
        if self._left is None or len(data) <= self._left:
            if self._left is not None:
                self._left -= len(data)
            return data
        body, self._left = data[: self._left], 0
        self._close()
        return body

    def feed_data(self, data: bytes) -> tuple[list[Any], bool, bytes]:
        if self._passing:
            data = self._within(data)
            return self._parser.feed_data(data) if data else ([], False, b"")
        self._head += data
        messages: list[Any] = []
        at = 0  # where the next head starts: the buffer is walked, copied once a read
        while True:  # interim heads (1xx) first, each read on its own
            end = _head_end(self._head, max(at, self._searched - 2))
            if end is None:
                del self._head[:at]
                self._searched = len(self._head)
                if len(self._head) <= MAX_HEAD:
                    return messages, False, b""
                end = len(self._head)  # longer than browsers read: handed on as it came
                head, interim, whole = bytes(self._head), False, False
            else:
                head, interim = as_browsers_frame(bytes(self._head[at:end]))
                whole = True
            if not interim:
                rest = bytes(self._head[end:])
                self._head, self._searched, self._passing = bytearray(), 0, True
                self._left = _body_length(head) if whole else None
                more, upgraded, tail = self._feed_first(head + self._within(rest))
                return [*messages, *more], upgraded, tail
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise BadHttpMessage(
                    f"more than {MAX_INTERIM} interim (1xx) answers before the final one"
                )
            more, upgraded, tail = self._parser.feed_data(head)
            messages.extend(more)
            at, self._searched = end, 0
            if upgraded or at == len(self._head):
                rest = bytes(self._head[at:])
                self._head = bytearray()
                return messages, upgraded, tail + rest

    def _feed_first(self, data: bytes) -> tuple[list[Any], bool, bytes]:
        """The parser fed ``data``, its answer's first head and what follows (no interim
        answer before it); where it refuses what a kept connection sent that does not
        begin with a status line, the error is a ``NotAnAnswer``."""
        if not self._reused or self._interim:
            return self._parser.feed_data(data)
        try:
            return self._parser.feed_data(data)
        except HttpProcessingError as exc:
            if _STATUS.match(data):
                raise
            raise NotAnAnswer(exc.message) from exc

    def feed_eof(self) -> Any:
        if self._head:  # a head that never ended: the parser says so
            head, self._head = bytes(self._head), bytearray()
            self._feed_first(head)
        return self._parser.feed_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def _body_length(head: bytes) -> int | None:
    """The length of the body after ``head`` (a final answer's, as the parser gets it):
    its one ``Content-Length``, or None where it has none, or another framing, or no
    body."""
    lines = _LINES.findall(head)
    status = _STATUS.match(lines[0]) if lines else None
    code = int(status[3]) if status else 0
    if code < 200 or code in (204, 304):
        return None
    names = [line.split(b":", 1)[0].lower() for line in lines[1:]]
    if b"transfer-encoding" in names or names.count(b"content-length") != 1:
        return None
    # one number, or none: lengths that differ (``77, 78``) are the parser's to refuse,
    # saying so (an error raised here, inside its feed, is recorded as "status 0")
    values = _values(lines[1 + names.index(b"content-length")])
    return int(values[0]) if len(values) == 1 and _DIGITS.match(values[0]) else None


class ResponseHandler(_AiohttpResponseHandler):
    """aiohttp's connection protocol, each answer's parser wrapped (``_BrowserFraming``)."""

    _answers = 0  # the requests sent on this connection (one answer's params each)

    def set_response_params(self, **params: Any) -> None:
        super().set_response_params(**params)
        self._answers += 1
        if self._parser is not None:
            reused = self._answers > 1
            self._parser = _BrowserFraming(self._parser, self._not_again, reused)  # type: ignore[assignment]

    def _not_again(self) -> None:
        # aiohttp closes a connection whose protocol says ``should_close`` (it reads
        # ``_should_close``, since 3.0) rather than keep it
        self._should_close = True


def use_browser_framing(connector: aiohttp.BaseConnector) -> None:
    """Make ``connector``'s connections read answer heads as browsers do. aiohttp has no
    public setting for its protocol: its connector keeps the factory in ``_factory``
    (since 3.0); a connector without one is left as it is, and the tests of this module
    fail."""
    if hasattr(connector, "_factory"):
        factory = functools.partial(ResponseHandler, loop=asyncio.get_running_loop())
        connector._factory = factory  # type: ignore[assignment]
