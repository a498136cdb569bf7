"""Interim (1xx) answers before an image's own are read in turn, and a host cannot hold
the bot with them: past ``MAX_INTERIM`` the answer is broken (``protocol_error``).

Before, each interim head in a read copied (and searched) everything after it, so a host
streaming ``100 Continue`` heads kept the event loop busy for seconds per 256 KiB read
(every other download waited, and timed out), and the image came through after any
number of them.

A public host name is played by a local server (the fetcher's ``dial``), as in
``test_s31w_browser_framing``.
"""

from __future__ import annotations

import pytest
from test_s31w_browser_framing import PNG, N, fetch

from modbot.fetch import ProtocolFailure
from modbot.fetch.framing import MAX_INTERIM

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: %d, %d\r\n\r\n" % (N, N) + PNG


def interim_then_image(count: int) -> bytes:
    """After the Host's ``100 Continue`` status line: ``count`` interim answers in all,
    then the image (its length repeated, as only the head rewrite reads it)."""
    return b"\r\n" + CONTINUE * (count - 1) + FINAL


@pytest.mark.timeout(15)  # before: ~3 s of a busy event loop per 256 KiB read
def test_a_stream_of_interim_answers_is_refused_at_once():
    (got,), _ = fetch(interim_then_image(2 * 1024 * 1024 // len(CONTINUE)), status=b"100 Continue")
    assert isinstance(got, ProtocolFailure)
    assert f"more than {MAX_INTERIM} interim (1xx) answers" in got.message


def test_the_interim_answers_allowed_are_read_and_one_more_is_refused():
    (got,), _ = fetch(interim_then_image(MAX_INTERIM), status=b"100 Continue")
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    (got,), _ = fetch(interim_then_image(MAX_INTERIM + 1), status=b"100 Continue")
    assert isinstance(got, ProtocolFailure)
    assert "interim (1xx)" in got.message


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_interim_answers_in_pieces_are_read_in_turn(piece):
    (got,), _ = fetch(interim_then_image(5), piece=piece, status=b"100 Continue")
    assert not isinstance(got, Exception), got
    assert got.data == PNG
