"""An image served as ``multipart/x-mixed-replace`` (a webcam's MJPEG stream): browsers
draw each part of it in turn in an ``<img>``, the last one staying shown. The bot read
the body's first bytes (``--boundary``) as no image: ``not_an_image`` (a stream without
end: ``too_large`` or ``timeout``), so a host could show everyone an image that way
unjudged. Now the last whole image part is judged, as what stays on screen, and the
record says which part of how many it was.
"""

from __future__ import annotations

from test_s31w_browser_framing import PNG
from test_s34x_error_status_image import fetch

from fakelemmy import hostile
from modbot.fetch import FetchLimits, NotAnImage

JPEG = hostile.jpeg()


def stream(parts: list[bytes], boundary: bytes = b"frame", end: bool = True) -> bytes:
    body = b"".join(
        b"--"
        + boundary
        + b"\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(p)
        + p
        + b"\r\n"
        for p in parts
    )
    return body + (b"--" + boundary + b"--\r\n" if end else b"")


def head(boundary: bytes = b"frame") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary="
        + boundary
        + b"\r\nConnection: close\r\n\r\n"
    )


def test_the_last_part_of_a_finished_stream_is_judged():
    got = fetch(head() + stream([JPEG, PNG]))
    assert not isinstance(got, Exception), got
    assert got.data == PNG and got.media_type == "image/png"
    assert "part 2 of 2" in (got.ended_early or ""), got.ended_early


def test_a_quoted_boundary_too():
    got = fetch(head(b'"my frame"') + stream([PNG], b"my frame"))
    assert not isinstance(got, Exception), got
    assert got.data == PNG


def test_a_stream_without_end_is_judged_on_its_last_whole_part_at_the_deadline():
    # the third part never ends: the second is what stays shown
    got = fetch(
        head() + stream([PNG, JPEG], end=False) + b"--frame\r\n\r\n" + JPEG[:100],
        stall=True,
        limits=FetchLimits(total_timeout=2, read_timeout=2),
    )
    assert not isinstance(got, Exception), got
    assert got.data == JPEG and "part 2 of" in (got.ended_early or "")


def test_a_stream_past_the_cap_is_judged_on_its_last_whole_part_within_it():
    frames = [JPEG] * 40 + [b"\0" * 1000] * 1000
    got = fetch(head() + stream(frames, end=False), limits=FetchLimits(max_bytes=len(JPEG) * 50))
    assert not isinstance(got, Exception), got
    assert got.data == JPEG


def test_a_stream_of_no_image_is_still_no_image():
    got = fetch(head() + stream([b"<html>hello</html>"]))
    assert isinstance(got, NotAnImage), got


def test_only_the_last_parts_are_looked_at():
    # a stream of many tiny parts is walked from its end, 256 parts at most (not part by
    # part through millions on the download's event loop): an image before them is not
    # what stays shown
    got = fetch(head() + stream([PNG] + [b"x"] * 300))
    assert isinstance(got, NotAnImage), got
    got = fetch(head() + stream([PNG] + [b"x"] * 200))
    assert not isinstance(got, Exception) and got.data == PNG, got
    assert "part 1 of 201" in (got.ended_early or ""), got.ended_early
