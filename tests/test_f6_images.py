"""The fake 1.0 rewrites a Markdown image as Lemmy 1.0 stores it: `Url::parse` decides
what is dropped (a relative URL), and a data: URI, which parses, is proxied."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from support.bot import sha

from fakelemmy import FakeLemmy, hostile
from fakelemmy.scenarios import standard_cast
from modbot.images import data_reference

SMALL = hostile.jpeg(color=(200, 30, 30))
URI = f"data:image/jpeg;base64,{base64.b64encode(SMALL).decode()}"


def test_1_0_proxies_a_data_image_and_drops_a_relative_one():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="hello")
        c = lemmy.add_comment(post, cast.bob, content=f"![x]({URI}) ![y](/pictrs/image/a.png)")
        proxy = f"{lemmy.url}/api/v4/image/proxy?url={quote(URI, safe='')}"
        assert lemmy.comment(c.id).content == f"![x]({proxy}) ![y]()"


def test_modbot_on_1_0_checks_a_data_image_lemmy_proxied(tiny, pipeline_for):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        pipeline = pipeline_for(lemmy, known_bad=[sha(SMALL)])
        post = lemmy.add_post(cast.pics, cast.alice, name="hello")
        c = lemmy.add_comment(post, cast.bob, content=f"look ![x]({URI})")
        assert "/api/v4/image/proxy?url=data%3A" in lemmy.comment(c.id).content
        pipeline.poll_once(deep=True)
        assert lemmy.comment(c.id).removed
        (record,) = [r for r in pipeline.store.decisions() if r["item"]["kind"] == "comment"]
        assert record["image"]["url"] == data_reference(URI)
        assert URI[30:70] not in json.dumps(pipeline.store.decisions())
