"""The instance written with a final dot (``https://lemmy.example./pictrs/image/ALIAS``)
is the instance: browsers resolve the same name and nginx drops the dot, so a local
upload linked that way is that upload, purged, not "not possible: remote image"."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

REMOVE_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


def test_an_upload_linked_with_the_instance_name_and_a_final_dot_is_purged(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    stored = lemmy.add_thumbnail(photos[BAD])  # a file only this comment leads to
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    host, port = lemmy.url.split("//", 1)[1].rsplit(":", 1)
    url = f"http://{host}.:{port}/pictrs/image/{stored.alias}"
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert stats.actions == {"remove:done": 1, "purge_image:done": 1}
    assert not lemmy.image_exists(stored.alias)


def refs(text, instance="https://lemmy.example"):
    item = Item("comment", 1, None, "x", text=text)
    return [(r.url, r.alias, r.original_url) for r in image_refs(item, instance_url=instance)]


def test_the_instance_with_a_final_dot():
    assert refs("![a](https://lemmy.example./pictrs/image/abc.png)") == [
        ("https://lemmy.example./pictrs/image/abc.png", "abc.png", None)
    ]
    assert refs(
        "![a](https://lemmy.example:443/pictrs/image/abc.png)", "https://lemmy.example."
    ) == [("https://lemmy.example:443/pictrs/image/abc.png", "abc.png", None)]
    proxied = "https://lemmy.example./api/v3/image_proxy?url=https://o.example/p.jpg"
    assert refs(f"![a]({proxied})") == [(proxied, None, "https://o.example/p.jpg")]
    # another server's host with a final dot is another Host header: not merged
    assert len(refs("![a](https://o.example/a.png) ![b](https://o.example./a.png)")) == 2
