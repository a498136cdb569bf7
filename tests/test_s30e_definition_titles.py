"""A reference definition whose title runs over lines or holds an escaped quote is a
definition: markdown-it reads ``[a]: url "two\\nlines"`` and ``[a]: url "say \\"hi\\""``
as ``url`` with a title, and lemmy-ui shows ``![a]``. modbot took a title of one line
without escapes only, so with such a title the image was never checked."""

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


def test_titles_over_lines_and_with_escapes_end_a_definition():
    assert urls('![a]\n\n[a]: https://x.example/1.jpg "two\nlines"') == ["https://x.example/1.jpg"]
    assert urls("![a]\n\n[a]: https://x.example/2.jpg (two\nlines)") == ["https://x.example/2.jpg"]
    assert urls('![a]\n\n[a]: https://x.example/3.jpg "say \\"hi\\""') == [
        "https://x.example/3.jpg"
    ]
    assert urls("![a]\n\n[a]: https://x.example/4.jpg 'it\\'s'") == ["https://x.example/4.jpg"]
    assert urls('![a]\n\n> [a]: https://x.example/5.jpg "in a\n> quote"') == [
        "https://x.example/5.jpg"
    ]


def test_what_markdown_it_takes_for_no_title_is_still_no_definition():
    # a blank line ends the title; the destination does not end its line: no definition
    assert urls('![a]\n\n[a]: https://x.example/n.jpg "ti\n\ntle"') == []
    # an escaped backslash does not escape the quote after it: text follows the title
    assert urls('![a]\n\n[a]: https://x.example/m.jpg "ti\\\\"tle"') == []
    # the title on a line of its own fails: the definition stands without it
    assert urls('![a]\n\n[a]: https://x.example/o.jpg\n"ti\n\ntle"') == ["https://x.example/o.jpg"]


def test_a_comment_whose_definition_has_a_two_line_title_is_removed(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("titled.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    comment = lemmy.add_comment(post, cast.bob, content=f'![a]\n\n[a]: {bad} "a\ncat"\n')
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
