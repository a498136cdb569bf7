"""A reference image's label matches its definition exactly when markdown-it's would:
it folds a label's white space (JavaScript's ``\\s``) to one space and compares
``toLowerCase().toUpperCase()``. modbot folded with Python's ``casefold()`` and
``split()``, which differ: ``[I]: url`` defines ``![\\u0131]`` (dotless i: both are
``I`` upper-cased) and a zero-width no-break space is white space to markdown-it, so
lemmy-ui showed images modbot never checked."""

from __future__ import annotations

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


def test_labels_markdown_it_folds_together_are_one_label():
    assert urls("![\u0131]\n\n[I]: https://x.example/dotless.jpg") == [
        "https://x.example/dotless.jpg"
    ]
    assert urls("![x][\u0131mage]\n\n[IMAGE]: https://x.example/upper.jpg") == [
        "https://x.example/upper.jpg"
    ]
    assert urls("![a\ufeffb]\n\n[a b]: https://x.example/bom.jpg") == ["https://x.example/bom.jpg"]
    assert urls("![\ufeff]\n\n[\ufeff]: https://x.example/blank.jpg") == []  # a blank label
    # what both fold alike still matches
    assert urls("![Stra\u00dfe  X]\n\n[STRASSE\tx]: https://x.example/sz.jpg") == [
        "https://x.example/sz.jpg"
    ]
    assert urls("![\u1e9e]\n\n[ss]: https://x.example/capital-sz.jpg") == [
        "https://x.example/capital-sz.jpg"
    ]


def test_labels_markdown_it_tells_apart_are_not_matched():
    # \x1c..\x1f and \x85 are white space to Python, not to JavaScript: no image to
    # lemmy-ui, so no fetch (and no slot within fetch.max_images_per_item) for it
    assert urls("![a\x1cb]\n\n[a b]: https://x.example/fs.jpg") == []
    assert urls("![a\x85b]\n\n[a b]: https://x.example/nel.jpg") == []
