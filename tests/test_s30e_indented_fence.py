"""A fence opened one to three spaces in ends at its closing fence, whatever the
indentation of the lines inside it (CommonMark: they lose up to that many spaces).
modbot ended it at the first less indented line, so in ``   ```\\nx\\n```\\n`` the
closing fence opened a new block to it, and every image after it was taken for code:
one no reader sees, checked after all the others, and twenty images in code before it
put the real one past ``fetch.max_images_per_item``, never checked."""

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


def test_an_indented_fence_ends_at_its_closing_fence():
    assert order(f"   ```\n{img('c1')}\n```\n{img('s1')}") == ["s1", "c1"]
    assert order(f"  ~~~\nx\n~~~\n\n{img('s1')}\n\n```\n{img('c1')}\n```") == ["s1", "c1"]
    # in a list item a line left of the item's text still ends it (and the item)
    assert order(f"- ```\n  {img('c1')}\n{img('s1')}") == ["s1", "c1"]


def test_the_image_after_an_indented_fence_is_checked_before_the_cap(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("after.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"code{i}.jpg", photos["chelsea"])
    code = "\n".join(f"![c]({lemmy.remote_url}/code{i}.jpg)" for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"```\n{code}\n```\n\n   ```\nx\n```\n\n![x]({bad})\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
