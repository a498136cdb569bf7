"""``![^1]`` with ``[^1]: url`` is no image in lemmy-ui: markdown-it-footnote reads
``[^1]: ...`` as a footnote's text before the reference rule sees it, so ``![^1]`` is a
"!" and a footnote mark, and the URL a link in the footnotes. modbot counted it as an
image, so twenty of them before a real image put the real one past
``fetch.max_images_per_item``. A client without footnotes (plain CommonMark) shows it
as an image, so it is still checked, after the images lemmy-ui shows."""

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


def test_footnotes_do_not_push_the_real_image_past_the_cap(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("shown.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"note{i}.jpg", photos["chelsea"])
    marks = " ".join(f"see![^{i}]" for i in range(20))
    notes = "\n".join(f"[^{i}]: {lemmy.remote_url}/note{i}.jpg" for i in range(20))
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = f"{marks}\n\n![x]({bad})\n\n{notes}\n"
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == comment.id]
    skipped = [r["image"]["url"] for r in records if r.get("skipped") == "too_many_images"]
    assert skipped == [f"{lemmy.remote_url}/note19.jpg"], records


def urls(text):
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url="https://lemmy.example")]


def test_a_footnote_comes_after_the_images_lemmy_ui_shows():
    text = "![^n] ![a][^n] ![b](https://x.example/b.jpg)\n\n[^n]: https://x.example/note.jpg\n"
    assert urls(text) == ["https://x.example/b.jpg", "https://x.example/note.jpg"]


def test_a_label_markdown_it_footnote_does_not_take_is_a_reference():
    # a space in it: a reference definition, an image in lemmy-ui too
    text = "![^a b] ![c](https://x.example/c.jpg)\n\n[^a b]: https://x.example/ref.jpg\n"
    assert urls(text) == ["https://x.example/ref.jpg", "https://x.example/c.jpg"]
    # an inline image whose alt starts with "^" is an image
    assert urls("![^1](https://x.example/i.jpg) ![c](https://x.example/c.jpg)") == [
        "https://x.example/i.jpg",
        "https://x.example/c.jpg",
    ]
