"""A footnote's text continues on the lines indented by four spaces after it
(markdown-it-footnote, lemmy-ui's): an image there is shown at the foot of the post.
modbot took such a line for an indented code block, an image no one sees, checked
after all the others: twenty images in code before it put it past
``fetch.max_images_per_item``, never checked."""

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


def order(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url.rsplit("/", 1)[1] for r in image_refs(item, instance_url=INSTANCE)]


def img(name: str) -> str:
    return f"![{name}](https://x.example/{name})"


def test_a_footnotes_indented_text_is_no_code():
    text = f"a [^1]\n\n```\n{img('c1')}\n```\n\n[^1]: note\n\n    {img('s1')}\n"
    assert order(text) == ["s1", "c1"]
    # eight columns in: code inside the footnote; a fence opened in its first line
    assert order(f"a [^1]\n\n[^1]: note\n\n        {img('c1')}\n\n{img('s1')}") == ["s1", "c1"]
    assert order(f"[^1]: ```\n    {img('c1')}\n    ```\n\n{img('s1')}") == ["s1", "c1"]
    # at the left margin again: the footnote is over, four columns are code again
    assert order(f"[^1]: note\n\n{img('s1')}\n\n    {img('c1')}\n") == ["s1", "c1"]


def test_a_footnote_image_is_checked_before_the_cap(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("footnote.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"code{i}.jpg", photos["chelsea"])
    code = "\n".join(f"![c]({lemmy.remote_url}/code{i}.jpg)" for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"see [^1]\n\n```\n{code}\n```\n\n[^1]: the source\n\n    ![x]({bad})\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
