"""A numeric character reference in an image's address is decoded as markdown-it
decodes it, so modbot fetches the URL people's browsers ask for. markdown-it leaves one
it holds invalid (a control code, ``&#128;`` to ``&#159;``, a surrogate, past U+10FFFF)
as written, so ``![a](https://host/a&#128;.jpg)`` sends browsers to ``/a&`` (the ``#``
starts the fragment). Python's ``html.unescape`` made it ``€`` (or dropped it), and
modbot fetched ``/a€.jpg``: another URL, which the image's server may answer with
another image. One of more than seven digits (``&#00000065;``) markdown-it decodes;
modbot kept it."""

from __future__ import annotations

from modbot.images import _dedupe_key, image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


def test_a_reference_markdown_it_holds_invalid_stays_as_written():
    for ref in ("&#1;", "&#0;", "&#11;", "&#128;", "&#x9F;", "&#xD800;", "&#xFFFE;", "&#x110000;"):
        assert urls(f"![a](https://x.example/a{ref}.jpg)") == [f"https://x.example/a{ref}.jpg"]
    # what the browser asks for: the path before the "#"
    (url,) = urls("![a](https://x.example/a&#128;.jpg)")
    assert _dedupe_key(url, INSTANCE) == "https://x.example/a&"


def test_valid_and_long_references_are_decoded():
    assert urls("![a](https://x.example/&#65;&#x42;&#00000067;&#x000000044;.jpg)") == [
        "https://x.example/ABCD.jpg"
    ]
    assert urls("![a](https://x.example/&#x1F600;.jpg)") == ["https://x.example/\U0001f600.jpg"]
    # more than eight digits, whatever their value: U+FFFD, as markdown-it's decodeHTML
    assert urls("![a](https://x.example/&#123456789;.jpg)") == ["https://x.example/\ufffd.jpg"]
    # named ones as before
    assert urls("![a](https://x.example/i.jpg?w=1&amp;h=2)") == ["https://x.example/i.jpg?w=1&h=2"]
