"""Markdown image destinations read as lemmy-ui's markdown-it reads them: where it
sees no image (an unbalanced or refused destination) parsing goes on inside, where
another image may be; a "]" in a code span or an autolink does not end an alt text;
escapes in a destination or a title do not end it; a destination
runs to an ASCII space or control character, not to any Unicode space."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from support.lemmy_json import image_refs
from test_images import make_comment

INSTANCE = "https://lemmy.example"
SHOWN = "https://e.example/x.png"


def _markdown_it_images(text):
    # markdown-it-py: the Python port of markdown-it, the same parser and validateLink
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "image":
                found.append(token.attrGet("src"))
            walk(token.children or [])

    walk(MarkdownIt("commonmark").parse(text))
    return found


@pytest.mark.parametrize(
    ("text", "url"),
    [
        (f"![a](![b]({SHOWN} )", SHOWN),  # the outer's parentheses do not balance
        (f"![a](x(![b]({SHOWN}) )", SHOWN),
        (f"![a](javascript:![b]({SHOWN}))", SHOWN),  # refused by validateLink
        (f"![a](data:text/html,![b]({SHOWN}))", SHOWN),
        (f"![a](VBScript:![b]({SHOWN}))", SHOWN),
        (f'![a]({SHOWN} "a\\"b")', SHOWN),  # an escaped quote in the title
        (f"![a]({SHOWN} (t\\)u))", SHOWN),
        ("![a](<https://e.example/x.png\\>>)", "https://e.example/x.png>"),
        ("![a](https://e.example/x.png\u00a0y)", "https://e.example/x.png\u00a0y"),
        ("![a][r]\n\n[r]: https://e.example/x.png\u00a0y\n", "https://e.example/x.png\u00a0y"),
        # a "]" in a code span or an autolink does not end the alt text
        (f"![a`]`]({SHOWN})", SHOWN),
        (f"![a<http://q]r>]({SHOWN})", SHOWN),
        # ... and a backtick that may be literal (an indented code block) hides nothing
        (f"    `\n\n![a]({SHOWN}) `", SHOWN),
    ],
)
def test_an_image_markdown_it_shows_is_found(text, url):
    assert _markdown_it_images(text)  # lemmy-ui shows an image there
    refs = image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [url]


def test_a_link_no_url_parser_reads_hides_none_of_the_items_other_images():
    """``urljoin`` raised on "http://[x": the pipeline then recorded the whole item as
    malformed (none of its images checked), while browsers show its other images."""
    text = f"![a](http://q]r) ![b](http://[x) ![c](//[::1) ![d]({SHOWN})"
    refs = image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [SHOWN]
