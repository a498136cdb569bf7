"""``\\![a](url)`` is no image: markdown-it reads ``\\!`` as a literal "!" and shows a
link. modbot counted it as one, so twenty of them written before a real image put the
real one past ``fetch.max_images_per_item``: never checked, no one seeing why."""

from __future__ import annotations

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


def test_escaped_images_do_not_push_the_real_one_past_the_cap(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("shown.jpg", photos[BAD])
    decoys = "".join(f"\\![d]({lemmy.remote_url}/decoy{i}.jpg) " for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    comment = lemmy.add_comment(post, cast.bob, content=f"{decoys}\n\n![x]({bad})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert not stats.skipped, "nothing is past the cap"
    assert not [r for r in lemmy.requests if "decoy" in r.path], "links are not fetched"


def urls(text):
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url="https://lemmy.example")]


def test_only_an_unescaped_bang_opens_an_image():
    assert urls(r"\![a](https://x.example/a.jpg)") == []
    assert urls("\\![a]\n\n[a]: https://x.example/r.jpg\n") == []
    # an escaped backslash before it: the "!" opens an image
    assert urls(r"\\![a](https://x.example/b.jpg)") == ["https://x.example/b.jpg"]
    assert urls(r"\\\![a](https://x.example/c.jpg)") == []
    # an image inside the link's text is still shown
    assert urls(r"\![![i](https://x.example/i.jpg)](https://x.example/page)") == [
        "https://x.example/i.jpg"
    ]
