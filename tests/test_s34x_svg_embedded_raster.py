"""An SVG whose picture is a raster image embedded in it as a ``data:`` URI (``<image
href="data:image/png;base64,...">``): browsers draw it in an ``<img>`` (lemmy-ui shows a
``.svg`` link or Markdown image as one), and an SVG there may load nothing from
elsewhere, but its ``data:`` images it draws. The bot said ``not_an_image`` ("SVG is not
rasterised"): a host could wrap any image so and show it to everyone unjudged. Now the
embedded image (the largest, when there are several) is judged, and the record says
so; an SVG with no embedded raster is still refused as before.
"""

from __future__ import annotations

import base64

from support.bot import Bot, sha
from support.policies import BAD, write_removal_rules
from test_s31w_browser_framing import PNG
from test_s34x_error_status_image import fetch

from fakelemmy import hostile
from modbot.fetch import NotAnImage

JPEG = hostile.jpeg()


def svg(*images: bytes, attribute: bytes = b"href", wrap: int = 0) -> bytes:
    tags = []
    for image in images:
        kind = b"png" if image.startswith(b"\x89PNG") else b"jpeg"
        text = base64.b64encode(image)
        if wrap:
            text = b"\n".join(text[i : i + wrap] for i in range(0, len(text), wrap))
        tags.append(
            b'  <image width="64" height="64" '
            + attribute
            + b'="data:image/'
            + kind
            + b";base64,"
            + text
            + b'"/>\n'
        )
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">\n'
        + b"".join(tags)
        + b"</svg>\n"
    )


def served(body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_the_raster_in_an_svg_is_judged():
    got = fetch(served(svg(PNG)))
    assert not isinstance(got, Exception), got
    assert got.data == PNG and got.media_type == "image/png"
    assert "SVG" in (got.ended_early or ""), got.ended_early


def test_an_xlink_href_wrapped_in_lines_and_the_largest_of_several():
    got = fetch(served(svg(PNG, JPEG, attribute=b"xlink:href", wrap=76)))
    assert not isinstance(got, Exception), got
    assert got.data == JPEG  # the larger
    assert "2" in (got.ended_early or "")


def test_an_svg_without_a_raster_is_still_refused():
    got = fetch(served(hostile.svg()))
    assert isinstance(got, NotAnImage) and "SVG" in got.message, got


def test_a_known_bad_image_in_an_svg_is_removed(fake_lemmy, photos, tiny_checkpoint, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_file("wrapped.svg", svg(photos[BAD]), content_type="image/svg+xml")
    post = lemmy.add_post(cast.pics, cast.bob, name="words")
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])]),
    )

    bot("run", "--once")

    assert comment.removed
    (record,) = [d for d in bot.decisions() if d["item"]["kind"] == "comment"]
    assert record["rule"] == "known abusive image"
    assert record["image"]["sha256"] == sha(photos[BAD])
