"""A post's link and its thumbnail (what every listing shows of the post) are checked
before its body's images: a body of many images cannot push them past
fetch.max_images_per_item."""

from __future__ import annotations

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def test_the_thumbnail_of_an_article_comes_before_a_long_body():
    body = " ".join(f"![b](https://x.example/{i}.jpg)" for i in range(25))
    post = Item(
        "post",
        1,
        None,
        "x",
        link="https://news.example/article",
        link_type="text/html",
        thumbnail="https://lemmy.example/pictrs/image/thumb.webp",
        text=body,
    )
    refs = image_refs(post, instance_url=INSTANCE)
    assert len(refs) == 26
    assert (refs[0].location, refs[0].alias) == ("thumbnail", "thumb.webp")
    assert [r.url for r in refs[1:]] == [f"https://x.example/{i}.jpg" for i in range(25)]


def test_an_image_in_body_and_thumbnail_keeps_its_most_significant_place():
    post = Item(
        "post",
        1,
        None,
        "x",
        link="https://x.example/a.jpg",
        thumbnail="https://x.example/t.jpg",
        text="![t](https://x.example/t.jpg) ![b](https://x.example/b.jpg)",
    )
    refs = image_refs(post, instance_url=INSTANCE)
    assert [(r.url, r.location) for r in refs] == [
        ("https://x.example/a.jpg", "post_url"),
        ("https://x.example/t.jpg", "body"),
        ("https://x.example/b.jpg", "body"),
    ]


def test_a_thumbnail_also_written_late_in_the_body_is_still_checked_first():
    """Kept as `body` (more significant), it keeps the thumbnail's place in the check
    order: 25 body images before its copy cannot push it past the cap."""
    thumb = "https://lemmy.example/pictrs/image/thumb.webp"
    body = " ".join(f"![b](https://x.example/{i}.jpg)" for i in range(25)) + f" ![t]({thumb})"
    post = Item(
        "post",
        1,
        None,
        "x",
        link="https://news.example/article",
        link_type="text/html",
        thumbnail=thumb,
        text=body,
    )
    refs = image_refs(post, instance_url=INSTANCE)
    assert len(refs) == 26
    assert (refs[0].alias, refs[0].location) == ("thumb.webp", "body")
    assert [r.url for r in refs[1:]] == [f"https://x.example/{i}.jpg" for i in range(25)]


def test_one_image_in_two_encodings_of_braces_is_one():
    body = "![a](https://x.example/a{b}.jpg) ![a](https://x.example/a%7Bb%7D.jpg)"
    post = Item("post", 1, None, "x", text=body)
    assert len(image_refs(post, instance_url=INSTANCE)) == 1


def test_a_long_run_of_blanks_is_read_in_linear_time():
    """A reference definition's pattern had two runs of blanks side by side: 8,000
    spaces took over a second, a 50,000-character body about a minute."""
    import time

    text = "\n".join(["[a]:" + " " * 50_000, " " * 50_000, "![a]"])
    post = Item("post", 1, None, "x", text=text)
    started = time.monotonic()
    assert image_refs(post, instance_url=INSTANCE) == []
    assert time.monotonic() - started < 5  # quadratic: minutes
