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
