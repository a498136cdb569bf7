"""A host name in Unicode and its IDNA (``xn--``) form are one host: the HTTP client
sends the xn-- form either way, so they are one request, one image, not two downloads
and two places within ``fetch.max_images_per_item``."""

from __future__ import annotations

from modbot.fetch import system_resolver
from modbot.images import image_refs
from modbot.model import Item


def test_a_unicode_host_and_its_idna_form_are_one_image(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_remote_file("x.jpg", photos["chelsea"])
    port = lemmy.remote_url.rsplit(":", 1)[1]

    async def resolver(host: str, port: int) -> list[str]:
        if host == "xn--bcher-kva.example":
            return ["127.0.0.1"]
        return await system_resolver(host, port)

    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    content = (
        f"![a](http://bücher.example:{port}/x.jpg) "
        f"![b](http://xn--bcher-kva.example:{port}/x.jpg) "
        f"![c](http://BÜCHER.example:{port}/x.jpg)"
    )
    comment = lemmy.add_comment(post, cast.bob, content=content)
    pipeline = pipeline_for(lemmy, fetch_resolver=resolver)
    stats = pipeline.poll_once(deep=True)

    # one image, tried once (refused here: a name at a private address not allowed)
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == comment.id]
    assert [r["image"]["url"] for r in records] == [f"http://bücher.example:{port}/x.jpg"]
    assert sum(stats.skipped.values()) == 1, stats


def refs(text, instance="https://lemmy.example"):
    item = Item("comment", 1, None, "x", text=text)
    return [(r.url, r.alias, r.original_url) for r in image_refs(item, instance_url=instance)]


def test_a_unicode_host_is_its_idna_form():
    assert (
        len(refs("![a](https://bücher.example/a.png) ![b](https://XN--BCHER-KVA.example/a.png)"))
        == 1
    )
    # the instance in Unicode while it is configured in IDNA: its upload
    assert refs(
        "![a](https://bücher.example/pictrs/image/abc.png)", "https://xn--bcher-kva.example"
    ) == [("https://bücher.example/pictrs/image/abc.png", "abc.png", None)]
    # a name IDNA cannot encode is kept as written (the fetcher says why it is refused)
    assert len(refs("![a](https://\uff45\uff58.com/a.png) ![b](https://x.com/a.png)")) == 2
