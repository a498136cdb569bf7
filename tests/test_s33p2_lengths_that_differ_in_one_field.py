"""A ``Content-Length`` field listing lengths that differ (``77, 78``), or a number and
nothing (``42,``), is refused as browsers refuse it, and the record says why: the
parser's "Invalid character in Content-Length". Reading the body's length for the
bytes after it (2449aff) took such a field for one value and failed inside the parser's
feed, which aiohttp records as "broken HTTP answer: status 0": a record that tells an
admin nothing.

A public host name is played by a local server (the fetcher's ``dial``), as in
``test_s33p_bytes_after_the_length``.
"""

from __future__ import annotations

import pytest
from test_s33p_bytes_after_the_length import PNG, fetch

from modbot.fetch import FetchSkipped


@pytest.mark.parametrize(
    "lengths",
    [b"9, 10", b"42,", b"%d, %d" % (len(PNG), len(PNG) + 1)],
    ids=["two", "one-and-none", "its-own-and-another"],
)
def test_lengths_that_differ_in_one_field_are_refused_saying_why(lengths):
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: "
        + lengths
        + b"\r\n\r\n"
        + PNG
    )
    (got,), _connections = fetch(answer, times=1)
    assert isinstance(got, FetchSkipped)
    assert got.reason == "protocol_error"
    assert "Content-Length" in str(got), str(got)
    assert "status 0" not in str(got)
