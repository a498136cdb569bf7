"""Images written inside code (a fenced or indented code block, a code span) are shown
by no one, yet checked on purpose (the extractor does not parse blocks exactly, and one
fetch too many is cheaper than missing one). They came in text order, so twenty of them
in a code block before a real image put the real one past
``fetch.max_images_per_item``: recorded as too_many_images, never checked. Now they come
after the images a reader sees: the cap drops them first."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

REMOVE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


def test_code_block_images_do_not_push_the_real_one_past_the_cap(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("shown.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"code{i}.jpg", photos["chelsea"])
    code = "\n".join(f"![c]({lemmy.remote_url}/code{i}.jpg)" for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"how to embed:\n\n```\n{code}\n```\n\nlike this: ![x]({bad})"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == comment.id]
    skipped = [r["image"]["url"] for r in records if r.get("skipped") == "too_many_images"]
    # the code block's images are still checked, the cap drops its last one
    assert skipped == [f"{lemmy.remote_url}/code19.jpg"], records
    fetched = [r.path for r in lemmy.requests if r.path.startswith("/code")]
    assert sorted(fetched) == sorted(f"/code{i}.jpg" for i in range(19))


INSTANCE = "https://lemmy.example"


def order(text):
    item = Item("comment", 1, None, "x", text=text)
    return [r.url.rsplit("/", 1)[1] for r in image_refs(item, instance_url=INSTANCE)]


def shown_by_markdown_it(text):
    found = []

    def walk(tokens):
        for token in tokens:
            if token.type == "image":
                found.append(unquote(token.attrGet("src").rsplit("/", 1)[1]))
            walk(token.children or [])

    walk(MarkdownIt("commonmark").parse(text))
    return found


def img(name):
    return f"![{name}](https://x.example/{name})"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a fenced block (backticks, tildes, in a block quote, in a list item)
        (f"{img('c1')}\n```\n{img('c2')}\n```\n{img('s1')}", None),
        (f"~~~~ py\n{img('c1')}\n~~~\n{img('c2')}\n~~~~\n{img('s1')}", None),
        (f"> ```\n> {img('c1')}\n> ```\n> {img('s1')}", None),
        (f"- ```\n  {img('c1')}\n  ```\n- {img('s1')}", None),
        # a fence a block quote's end closes; one a list item's end closes
        (f"> ```\n> {img('c1')}\n\n{img('s1')}", None),
        (f"- ```\n  {img('c1')}\n\n{img('s1')}", None),
        # an unclosed fence runs to the end
        (f"{img('s1')}\n```\n{img('c1')}", None),
        # an indented block, after a blank line; in a quote
        (f"{img('s1')}\n\n    {img('c1')}\n\n{img('s2')}", None),
        (f"> x\n>\n>     {img('c1')}\n\n{img('s1')}", None),
        # four spaces that continue a paragraph or a list item are no code
        (f"text\n    {img('s1')}", None),
        (f"1. item\n\n    {img('s1')}\n\n{img('s2')}", None),
        (f"10. item\n\n    {img('s1')}", None),
        (f"- a\n  - b\n\n      {img('s1')}", None),
        # a code span, one over two lines; a backtick an image's address holds
        (f"`{img('c1')}` {img('s1')}", None),
        (f"a `{img('c1')}\nb` {img('s1')}", None),
        (f"``{img('c1')}` `` {img('s1')}", None),
        (f"\\`{img('s1')}` {img('s2')}", None),
        (f"![a](https://x.example/s1`) {img('s2')} `", None),
        # no span across paragraphs: a lone backtick in each
        (f"a `\n\n{img('s1')}\n\nb `", None),
    ],
)
def test_images_a_reader_sees_come_first(text, expected):
    shown = shown_by_markdown_it(text)
    found = order(text)
    assert sorted(found) == sorted(set(found))  # each once
    assert found[: len(shown)] == shown, (found, shown)
    # the rest (in code) are still there, in text order
    rest = found[len(shown) :]
    assert rest == sorted(rest) and all(name.startswith("c") for name in rest), found


def test_the_order_of_shown_images_is_unchanged():
    text = f"{img('s1')} `{img('c1')}` {img('s2')}\n\n```\n{img('c2')}\n```\n{img('s3')}"
    assert order(text) == ["s1", "s2", "s3", "c1", "c2"]
