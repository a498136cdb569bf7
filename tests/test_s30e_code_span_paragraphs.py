"""A code span ends with its paragraph. markdown-it shows the image in
``a ``\\n\\n![<https://a.b/]>](bad.jpg) ``: the first paragraph's backticks never close
(a blank line, a fence, a heading, a thematic break or a list item ends the paragraph),
so they are literal, and the ``]`` inside the autolink (or a code span) is part of the
alt text. modbot closed that span across the paragraph's end, took the image for code
and, reading the alt text without spans, ended it at the ``]`` in the autolink: the
image was never checked."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"

REMOVE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


def test_a_code_span_does_not_cross_the_end_of_its_paragraph():
    blank = "a ``\n\n![<https://a.b/]>](https://x.example/blank.jpg) ``"
    assert urls(blank) == ["https://x.example/blank.jpg"]
    fence = "a ```\n![<https://a.b/]>](https://x.example/fence.jpg)\n```"
    assert urls(fence) == ["https://x.example/fence.jpg"]
    heading = "a ``\n# ![`]`](https://x.example/heading.jpg) ``"
    assert urls(heading) == ["https://x.example/heading.jpg"]
    rule = "a ``\n---\n![`]`](https://x.example/rule.jpg) ``"
    assert urls(rule) == ["https://x.example/rule.jpg"]
    item = "a ``\n- ![`]`](https://x.example/item.jpg) ``"
    assert urls(item) == ["https://x.example/item.jpg"]
    quoted = "> a ``\n>\n> ![<https://a.b/]>](https://x.example/quoted.jpg) ``"
    assert urls(quoted) == ["https://x.example/quoted.jpg"]


def test_a_code_span_within_its_paragraph_still_holds_a_bracket():
    # the span runs over a line end inside one paragraph: its "]" is no label's end
    assert urls("![a ``\n]`` b](https://x.example/span.jpg)") == ["https://x.example/span.jpg"]


def test_the_image_after_an_unclosed_span_is_removed(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("span.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"look ``\n\n![<https://a.b/]>]({bad}) ``\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
