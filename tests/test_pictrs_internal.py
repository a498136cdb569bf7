"""pict-rs' internal API as the fake serves it (faithful to pict-rs 0.5: paging of
/internal/hashes, the hash format, purge by alias and by proxy URL, delete, errors) and
modbot's typed client of it (modbot.lemmy.pictrs through LemmyClient)."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import httpx
import pytest
from PIL import Image

from modbot.config.settings import Secret
from modbot.errors import LemmyError, ReadOnlyError
from modbot.lemmy import LemmyClient


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16 + seed, 16), (seed * 7 % 256, 40, 90)).save(out, "JPEG")
    return out.getvalue()


def internal(lemmy) -> httpx.Client:
    return httpx.Client(base_url=lemmy.pictrs_url, headers={"X-Api-Token": lemmy.pictrs_api_key})


def bot(lemmy, *, read_only: bool = False, pictrs: bool = True) -> LemmyClient:
    return LemmyClient(
        lemmy.url,
        "modbot",
        Secret("pw"),
        pictrs_url=lemmy.pictrs_url if pictrs else None,
        pictrs_api_key=Secret(lemmy.pictrs_api_key) if pictrs else None,
        requests_per_minute=0,
        read_only=read_only,
    )


def test_hashes_pages_every_stored_file_newest_first(fake_lemmy, photos):
    cast = fake_lemmy.cast
    uploads = [fake_lemmy.add_upload(cast.alice, jpeg(i)) for i in range(5)]
    again = fake_lemmy.add_upload(cast.mod, jpeg(0))  # same bytes: one file, two aliases
    pictrs = internal(fake_lemmy)
    first = pictrs.get("/internal/hashes", params={"limit": 2}).json()
    assert first["msg"] == "ok" and first["page"]["limit"] == 2
    assert "prev" not in first["page"]  # absent keys are omitted, not null
    seen, page = [], first["page"]
    while True:
        seen.extend(page["hashes"])
        if "next" not in page:
            break
        asked = page["next"]
        page = pictrs.get("/internal/hashes", params={"slug": asked, "limit": 2}).json()["page"]
        assert page["current"] == asked  # the page starts at (and includes) `next`
    assert len(seen) == 5
    newest_first = [u.alias for u in reversed(uploads)]
    assert [h["aliases"][0] for h in seen if len(h["aliases"]) == 1] == [
        a for a in newest_first if a != uploads[0].alias
    ]
    entry = next(h for h in seen if uploads[0].alias in h["aliases"])
    assert sorted(entry["aliases"]) == sorted([uploads[0].alias, again.alias])
    data = jpeg(0)
    assert len(entry["hex"]) == 78
    assert entry["hex"][:64] == hashlib.sha256(data).hexdigest()
    assert int(entry["hex"][64:76], 16) == len(data) and entry["hex"][76:] == "05"  # JPEG
    assert entry["details"]["content_type"] == "image/jpeg"
    assert entry["details"]["format"] == "Image" and entry["details"]["frames"] is None
    assert (entry["details"]["width"], entry["details"]["height"]) == (16, 16)
    slug = base64.urlsafe_b64encode(bytes.fromhex(entry["hex"])).decode()
    assert len(slug) == 52 and "=" not in slug
    at = pictrs.get("/internal/hashes", params={"slug": slug, "limit": 1}).json()["page"]
    assert at["current"] == slug and at["hashes"][0]["hex"] == entry["hex"]
    assert uploads[0].alias.endswith(".jpeg") and len(uploads[0].alias) == 36 + 5  # uuid4


def test_hashes_slug_timestamp_limit_and_errors(fake_lemmy):
    cast = fake_lemmy.cast
    pictrs = internal(fake_lemmy)
    assert pictrs.get("/internal/hashes").json() == {
        "msg": "ok",
        "page": {"limit": 20, "hashes": []},
    }
    for i in range(3):
        fake_lemmy.add_upload(cast.alice, jpeg(i))
    everything = pictrs.get("/internal/hashes").json()["page"]["hashes"]
    # a slug pict-rs no longer has (purged meanwhile) silently restarts at the top
    gone = base64.urlsafe_b64encode(bytes(39)).decode()
    restarted = pictrs.get("/internal/hashes", params={"slug": gone}).json()["page"]
    assert restarted["hashes"] == everything and restarted["current"] != gone
    # timestamp: strictly older than the instant
    newest = everything[0]["details"]["created_at"]
    older = pictrs.get("/internal/hashes", params={"timestamp": newest}).json()["page"]
    assert older["hashes"] == everything[1:]
    bad = pictrs.get("/internal/hashes", params={"limit": "many"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid-query"
    no_key = httpx.get(f"{fake_lemmy.pictrs_url}/internal/hashes")
    assert no_key.status_code == 401
    assert no_key.json() == {"msg": "Invalid API Key", "code": "invalid-api-token"}


def test_cached_remote_image_is_stored_like_an_upload_and_purged_by_proxy(fake_lemmy, photos):
    url = fake_lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    assert httpx.get(fake_lemmy.proxy_url(url)).status_code == 200  # a viewer's request
    pictrs = internal(fake_lemmy)
    listed = pictrs.get("/internal/hashes").json()["page"]["hashes"]
    assert [h["hex"][:64] for h in listed] == [hashlib.sha256(photos["chelsea"]).hexdigest()]
    (alias,) = listed[0]["aliases"]
    assert httpx.get(f"{fake_lemmy.pictrs_url}/image/original/{alias}").content == photos["chelsea"]
    purged = pictrs.post("/internal/purge", params={"proxy": url})
    assert purged.json() == {"msg": "ok", "aliases": [alias]}  # the file's real aliases
    assert httpx.get(f"{fake_lemmy.pictrs_url}/image/original/{alias}").status_code == 404
    assert pictrs.get("/internal/hashes").json()["page"]["hashes"] == []
    again = pictrs.post("/internal/purge", params={"proxy": url})
    assert (again.status_code, again.json()) == (
        404,
        {"msg": "Media has not been proxied", "code": "proxy-not-found"},
    )
    # the next view fetches and stores it again, under a new alias
    assert httpx.get(fake_lemmy.proxy_url(url)).status_code == 200
    (back,) = pictrs.get("/internal/hashes").json()["page"]["hashes"]
    assert back["aliases"] != [alias]


def test_purge_delete_aliases_answer_as_pictrs(fake_lemmy, photos):
    cast = fake_lemmy.cast
    one = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    two = fake_lemmy.add_upload(cast.mod, photos["coffee"])
    pictrs = internal(fake_lemmy)
    missing = pictrs.post("/internal/purge", params={"alias": "nope.jpeg"})
    assert missing.status_code == 404 and missing.json()["code"] == "alias-not-found"
    unknown = pictrs.post("/internal/delete", params={"alias": "nope.jpeg"})
    assert (unknown.status_code, unknown.content) == (404, b"")
    assert pictrs.get("/internal/aliases", params={"alias": "nope.jpeg"}).json() == {
        "msg": "ok",
        "aliases": [],
    }
    neither = pictrs.post("/internal/purge")
    assert neither.status_code == 400 and neither.json()["code"] == "invalid-query"
    # delete: one alias; the file stays for the other
    assert pictrs.post("/internal/delete", params={"alias": one.alias}).json() == {"msg": "ok"}
    assert not fake_lemmy.image_exists(one.alias) and fake_lemmy.image_exists(two.alias)
    (entry,) = pictrs.get("/internal/hashes").json()["page"]["hashes"]
    assert entry["aliases"] == [two.alias]
    # the original route ignores a query; variants come from /image/process.{ext}
    original = httpx.get(
        f"{fake_lemmy.pictrs_url}/image/original/{two.alias}", params={"thumbnail": 32}
    )
    assert original.content == photos["coffee"]
    still = httpx.get(
        f"{fake_lemmy.pictrs_url}/image/process.jpg", params={"src": two.alias, "thumbnail": 32}
    )
    assert still.status_code == 200 and max(Image.open(io.BytesIO(still.content)).size) == 32


def test_client_pages_the_store_and_purges_by_proxy_and_deletes(fake_lemmy, photos):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    url = fake_lemmy.add_remote_file("x.jpg", photos["china"])
    httpx.get(fake_lemmy.proxy_url(url))
    client = bot(fake_lemmy)
    page = client.stored_files(None, limit=1)
    assert len(page.files) == 1 and page.next is not None and page.current is not None
    rest = client.stored_files(page.next, limit=1)
    assert rest.current == page.next and rest.next is None
    files = page.files + rest.files
    by_sha = {f.sha256: f for f in files}
    stored = by_sha[hashlib.sha256(photos["coffee"]).hexdigest()]
    assert stored.aliases == (upload.alias,) and stored.size == len(photos["coffee"])
    assert stored.content_type == "image/jpeg" and stored.media == "Image"
    older = client.stored_files(None, timestamp=files[0].created_at + timedelta(microseconds=1))
    assert [f.hex for f in older.files] == [f.hex for f in files]
    assert client.purge_proxied(url) == list(
        by_sha[hashlib.sha256(photos["china"]).hexdigest()].aliases
    )
    assert client.purge_proxied(url) == []  # gone already: not an error
    assert not client.image_gone(upload.alias)
    assert client.delete_alias(upload.alias) is True
    assert client.image_gone(upload.alias)  # pict-rs answers 200 [] for it, not 404
    assert client.delete_alias(upload.alias) is False


def test_client_refuses_mutations_read_only_and_without_pictrs(fake_lemmy, photos):
    upload = fake_lemmy.add_upload(fake_lemmy.cast.alice, photos["coffee"])
    dry = bot(fake_lemmy, read_only=True)
    assert dry.stored_files(None).files  # reading is fine in a dry run
    with pytest.raises(ReadOnlyError):
        dry.delete_alias(upload.alias)
    with pytest.raises(ReadOnlyError):
        dry.purge_proxied("https://remote.example/x.jpg")
    without = bot(fake_lemmy, pictrs=False)
    with pytest.raises(LemmyError, match="PICTRS_URL"):
        without.stored_files(None)
    wrong = LemmyClient(
        fake_lemmy.url,
        "modbot",
        Secret("pw"),
        pictrs_url=fake_lemmy.pictrs_url,
        pictrs_api_key=Secret("wrong"),
        requests_per_minute=0,
        read_only=False,
    )
    with pytest.raises(LemmyError, match="PICTRS_API_KEY"):
        wrong.stored_files(None)
    assert fake_lemmy.mutating_requests() == []
