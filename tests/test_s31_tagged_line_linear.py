"""A checksum tool's tagged line (`SHA256 (NAME) = HASH`, c0fea20) was read by one
regex whose `(.*) ?= ?(\\S+)` backtracks quadratically: a line of `)=` repeated took
2 s at 24 KB, minutes at a few hundred KB (a hash list may be 100 MB), holding the
bot's start, check-rules and the gate. It is read from its end now: the same lines
read the same, a long one in one pass."""

from __future__ import annotations

import pytest

from modbot.hashes import HASH_KINDS, HashFormatError

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (f"SHA256 (a b.jpg) = {SHA}", SHA),
        (f"SHA256 (a b.jpg)= {SHA}", SHA),
        (f"SHA2-256(x = y.jpg)= {SHA}", SHA),
        (f"\\SHA256 (a\\nb.jpg) = {SHA}  ", SHA),
        (f"  SHA-256 ((weird) = name) = {SHA}", SHA),
    ],
)
def test_tagged_lines_read_as_before(line, value):
    assert HASH_KINDS["sha256"].parse_line(line) == value


@pytest.mark.timeout(20)  # a hang guard, not a benchmark: quadratic took minutes here
def test_a_long_line_of_closing_brackets_and_equals_is_refused_in_one_pass():
    line = "SHA256 (" + ")=a" * 100_000 + " x y"  # 300 KB
    with pytest.raises(HashFormatError):
        HASH_KINDS["sha256"].parse_line(line)
