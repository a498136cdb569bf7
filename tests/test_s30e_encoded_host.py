"""The instance written with a percent-encoded host (``https://lemmy%2Eexample/...``)
is the instance: browsers decode a URL's host before anything else (WHATWG URL), and
modbot's fetcher does too. modbot's image finder did not: the instance's own upload
was a "remote image", so a rule's ``purge_image`` answered "cannot be purged" and left
the file in pict-rs, and the same image written both ways was fetched twice."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"

REMOVE_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


def refs(text: str) -> list[tuple[str, str | None, str | None]]:
    item = Item("comment", 1, None, "x", text=text)
    return [(r.url, r.alias, r.original_url) for r in image_refs(item, instance_url=INSTANCE)]


def test_an_encoded_instance_host_is_the_instance():
    encoded = "https://lemmy%2Eexample/pictrs/image/abc.png"
    assert refs(f"![a]({encoded})") == [(encoded, "abc.png", None)]
    # one upload written two ways is one image
    assert len(refs(f"![a]({encoded}) ![b](https://lemmy.example/pictrs/image/abc.png)")) == 1
    # the instance's proxy: its original is the one fetched first
    proxy = "https://%6Cemmy.example/api/v3/image_proxy?url=https%3A%2F%2Fx.example%2Fa.jpg"
    assert refs(f"![a]({proxy})") == [(proxy, None, "https://x.example/a.jpg")]


def test_an_encoded_remote_host_is_one_image_with_its_plain_form():
    text = "![a](https://x%2Eexample/a.jpg) ![b](https://X.example/a.jpg)"
    assert [url for url, _, _ in refs(text)] == ["https://x%2Eexample/a.jpg"]
    # what decodes to no host name stays as written (the fetcher refuses it)
    bad = "![a](https://x%2Fexample/a.jpg) ![b](https://x/example/a.jpg)"
    assert len(refs(bad)) == 2


def test_an_upload_linked_with_an_encoded_host_is_purged(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    stored = lemmy.add_thumbnail(photos[BAD])
    host = lemmy.url.split("//", 1)[1].split(":", 1)[0]
    encoded = lemmy.url.replace(host, host.replace(".", "%2E"), 1)
    assert encoded != lemmy.url
    url = f"{encoded}/pictrs/image/{stored.alias}"
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert stats.actions == {"remove:done": 1, "purge_image:done": 1}
    assert not lemmy.image_exists(stored.alias)
