"""A reference definition written inside a footnote (``[^1]: [a]: url``) defines its
label: lemmy-ui's markdown-it-footnote parses a footnote's text as blocks, so
``![a]`` shows that image. modbot looked for definitions at a line's start or after
block quote and list markers only, so the image was never checked."""

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


def test_a_definition_inside_a_footnote_is_found():
    assert urls("![a]\n\n[^1]: [a]: https://x.example/fn.jpg") == ["https://x.example/fn.jpg"]
    assert urls("![a]\n\n[^1]: > [a]: https://x.example/q.jpg") == ["https://x.example/q.jpg"]
    assert urls("![a]\n\n   [^n]: - [a]: https://x.example/l.jpg") == ["https://x.example/l.jpg"]
    assert urls("![a]\n\n[^x]: [^y]: [a]: https://x.example/2.jpg") == ["https://x.example/2.jpg"]


def test_a_footnote_with_a_url_is_still_read_as_before():
    # ![^1] with a footnote [^1]: url: an image to an app without footnotes, checked last
    assert urls("![^1] ![b](https://x.example/b.jpg)\n\n[^1]: https://x.example/note.jpg") == [
        "https://x.example/b.jpg",
        "https://x.example/note.jpg",
    ]


def test_an_image_defined_in_a_footnote_is_removed(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("footnote.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post", body=f"![a]\n\n[^1]: [a]: {bad}\n")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.post(post.id).removed, stats
