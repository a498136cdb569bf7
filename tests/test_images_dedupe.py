"""One image written in two forms of its URL is one image: fetched once, decided once."""

from __future__ import annotations

import pytest

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


@pytest.mark.parametrize(
    "first, second",
    [
        ("https://x.example/%7Euser/a.jpg", "https://x.example/~user/a.jpg"),
        ("https://x.example/a%2db.jpg", "https://x.example/a-b.jpg"),
        ("https://x.example/a%3fb.jpg", "https://x.example/a%3Fb.jpg"),
        ("https://x.example/caf%C3%A9.jpg", "https://x.example/café.jpg"),
        ("https://x.example/a%20b.jpg", "<https://x.example/a b.jpg>"),
        ("https://x.example/i.jpg?s=%7E1", "https://x.example/i.jpg?s=~1"),
    ],
)
def test_percent_encoding_variants_of_one_url_count_once(first, second):
    assert urls(f"![a]({first}) ![b]({second})") == [first]


def test_different_escapes_stay_different_images():
    # %2F in a path is not "/", and %26 in a query is not "&": other URLs to a server
    assert len(urls("![a](https://x.example/a%2Fb.jpg) ![b](https://x.example/a/b.jpg)")) == 2
    assert (
        len(urls("![a](https://x.example/i.jpg?q=a%26b) ![b](https://x.example/i.jpg?q=a&b)")) == 2
    )
