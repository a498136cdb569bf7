"""images.py reads a markdown image's URL as lemmy-ui's markdown-it resolves it: the
image people see is the one modbot fetches, not a decoy written beside it."""

from __future__ import annotations

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


def test_a_repeated_reference_definition_cannot_hide_the_first_one():
    # CommonMark (markdown-it): the first definition of a label wins; a later one with
    # the same label is ignored. Both are fetched: a definition inside a code block
    # (not one to markdown-it) may come first.
    text = "![a]\n\n[a]: https://evil.example/shown.jpg\n[A]: https://evil.example/decoy.jpg\n"
    assert urls(text) == ["https://evil.example/shown.jpg", "https://evil.example/decoy.jpg"]
    in_code = (
        "```\n[a]: https://x.example/decoy.jpg\n```\n![a]\n\n[a]: https://x.example/shown.jpg\n"
    )
    assert "https://x.example/shown.jpg" in urls(in_code)


def test_a_label_used_many_times_gives_its_definitions_once():
    text = "![a] " * 2000 + "\n\n" + "".join(f"[a]: https://x.example/{i}.jpg\n" for i in range(3))
    assert urls(text) == [f"https://x.example/{i}.jpg" for i in range(3)]


def test_backslash_escapes_and_entities_in_a_destination_are_resolved():
    # markdown-it unescapes `\_` and decodes `&amp;` before the browser asks for the URL
    assert urls(r"![a](https://x.example/a\_b.jpg)") == ["https://x.example/a_b.jpg"]
    assert urls("![a](https://x.example/i.jpg?w=1&amp;h=2)") == ["https://x.example/i.jpg?w=1&h=2"]
    assert urls("![a](<https://x.example/&#40;c&#41;.png>)") == ["https://x.example/(c).png"]
    ref = "![r]\n\n[r]: https://x.example/r\\_1.gif?a=1&amp;b=2\n"
    assert urls(ref) == ["https://x.example/r_1.gif?a=1&b=2"]
    # not an entity (no `;`) and not an escapable character: kept as written
    assert urls(r"![a](https://x.example/p&amp\q.jpg)") == [r"https://x.example/p&amp\q.jpg"]


def test_a_definition_inside_a_block_quote_or_a_list_item_is_found():
    # CommonMark: a definition in a container block defines its label for the whole text
    assert urls("![a]\n\n> [a]: https://x.example/quoted.jpg\n") == ["https://x.example/quoted.jpg"]
    assert urls(">> ![b]\n>>\n>> [b]:\n>> https://x.example/deep.jpg\n>> 'title'\n") == [
        "https://x.example/deep.jpg"
    ]
    assert urls(
        "![c] ![d]\n\n- [c]: https://x.example/c.jpg\n1. [d]: https://x.example/d.jpg\n"
    ) == [
        "https://x.example/c.jpg",
        "https://x.example/d.jpg",
    ]
