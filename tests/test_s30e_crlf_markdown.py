"""A text written with Windows line ends (``\\r\\n``, or a lone ``\\r``) has the images
lemmy-ui shows: markdown-it turns every ``\\r\\n`` and ``\\r`` into ``\\n`` before it
parses. modbot read the ``\\r`` as part of the line, so a reference definition
(``[a]: url\\r\\n``) and an image whose title is on the next line were not found: the
image every reader saw was never checked."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import data_images, image_refs
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


def test_a_reference_image_in_a_crlf_comment_is_removed(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("crlf.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![a][1]\r\n\r\n[1]: {bad}\r\n")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert [r for r in lemmy.requests if r.path.endswith("/crlf.jpg")], "it was fetched"


def test_crlf_and_lone_cr_line_ends_are_read_as_markdown_it_reads_them():
    assert urls("![a]\r\n\r\n[a]: https://x.example/def.jpg\r\n") == ["https://x.example/def.jpg"]
    assert urls("![a]\r\r[a]: https://x.example/cr.jpg\r") == ["https://x.example/cr.jpg"]
    # a title on the next line, and a definition's destination on the next line
    assert urls('![a](https://x.example/t.jpg\r\n"title")') == ["https://x.example/t.jpg"]
    assert urls("![b]\r\n\r\n[b]:\r\n  https://x.example/next.jpg\r\n") == [
        "https://x.example/next.jpg"
    ]
    # in a post's body too
    post = Item("post", 2, None, "x", text="![p][q]\r\n\r\n[q]: https://x.example/p.png\r\n")
    assert [r.url for r in image_refs(post, instance_url=INSTANCE)] == ["https://x.example/p.png"]


def test_a_crlf_data_image_definition_gives_its_bytes():
    uri = "data:image/png;base64,iVBORw0KGgo="
    item = Item("comment", 1, None, "x", text=f"![d]\r\n\r\n[d]: {uri}\r\n")
    (reference,) = urls(item.text)
    assert data_images(item, instance_url=INSTANCE) == {reference: uri}
