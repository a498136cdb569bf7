"""Bytes after a chunked body's last chunk (and its trailers): browsers read the body to
its last chunk, drop what follows and use that connection no more (Chromium's
HttpStreamParser: bytes_after_eof). aiohttp's parser read them as the next answer's
status line and refused the answer (``protocol_error``: the image everyone saw never
judged). Now the chunks are walked as they come: what follows their end is not handed
on, and the connection is closed after it.
"""

from __future__ import annotations

import pytest
from test_s31w_browser_framing import PNG, chunked, fetch

JUNK = b"this is no answer\r\n\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("piece", [0, 1, 7], ids=["at-once", "byte-by-byte", "in-pieces"])
@pytest.mark.parametrize(
    "body",
    [chunked(PNG) + JUNK, chunked(PNG)[:-2] + b"X-Trailer: 1\r\n\r\n" + JUNK],
    ids=["junk", "trailer-then-junk"],
)
def test_the_image_before_the_junk_is_judged(body, piece):
    (got,), _ = fetch(CHUNKED + body, piece=piece)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_connection_that_sent_junk_is_not_used_again():
    got, connections = fetch(CHUNKED + chunked(PNG) + JUNK, times=2)
    assert all(not isinstance(g, Exception) and g.data == PNG for g in got), got
    assert connections == 2
    # chunks with nothing after them keep their connection, as before
    got, connections = fetch(CHUNKED + chunked(PNG), times=2)
    assert all(not isinstance(g, Exception) and g.data == PNG for g in got), got
    assert connections == 1
