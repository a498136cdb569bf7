"""Any 1xx answer but 101 with no body (no ``Content-Length`` but 0, no
``Transfer-Encoding``) is an interim answer: the head after it is read as browsers read
it, and it counts toward ``MAX_INTERIM``. aiohttp's parser (llhttp) reads such an
answer as bodiless too, whatever its code.

Before, only 100, 102 and 103 were taken for interim answers: after a bodiless ``104``
(or 150, 199, ...) the final head reached the parser as it came, so an image whose
``Content-Length`` was repeated with one value (read by browsers) was ``protocol_error``,
hidden from the bot, and a stream of ``150`` heads passed the cap of 32 uncounted.

A 1xx answer with a body (a length, or a ``Transfer-Encoding``) still reaches the parser
as it came: ``test_s31t_1xx_body``.
"""

from __future__ import annotations

import pytest
from test_s31w_browser_framing import PNG, N, fetch

from modbot.fetch import ProtocolFailure
from modbot.fetch.framing import MAX_INTERIM

# the image's length repeated with one value: read only by the head rewrite
FINAL = b"HTTP/1.1 200 OK\r\nContent-Length: %d, %d\r\n\r\n" % (N, N) + PNG
# how the Host's 1xx head (status line and Content-Type) ends
BODILESS = {"no-length": b"\r\n", "length-0": b"Content-Length: 0\r\n\r\n"}


@pytest.mark.parametrize("end", BODILESS.values(), ids=list(BODILESS))
@pytest.mark.parametrize("code", [104, 150, 199])
def test_the_image_after_a_bodiless_1xx_answer_is_read_as_browsers_read_it(code, end):
    (got,), _ = fetch(end + FINAL, status=b"%d Odd" % code)
    assert not isinstance(got, Exception), got
    assert got.data == PNG


@pytest.mark.parametrize("piece", [1, 4096])
def test_in_pieces_too(piece):
    (got,), _ = fetch(b"\r\n" + FINAL, piece=piece, status=b"150 Odd")
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_stream_of_other_1xx_answers_is_refused_past_the_cap():
    odd = b"HTTP/1.1 150 Odd\r\n\r\n"
    (got,), _ = fetch(b"\r\n" + odd * (MAX_INTERIM - 1) + FINAL, status=b"150 Odd")
    assert not isinstance(got, Exception), got
    assert got.data == PNG
    (got,), _ = fetch(b"\r\n" + odd * MAX_INTERIM + FINAL, status=b"150 Odd")
    assert isinstance(got, ProtocolFailure)
    assert f"more than {MAX_INTERIM} interim (1xx) answers" in got.message


def test_the_cap_counts_every_interim_code_together():
    mixed = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 104 Odd\r\nContent-Length: 0\r\n\r\n"
    (got,), _ = fetch(b"\r\n" + mixed * (MAX_INTERIM // 2) + FINAL, status=b"199 Odd")
    assert isinstance(got, ProtocolFailure)
    assert "interim (1xx)" in got.message
