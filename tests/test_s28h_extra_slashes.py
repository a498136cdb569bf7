"""A Markdown image whose address has extra slashes (``https:///host/a.jpg``,
``///host/a.jpg``) or another scheme than the page's without any (``http:host/a.jpg``
on an https instance) is on ``host``: a browser skips the slashes before a special
scheme's host (WHATWG URL) and shows that image. modbot fetched a path of the instance
instead (``/host/a.jpg``: a 404), so the image people saw was never checked."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("write", ["http:///{hostpath}", "HTTP:////{hostpath}", "///{hostpath}"])
def test_an_image_behind_extra_slashes_is_checked(fake_lemmy, photos, pipeline_for, write):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_file("shown.jpg", photos[BAD])
    assert url.startswith("http://")
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    written = write.format(hostpath=url.removeprefix("http://"))
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({written})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    assert stats.actions == {"remove:done": 1}
    asked = [r.server for r in lemmy.requests if r.path.endswith("shown.jpg")]
    assert asked == ["remote"], "the host the browser asks, not a path of Lemmy's"


def urls(text, instance="https://lemmy.example"):
    item = Item("comment", 1, None, "x", text=text)
    return [r.url for r in image_refs(item, instance_url=instance)]


def test_the_host_is_read_as_a_browser_reads_it():
    # another scheme than the page's: the host follows, with or without slashes
    assert urls("![a](http:x.example/a.jpg)") == ["http://x.example/a.jpg"]
    assert urls("![a](http:/x.example/a.jpg)") == ["http://x.example/a.jpg"]
    # the page's scheme: two slashes or more make a host, fewer a path of the instance
    assert urls("![a](https:////x.example/a.jpg)") == ["https://x.example/a.jpg"]
    assert urls("![a](https:/x.example/a.jpg)") == ["https://lemmy.example/x.example/a.jpg"]
    assert urls("![a](////x.example/a.jpg)") == ["https://x.example/a.jpg"]
    assert urls("![a](/x.example/a.jpg)") == ["https://lemmy.example/x.example/a.jpg"]
    # as written when nothing is to be skipped; no host at all is no image
    assert urls("![a](HTTPS://X.example/a.jpg)") == ["HTTPS://X.example/a.jpg"]
    assert urls("![a](https:///)") == []
    # an upload of the instance, so written, is that upload
    item = Item("comment", 1, None, "x", text="![a](https:///lemmy.example/pictrs/image/abc.png)")
    assert [r.alias for r in image_refs(item, instance_url="https://lemmy.example")] == ["abc.png"]
