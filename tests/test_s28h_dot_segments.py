"""A Markdown image of the instance's own pict-rs written with dot segments
(``/pictrs/image/./ALIAS``, ``/x/%2e%2e/pictrs/image/ALIAS``) is the upload itself: a
browser removes them before it asks (WHATWG URL), so the rule's ``purge_image`` must
purge that file, not answer "remote image" and leave it in pict-rs."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize(
    "path",
    [
        "/pictrs/image/./{alias}",
        "/pictrs/image/%2E/{alias}",
        "/pictrs/x/../image/{alias}",
        "/pictrs/image/.%2e/image/{alias}",
    ],
)
def test_an_upload_linked_with_dot_segments_is_purged(fake_lemmy, photos, pipeline_for, path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # a file Lemmy stored (a link's thumbnail): only this comment leads to it
    stored = lemmy.add_thumbnail(photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    url = lemmy.url + path.format(alias=stored.alias)
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert stats.actions == {"remove:done": 1, "purge_image:done": 1}
    assert [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert not lemmy.image_exists(stored.alias)
    (record,) = [r for r in pipeline.store.decisions() if r["rule"]]
    assert record["image"]["url"] == url  # recorded as written: what a moderator clicks


def test_dot_segments_resolve_before_the_alias_and_the_proxy_are_read():
    instance = "https://lemmy.example"

    def refs(text):
        item = Item("comment", 1, None, "x", text=text)
        return [(r.alias, r.original_url) for r in image_refs(item, instance_url=instance)]

    # one file written three ways is one image
    assert refs(
        "![a](/pictrs/image/abc.png) ![b](https://lemmy.example/pictrs/image/./abc.png)"
        " ![c](https://lemmy.example/x/%2E%2E/pictrs/image/abc.png)"
    ) == [("abc.png", None)]
    assert refs(
        "![a](https://lemmy.example/api/v3/x/../image_proxy?url=https://o.example/p.jpg)"
    ) == [(None, "https://o.example/p.jpg")]
    # ".." past the root stays at the root, as a browser has it
    assert refs("![a](https://lemmy.example/../../pictrs/image/abc.png)") == [("abc.png", None)]
    # not dot segments: a name with dots in it
    assert refs("![a](https://lemmy.example/pictrs/image/..abc.png)") == [("..abc.png", None)]
