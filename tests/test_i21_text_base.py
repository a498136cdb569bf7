"""A text's relative image URL is read against a stand-in host and kept relative (the
instance's when checked): an absolute URL a text writes on that stand-in host must
stay absolute, not become one of the instance's own uploads (it was ``https://modbot.invalid``, which a bio could write)."""

from __future__ import annotations

from modbot.images import image_refs
from modbot.model import Item, Person
from modbot.source import text_images, text_urls


def test_an_absolute_url_on_the_stand_in_host_is_not_the_instances():
    for host in ("https://modbot.invalid", "https://MODBOT.invalid:443"):
        written = f"{host}/pictrs/image/victim.png"
        urls = text_urls(f"![a]({written}) ![b](/pictrs/image/own.png)")
        assert urls == [written, "/pictrs/image/own.png"]
        bio = text_images("bio", 7, urls[:1], author=Person(7))
        [ref] = image_refs(bio[0], instance_url="https://lemmy.example")
        assert ref.alias is None and ref.url == written


def test_a_relative_url_stays_relative():
    assert text_urls("![a](/pictrs/image/a.png) ![b](//x.example/b.png)") == [
        "/pictrs/image/a.png",
        "https://x.example/b.png",
    ]
    item = Item("bio", "7:x", None, "/pictrs/image/a.png", link="/pictrs/image/a.png")
    [ref] = image_refs(item, instance_url="https://lemmy.example")
    assert ref.alias == "a.png"
