"""An HTTP/1.0 answer that says ``Transfer-Encoding: chunked`` and sends its body as it
is (no chunks): HTTP/1.0 has no transfer codings (RFC 9112 §6.1), and browsers read no
chunks in an HTTP/1.0 answer (Chromium's IsChunkEncoded, Firefox's nsHttpTransaction):
they show the body read to the connection's end. aiohttp's parser read chunks there and
refused the image (``protocol_error``), never judged. Now the body's first line says
which it is: a chunk's size line is read as chunks (as apps' HTTP clients read it),
anything else is the body as it came, to the connection's end, as browsers read it.
"""

from __future__ import annotations

from test_s31w_browser_framing import PNG, chunked
from test_s34x_error_status_image import fetch

from fakelemmy import hostile
from modbot.fetch import FetchLimits, NotAnImage, TooLarge

HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_a_raw_body_is_read_as_browsers_read_it():
    got = fetch(HEAD + PNG)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_raw_body_in_one_byte_pieces_too():
    got = fetch(HEAD + PNG, piece=1)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_raw_body_with_keep_alive_is_read_to_the_connections_end():
    head = HEAD.replace(b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n")
    got = fetch(head + PNG)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_chunks_are_still_read_as_chunks():
    got = fetch(HEAD + chunked(PNG), piece=3)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_raw_body_is_still_bounded():
    got = fetch(HEAD + b"\0" * 300_000, limits=FetchLimits(max_bytes=100_000))
    assert isinstance(got, TooLarge), got
    jpeg = hostile.jpeg()
    whole = fetch(HEAD + jpeg + b"\0" * 300_000, limits=FetchLimits(max_bytes=100_000))
    assert not isinstance(whole, Exception) and whole.data == jpeg, whole


def test_a_short_raw_body_ended_by_the_close_is_read_as_it_came():
    # no line end in it before the connection closed: no chunk's size line either
    got = fetch(HEAD.replace(b"image/png", b"text/plain") + b"Hello")
    assert isinstance(got, NotAnImage) and "first bytes 48656c6c6f" in got.message, got
