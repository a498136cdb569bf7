"""A data: image behind the instance's image proxy written as a relative URL
(``![](/api/v3/image_proxy?url=data%3A...)``): markdown-it shows it from the instance,
so it is the data: image, found by its reference and never recorded as its bytes."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from support.bot import sha
from support.lemmy_json import image_refs
from test_datauri_images import B64, INSTANCE, SMALL, comment

from modbot.images import data_image_reference, data_images, data_reference
from modbot.lemmy import views_v3

URI = f"data:image/jpeg;base64,{B64}"


@pytest.mark.parametrize("proxy", ["/api/v3/image_proxy", "/api/v4/image/proxy"])
def test_a_relative_proxied_data_image_is_found_by_its_reference(proxy):
    relative = f"{proxy}?url={quote(URI, safe='')}"
    scheme_relative = f"//lemmy.example{relative}"
    item = comment(f"![a]({relative}) ![b]({scheme_relative})")
    refs = image_refs(item, kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [data_reference(URI)]
    found = data_images(views_v3.item("comment", item), instance_url=INSTANCE)
    assert found == {data_reference(URI): URI}
    assert data_image_reference(relative, instance_url=INSTANCE) == data_reference(URI)
    # another host's proxy wraps the same bytes (pict-rs fetches http(s) only): its
    # URL, which holds them, is never what is recorded
    elsewhere = f"//other.example{relative}"
    assert data_image_reference(elsewhere, instance_url=INSTANCE) == data_reference(URI)


def test_a_relative_proxied_data_image_is_checked_and_never_recorded_as_its_bytes(
    fake_lemmy, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(SMALL)])
    post = lemmy.add_post(cast.pics, cast.alice, name="hello")
    c = lemmy.add_comment(
        post, cast.bob, content=f"![x](/api/v3/image_proxy?url={quote(URI, safe='')})"
    )
    pipeline.poll_once(deep=True)
    assert lemmy.comment(c.id).removed
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["kind"] == "comment"]
    assert record["image"]["url"] == data_reference(URI)
    recorded = json.dumps(pipeline.store.decisions())
    assert quote(B64[:40], safe="") not in recorded and B64[:40] not in recorded
