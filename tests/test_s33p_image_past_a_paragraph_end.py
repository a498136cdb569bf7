"""An image written after the end of a paragraph that a broken image's destination or
title runs past (a blank line, a block quote, a heading) is found. markdown-it reads
inline images within a paragraph: there the outer image never closes, and the one after
the paragraph's end is shown. The bot read the outer one as closing at the later ``)``,
its destination or title swallowing the image people were shown, and checked only a
decoy (or nothing)."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from support.lemmy_json import image_refs
from test_images import make_comment

INSTANCE = "https://lemmy.example"
SHOWN = "https://e.example/shown.png"
DECOY = "https://d.example/decoy.png"


def _markdown_it_images(text: str) -> list[str]:
    # markdown-it-py: the Python port of markdown-it, lemmy-ui's parser
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "image":
                found.append(token.attrGet("src"))
            walk(token.children or [])

    walk(MarkdownIt("default", {"html": False}).parse(text))
    return found


@pytest.mark.parametrize(
    "text",
    [
        f"![a](\n\n![b]({SHOWN}))",  # the destination after a blank line
        f"![a](\n \t\n[![b]({SHOWN})](https://l.example))",
        f'![a]({DECOY} "\n\n![b]({SHOWN})\n")',  # the title over a blank line
        f'![a]({DECOY}\n\n"![b]({SHOWN})")',
        f'![a]({DECOY} "\n>\n![b]({SHOWN})")',  # over a block quote's start
        f'![a]({DECOY} "\n# ![b]({SHOWN})\n")',  # over a heading
        f'![a](<{DECOY}> "t\n\n![b]({SHOWN})")',
    ],
)
def test_an_image_past_the_end_of_a_broken_images_paragraph_is_found(text):
    assert SHOWN in _markdown_it_images(text)  # lemmy-ui shows it
    refs = image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)
    assert SHOWN in [r.url for r in refs]


def test_an_image_over_two_lines_of_one_paragraph_is_still_found():
    text = f'![a]({SHOWN}\n"a title")'
    assert _markdown_it_images(text) == [SHOWN]
    refs = image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [SHOWN]
