"""A reference image whose label holds an escaped bracket is found. markdown-it ends a
label at its first unescaped ``]`` and shows ``![a\\]b]`` with ``[a\\]b]: url``; modbot
took no ``[`` or ``]`` at all in a definition's label, so that image was never
checked."""

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


def test_a_label_with_an_escaped_bracket_is_a_definition():
    assert urls("![a\\]b]\n\n[a\\]b]: https://x.example/close.jpg") == [
        "https://x.example/close.jpg"
    ]
    assert urls("![x][a\\[b]\n\n[a\\[b]: https://x.example/open.jpg") == [
        "https://x.example/open.jpg"
    ]
    # an unescaped bracket still ends the label: "[a[b]: url" defines nothing
    assert urls("![a[b]\n\n[a[b]: https://x.example/no.jpg") == []


def test_an_escaped_bracket_label_in_a_post_is_removed(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("bracket.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post", body=f"![x\\]]\n\n[x\\]]: {bad}\n")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.post(post.id).removed, stats
