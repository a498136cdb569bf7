"""A reference definition whose label runs over lines (CommonMark: a label may hold
line endings, not a blank line; in a block quote the continuation lines carry their
``>``): markdown-it, as lemmy-ui, shows the image that uses it, so it is found."""

from __future__ import annotations

import time

import pytest
from markdown_it import MarkdownIt
from support.lemmy_json import image_refs
from test_images import make_comment

INSTANCE = "https://lemmy.example"
HIDDEN = "https://e.example/hidden.png"


def _markdown_it_images(text: str) -> list[str]:
    found: list[str] = []

    def walk(tokens) -> None:
        for token in tokens:
            if token.type == "image":
                found.append(token.attrGet("src"))
            walk(token.children or [])

    walk(MarkdownIt("commonmark").parse(text))
    return found


def _found(text: str) -> list[str]:
    return [r.url for r in image_refs(make_comment(text), kind="comment", instance_url=INSTANCE)]


@pytest.mark.parametrize(
    "text",
    [
        f"![x][Foo bar]\n\n[Foo\n  bar]: {HIDDEN}",
        f"![x][Foo bar]\n\n[\nFoo bar\n]: {HIDDEN}",
        f"![x][Foo bar]\n\n> [Foo\n> bar]: {HIDDEN}",
        f"> ![x][Foo\n> bar]\n>\n> [foo bar]: {HIDDEN}",
        f"![Foo\nbar]\n\n- [foo\n  bar]:\n  {HIDDEN}",
    ],
)
def test_an_image_whose_definition_label_runs_over_lines_is_found(text):
    assert _markdown_it_images(text) == [HIDDEN]  # lemmy-ui shows it
    assert _found(text) == [HIDDEN]


def test_a_blank_line_ends_a_label_as_markdown_it_ends_it():
    text = f"![x][Foo bar]\n\n[Foo\n\nbar]: {HIDDEN}"
    assert _markdown_it_images(text) == []
    assert _found(text) == []


def test_lines_of_open_brackets_are_read_in_linear_time():
    for text in ("[a\n" * 20_000, "[" + "a\n" * 20_000, ("[" + "a" * 998 + "\n") * 200):
        started = time.perf_counter()
        _found(f"![x][a]\n{text}")
        assert time.perf_counter() - started < 1.0
