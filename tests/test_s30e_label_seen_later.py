"""A reference image written first where no one sees it (in code, in a spoiler's
title) and again where readers see it counts as seen. modbot gave a label's
definitions at its first use only, so ``![a]`` in a code block, then ``![a]`` in the
text, made the image one "no reader sees": checked after all the others, and twenty
images in code before it put it past ``fetch.max_images_per_item``. The image every
reader saw was never checked."""

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


def test_a_label_used_in_code_and_then_in_the_text_is_seen():
    text = "```\n![c](https://x.example/c1) ![a]\n```\n![s](https://x.example/s1) ![a]\n\n"
    text += "[a]: https://x.example/a1"
    # seen: in the order first written, before the code's own image
    assert order(text) == ["a1", "s1", "c1"]
    title = "::: spoiler ![a]\nx\n:::\n![a]\n\n[a]: https://x.example/a1\n\n`![c](https://x.example/c1)`"
    assert order(title) == ["a1", "c1"]


def test_a_label_used_many_times_is_still_cheap_and_found_once():
    text = "```\n" + "![a] " * 5000 + "\n```\n" + "![a] " * 5000 + "\n\n"
    text += "".join(f"[a]: https://x.example/d{i}\n" for i in range(3))
    assert order(text) == ["d0", "d1", "d2"]


def test_the_seen_image_is_checked_before_the_cap(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("seen.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"code{i}.jpg", photos["chelsea"])
    code = "\n".join(f"![c]({lemmy.remote_url}/code{i}.jpg)" for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"how to:\n\n```\n{code}\n![a]\n```\n\nlike this: ![a]\n\n[a]: {bad}\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
