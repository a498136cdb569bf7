"""Images written into Markdown as ``data:`` URIs: lemmy-ui's markdown-it shows
``![](data:image/png;base64,...)`` (its default validateLink allows gif, png, jpeg and
webp data: images), and such an image never reaches pict-rs or any server. modbot
decodes it in memory, checks it as any image, and records it by a reference, never by
the URI (whose bytes are the image)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import quote

import pytest
from support.bot import sha
from support.lemmy_json import image_refs

from fakelemmy import hostile
from modbot.fetch import BadURL, EmptyResponse, Fetcher, FetchLimits, NotAnImage, TooLarge
from modbot.fetch import decode_data_uri as decode
from modbot.images import data_images, data_reference

INSTANCE = "https://lemmy.example"
SMALL = hostile.jpeg(color=(200, 30, 30))  # 1.4 kB: as a comment can hold (10000 chars)
B64 = base64.b64encode(SMALL).decode()


def comment(content):
    from test_images import make_comment

    return make_comment(content)


def test_a_data_image_in_markdown_is_found_by_a_reference_not_the_uri():
    uri = f"data:image/jpeg;base64,{B64}"
    text = (
        f"look ![a]({uri}) and again ![b](<{uri}>) "
        "![svg](data:image/svg+xml;base64,PHN2Zy8+) ![nocomma](data:text/html;x,hi) "
        f"![ref][r]\n\n[r]: DATA:IMAGE/PNG;base64,{B64}\n"
    )
    refs = image_refs(comment(text), kind="comment", instance_url=INSTANCE)
    assert [r.url for r in refs] == [
        data_reference(uri),
        data_reference(f"DATA:IMAGE/PNG;base64,{B64}"),
    ]
    assert refs[0].url.startswith("data:image/jpeg;uri-sha256=")
    assert refs[1].url.startswith("data:image/png;uri-sha256=")
    assert all(B64[:40] not in r.url and r.location == "comment" for r in refs)


@pytest.mark.parametrize(
    "uri",
    [
        f"data:image/jpeg;base64,{B64}",
        f"data:image/png ; BASE64,{B64[:60]}\n {B64[60:]}",  # whitespace, as browsers skip
        f"data:image/jpeg;base64,{B64.rstrip('=')}",  # padding left out
        "data:image/jpeg;x=y," + "".join(f"%{b:02X}" for b in SMALL),  # percent-encoded
    ],
)
def test_data_uris_are_decoded_as_browsers_decode_them(uri):
    data, _ = decode(uri, 10_000)
    assert data == SMALL


@pytest.mark.parametrize(
    ("uri", "error", "said"),
    [
        (f"data:image/jpeg;base64,{B64}", TooLarge, "over the 1000-byte limit"),
        ("data:image/jpeg;base64" + B64, BadURL, "without the ','"),
        ("data:image/jpeg;base64,AAAAA", BadURL, "malformed"),
        ("data:image/jpeg;base64,AA*A", BadURL, "malformed"),
        # a lone surrogate (no browser gets one): refused, and no error quotes the URI
        ("data:image/jpeg;base64,AAAA\ud800", BadURL, "malformed"),
        ("data:image/jpeg;base64,", EmptyResponse, "no bytes"),
    ],
)
def test_a_data_uri_over_the_limit_or_malformed_is_refused_clearly(uri, error, said):
    with pytest.raises(error, match=said) as caught:
        decode(uri, 1000, "data:image/jpeg;uri-sha256=ab")
    assert caught.value.url == "data:image/jpeg;uri-sha256=ab"
    assert B64[:20] not in str(caught.value)


def test_the_fetcher_decodes_within_the_body_budget_and_names_the_reference():
    async def go():
        async with Fetcher(FetchLimits(max_bytes=10_000, max_bytes_held=20_000)) as fetcher:
            got = await fetcher.fetch_data(f"data:image/png;base64,{B64}", "data:image/png;r")
            assert fetcher.body_budget.in_use == len(SMALL)
            got.release()
            with pytest.raises(NotAnImage, match="served as image/png"):
                await fetcher.fetch_data("data:image/png;base64,PGh0bWw+", "data:image/png;r")
            assert fetcher.body_budget.in_use == 0
            return got

    got = asyncio.run(go())
    assert (got.url, got.sha256, got.media_type) == ("data:image/png;r", sha(SMALL), "image/jpeg")


def test_a_data_image_in_a_comment_is_checked_and_acted_on(fake_lemmy, tiny, pipeline_for, caplog):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(SMALL)])
    post = lemmy.add_post(cast.pics, cast.alice, name="hello")
    uri = f"data:image/jpeg;base64,{B64}"
    c = lemmy.add_comment(post, cast.bob, content=f"![x]({uri})")
    with caplog.at_level(logging.DEBUG):
        pipeline.poll_once(deep=True)
    assert lemmy.comment(c.id).removed
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["kind"] == "comment"]
    assert record["image"]["sha256"] == sha(SMALL)
    assert record["image"]["url"] == data_reference(uri)
    assert record["rule"] and not record["skipped"]
    # the URI is the image: in no record, no request to Lemmy, no log line
    assert B64[:40] not in json.dumps(pipeline.store.decisions())
    assert not [r for r in lemmy.requests if B64[:40] in json.dumps(r.json)]
    assert B64[:40] not in caplog.text


def test_a_refused_data_uri_gives_the_room_reserved_for_it_back():
    """As ``fetch_first``: the acquirer reserves the room and hands it over; a data: URI
    refused must not keep ``max_bytes`` of the budget for good."""

    async def go():
        async with Fetcher(FetchLimits(max_bytes=10_000, max_bytes_held=20_000)) as fetcher:
            for uri in ("data:image/png;base64,AAAAA", "data:image/png;base64,PGh0bWw+"):
                hold = await fetcher.reserve_body()
                with pytest.raises((BadURL, NotAnImage)):
                    await fetcher.fetch_data(uri, "data:image/png;r", hold)
            return fetcher.body_budget.in_use

    assert asyncio.run(go()) == 0


@pytest.mark.parametrize("proxy", ["/api/v3/image_proxy", "/api/v4/image/proxy"])
def test_a_data_image_the_instances_proxy_wraps_is_found_by_its_reference(proxy):
    """Lemmy's ProxyAllImages wraps an inline data: image in the proxy URL (pict-rs
    cannot fetch it): its bytes are still in the text, never to be recorded."""
    uri = f"data:image/jpeg;base64,{B64}"
    wrapped = f"{INSTANCE}{proxy}?url={quote(uri, safe='')}"
    elsewhere = f"https://other.example{proxy}?url={quote(uri, safe='')}"
    item = comment(f"![a]({wrapped}) ![same]({uri}) ![b]({elsewhere})")
    refs = image_refs(item, kind="comment", instance_url=INSTANCE)
    # another host's proxy cannot fetch it either: the same bytes, never its URL
    assert [r.url for r in refs] == [data_reference(uri)]
    from modbot.lemmy import views_v3

    found = data_images(views_v3.item("comment", item), instance_url=INSTANCE)
    assert found == {data_reference(uri): uri}


@pytest.mark.parametrize("host", ["instance", "https://other.example"])
def test_a_proxied_data_image_is_checked_and_never_recorded_as_its_bytes(
    fake_lemmy, tiny, pipeline_for, host
):
    """The instance's own proxy or another's: neither can fetch a data: URI, and a
    record of the proxy URL would hold the image's bytes."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(SMALL)])
    post = lemmy.add_post(cast.pics, cast.alice, name="hello")
    uri = f"data:image/jpeg;base64,{B64}"
    base = lemmy.url if host == "instance" else host
    c = lemmy.add_comment(
        post, cast.bob, content=f"![x]({base}/api/v3/image_proxy?url={quote(uri, safe='')})"
    )
    pipeline.poll_once(deep=True)
    assert lemmy.comment(c.id).removed
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["kind"] == "comment"]
    assert record["image"]["url"] == data_reference(uri)
    assert quote(B64[:40], safe="") not in json.dumps(pipeline.store.decisions())


def test_a_data_image_of_a_bio_is_an_image_when_its_item_holds_its_markdown():
    """A bio's or a description's image is an item of its own (``modbot.source``):
    one that is a data: image has the reference as its link and the image's Markdown
    as its text, where the acquirer finds the bytes."""
    from modbot.images import image_refs as refs_of
    from modbot.model import Item

    uri = f"data:image/jpeg;base64,{B64}"
    item = Item("bio", "5:ab", None, "u", link=data_reference(uri), text=f"![]({uri})")
    assert [(r.url, r.location) for r in refs_of(item, instance_url=INSTANCE)] == [
        (data_reference(uri), "profile")
    ]
    assert data_images(item, instance_url=INSTANCE) == {data_reference(uri): uri}
    # without its Markdown, it is recorded as not read, and says why
    with pytest.raises(BadURL, match="not found in the item"):
        decode("", 10_000, data_reference(uri))
