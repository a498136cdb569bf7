"""An animation of very many tiny frames: the work of decoding it grows with its frames,
not with their square (a 4.6 MB GIF of 200,000 one-pixel frames held a decode thread
for 8 minutes, checking each frame against the whole plan)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import classifier.budget
from classifier.budget import DecodeBudget
from classifier.preprocess import PreprocessConfig, decode_image

BUDGET_FILE = str(Path(classifier.budget.__file__).resolve())


def gif_of_tiny_frames(frames: int) -> bytes:
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"!\xf9\x04\x00\x00\x00\x00\x00"  # graphic control
        + b","
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"  # one pixel of colour 0
    )
    return head + loop + frame * frames + b";"


def budget_lines_run(data: bytes) -> int:
    """Lines of classifier/budget.py run while decoding ``data``: its share of the work,
    counted, not timed."""
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename == BUDGET_FILE else None

    sys.settrace(calls)
    try:
        decoded = decode_image(data, PreprocessConfig(), budget=DecodeBudget(10**9))
    finally:
        sys.settrace(None)
    assert len(decoded.regions) == 4  # four frames sampled, the last one included
    return count[0]


def test_checking_the_frames_of_an_animation_grows_with_its_frames_not_their_square():
    once = budget_lines_run(gif_of_tiny_frames(1500))
    twice = budget_lines_run(gif_of_tiny_frames(3000))
    assert twice < 2.5 * once, (once, twice)
