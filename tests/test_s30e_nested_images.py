"""An image written inside another image's alt text is found. markdown-it shows it
whenever the outer one is no image: its label has no definition to markdown-it (the
``[x]: url`` is in a code block, or follows a paragraph's line), its label is a
footnote's, or its destination runs over a line end in a table row or a heading.
modbot took the outer one for an image and skipped what was inside it, so a decoy
definition beside ``![![c](bad.jpg)][x]`` hid the image every reader saw."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"
BAD_URL = "https://x.example/bad.jpg"

REMOVE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


def urls(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=INSTANCE)]


def test_an_image_inside_an_outer_one_that_is_no_image_is_found():
    in_code = f"![![c]({BAD_URL})][x]\n\n```\n[x]: https://x.example/ok.jpg\n```"
    assert BAD_URL in urls(in_code)
    after_text = f"![x ![c]({BAD_URL}) y][x]\n\ntext\n[x]: https://x.example/ok.jpg"
    assert BAD_URL in urls(after_text)
    footnote = f"![![c]({BAD_URL})][^1]\n\n[^1]: https://x.example/note.jpg"
    assert BAD_URL in urls(footnote)
    table = f"| a |\n|---|\n| ![![c]({BAD_URL})](\nhttps://x.example/ok.jpg) |"
    assert BAD_URL in urls(table)
    heading = f"# ![![c]({BAD_URL})](\nhttps://x.example/ok.jpg)"
    assert BAD_URL in urls(heading)


def test_the_outer_image_comes_first_and_a_destination_is_not_searched():
    # markdown-it shows the outer one only; the inner one is checked after it
    assert urls("![![c](https://x.example/in.jpg)](https://x.example/outer.jpg)") == [
        "https://x.example/outer.jpg",
        "https://x.example/in.jpg",
    ]
    # "![b](...)" inside a destination is part of that URL, no image of its own
    assert urls("![a](https://x.example/![b](https://x.example/indest.jpg))") == [
        "https://x.example/![b](https://x.example/indest.jpg)"
    ]
    # an inner image's destination cannot reach past the outer one's "]"
    assert urls("![![c](https://x.example/a.jpg ](https://x.example/real.jpg)") == [
        "https://x.example/real.jpg"
    ]


def test_a_nested_image_behind_a_decoy_definition_is_removed(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("nested.jpg", photos[BAD])
    decoy = lemmy.add_remote_file("decoy.jpg", photos["chelsea"])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"![![c]({bad})][x]\n\n```\n[x]: {decoy}\n```\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
