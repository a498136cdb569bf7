"""Images written into a person's bio, a community's description (1.0: its sidebar) and
the site's sidebar as items of their own (`type: bio`, `community_description`,
`site_sidebar`), found in what modbot already reads, looked at when new or changed, a
long text's images a bounded number at a time."""

from __future__ import annotations

import json
import logging
import sqlite3
from urllib.parse import quote

import pytest
from support.bot import Bot
from test_datauri_images import B64, SMALL
from test_profile_images import jpeg, profile_decisions, profile_rules, sha

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.images import data_images, data_reference, image_refs, is_data_reference
from modbot.lemmy import LemmyClient, views_v3, views_v4
from modbot.lemmy.v4 import LemmyClientV4
from modbot.model import Community, Item, Person, SiteInfo
from modbot.source import MAX_TEXT_IMAGES, Source
from modbot.store import Store

TEXT_RULES = """
  - name: known abusive bio image
    priority: 100
    if: {type: bio, hash_list: known-bad}
    then:
      purge_image: true
      ban: {scope: site, duration: permanent, reason: "known abusive bio image"}
  - name: known abusive description image
    if: {type: [community_description, site_sidebar], hash_list: known-bad}
    then:
      purge_image: true
      notify_admins: "{{type}} on the known-bad list"
"""


def bio_decisions(bot: Bot, kind: str = "bio") -> list[dict]:
    return profile_decisions(bot, kind)


def test_a_known_bad_image_in_a_bio_is_purged_and_its_person_banned(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad, fine = jpeg(11), jpeg(12)
    bad_upload = lemmy.add_upload(cast.alice, bad)
    fine_upload = lemmy.add_upload(cast.alice, fine)
    carol = lemmy.add_person(
        "carol", bio=f"hi ![me]({fine_upload.url}) and ![x]({bad_upload.url}) bye"
    )
    lemmy.add_post(cast.pics, carol, name="hello", body="just text")
    rules = profile_rules(tmp_path, tiny_checkpoint, [sha(bad)], rules=TEXT_RULES)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once")
    decisions = {d["image"]["alias"]: d for d in bio_decisions(bot)}
    assert set(decisions) == {bad_upload.alias, fine_upload.alias}
    decision = decisions[bad_upload.alias]
    assert decision["rule"] == "known abusive bio image"
    assert decision["item"]["url"] == f"{lemmy.url}/u/carol"  # her page: no image shown
    assert decision["item"]["author_id"] == carol.id
    assert decision["image"]["location"] == "profile"
    outcome = {a["action"]: a["status"] for a in decision["actions"]}
    assert outcome == {"purge_image": "done", "ban": "done"}
    assert not lemmy.image_exists(bad_upload.alias) and lemmy.image_exists(fine_upload.alias)
    assert lemmy.person(carol.id).banned
    assert decisions[fine_upload.alias]["rule"] is None
    assert not lemmy.post(1).removed  # the post itself was left alone


def _client(lemmy):
    client = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    return client(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, read_only=True)


@pytest.mark.both_lemmys
def test_bios_and_descriptions_are_found_in_what_is_read_once_each(fake_lemmy, tmp_path):
    """A bio's images through the posts, a description's through the posts and the
    community list (a deep poll's newest page, a sweep's every page); not again."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol", bio="me: ![a](https://img.example/carol.png)")
    lemmy.add_post(cast.pics, carol, name="hello", body="text")
    empty = lemmy.add_community("empty", description="![rules](https://img.example/r.png)")
    store = Store(tmp_path / "state.sqlite3")
    source = Source(_client(lemmy), store, scope="t", uploads=False)

    def found(batches) -> set[tuple[str, int]]:
        items = [i for batch in batches for i in batch]
        for item in items:
            source.mark_seen(item)
        return {
            (i.kind, (i.author or i.community or Community(0)).id)
            for i in items
            if i.kind in ("bio", "community_description")
        }

    assert found(source.poll(deep=True)) == {
        ("bio", carol.id),
        ("community_description", empty.id),
    }
    assert found(source.poll(deep=True)) == set()
    assert found(source.walk()) == set()
    # a sweep on a state that never saw them: every community's description
    other = Source(_client(lemmy), Store(tmp_path / "other.sqlite3"), scope="t", uploads=False)
    swept = [i for batch in other.walk() for i in batch]
    assert {(i.kind, str(i.id).split(":")[0]) for i in swept if i.kind != "post"} >= {
        ("bio", str(carol.id)),
        ("community_description", str(empty.id)),
    }


class _Quiet:
    """A client nothing is asked of but the site."""

    def __init__(self, site: SiteInfo | None = None) -> None:
        self.site = site or SiteInfo()

    def site_info(self) -> SiteInfo:
        return self.site


def _source(tmp_path, site: SiteInfo | None = None) -> tuple[Source, list[str]]:
    told: list[str] = []
    source = Source(_Quiet(site), Store(tmp_path / "state.sqlite3"), scope="t", warn=told.append)  # type: ignore[arg-type]
    return source, told


def test_a_bio_with_a_hundred_images_is_handed_out_twenty_at_a_time(tmp_path):
    bio = "".join(f"![{n}](https://img.example/{n}.png)\n" for n in range(100))
    carol = Person(7, name="carol", actor_id="https://lemmy.example/u/carol", bio=bio)
    post = Item("post", 1, None, "t", author=carol, community=Community(3))
    source, told = _source(tmp_path)
    handed: list[str] = []
    for _walk in range(6):
        fresh = source._profiles([post, post], set())
        assert len(fresh) <= MAX_TEXT_IMAGES
        assert {i.kind for i in fresh} <= {"bio"}
        for item in fresh:
            assert item.author == carol and item.link
            source.mark_seen(item)
        handed += [i.link for i in fresh if i.link]
    assert handed == [f"https://img.example/{n}.png" for n in range(100)]
    assert told and "100 images not checked yet" in told[0] and "person 7" in told[0]
    assert source._profiles([post], set()) == []  # every one seen


def test_the_sites_sidebar_images_are_an_admins(tmp_path):
    site = SiteInfo(sidebar="welcome ![a](/pictrs/image/a.png) ![b](https://x.example/b.gif)")
    source, _ = _source(tmp_path, site)
    items = source._site_images()
    assert [(i.kind, i.link) for i in items] == [
        ("site_sidebar", "/pictrs/image/a.png"),
        ("site_sidebar", "https://x.example/b.gif"),
    ]
    assert all(i.author_is_admin and i.local and isinstance(i.id, str) for i in items)


def test_the_views_read_the_texts_and_a_hostile_entry_breaks_nothing(caplog):
    caplog.set_level(logging.WARNING)
    v3 = views_v3.communities(
        [
            {"community": {"id": 1, "name": "a", "description": "![x](https://x.example/a)"}},
            {"community": {"id": [1], "name": "b", "description": 5}},
            {"community": {"id": 2, "name": "c", "description": 5}},
        ]
    )
    assert [(c.id, c.description) for c in v3] == [(1, "![x](https://x.example/a)"), (2, None)]
    v4 = views_v4.communities([{"community": {"id": 1, "name": "a", "sidebar": "side"}}])
    assert v4[0].description == "side"
    assert (
        views_v3.site_info({"site_view": {"site": {"sidebar": "s"}}, "admins": []}).sidebar == "s"
    )
    assert (
        views_v4.site_info({"site_view": {"site": {"sidebar": "s"}}, "admins": []}, None).sidebar
        == "s"
    )
    assert views_v3.person({"id": 1, "bio": "b"}).bio == "b"
    assert views_v4.person({"id": 1, "bio": "b"}).bio == "b"


def test_a_data_image_in_a_bio_is_an_item_that_holds_its_bytes(tmp_path):
    """A data: image's item has its reference as the link and the bio as its text,
    where the acquirer finds the bytes (``images.data_images``)."""
    uri = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    bio = f"hello ![dot]({uri}) and ![web](https://img.example/w.png)"
    carol = Person(7, name="carol", bio=bio)
    post = Item("post", 1, None, "t", author=carol)
    source, _ = _source(tmp_path)
    data, web = source._profiles([post], set())
    assert data.link and is_data_reference(data.link) and uri not in data.link
    assert data_images(data, instance_url="https://lemmy.example") == {data.link: uri}
    [ref] = image_refs(data, instance_url="https://lemmy.example")
    assert ref.url == data.link
    assert web.link == "https://img.example/w.png" and web.text == ""


@pytest.mark.both_lemmys
def test_a_proxied_data_image_in_a_bio_is_checked_and_never_recorded_as_its_bytes(
    fake_lemmy, tiny, pipeline_for, caplog
):
    """Lemmy's ProxyAllImages wraps a data: image in a bio or a description in the
    instance's image proxy (1.0: /api/v4/image/proxy): the bytes are in the text, and
    neither the item's id, its seen row, the record nor the log holds them."""
    caplog.set_level(logging.DEBUG)
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    proxy = "/api/v4/image/proxy" if lemmy.v4 is not None else "/api/v3/image_proxy"
    uri = f"data:image/jpeg;base64,{B64}"
    wrapped = f"{lemmy.url}{proxy}?url={quote(uri, safe='')}"
    carol = lemmy.add_person("carol", bio=f"me: ![x]({wrapped})")
    lemmy.add_post(cast.pics, carol, name="hello", body="text")
    rules = lemmy.add_community("rules", description=f"![r]({wrapped})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(SMALL)], rules=TEXT_RULES)
    pipeline.poll_once(deep=True)
    decisions = pipeline.store.decisions()
    (bio,) = [d for d in decisions if d["item"]["kind"] == "bio"]
    assert bio["image"]["url"] == data_reference(uri)
    assert bio["rule"] == "known abusive bio image"
    assert lemmy.person(carol.id).banned
    (description,) = [d for d in decisions if d["item"]["kind"] == "community_description"]
    assert description["item"]["community_id"] == rules.id
    assert description["image"]["url"] == data_reference(uri)
    with sqlite3.connect(pipeline.store.path) as db:
        seen = json.dumps(db.execute("SELECT * FROM seen").fetchall())
    assert "bio" in seen and "community_description" in seen
    kept = json.dumps(decisions) + seen + caplog.text
    assert B64[:40] not in kept and quote(B64[:40], safe="") not in kept


def test_a_proxied_data_image_in_the_sidebar_is_its_reference(tmp_path):
    """The site says its public URL: its own proxy, absolute or relative, wraps the
    data: image; another host's proxy cannot fetch it either (pict-rs fetches http(s)
    only): the same image, by its reference, never that proxy URL with its bytes."""
    uri = f"data:image/jpeg;base64,{B64}"
    query = f"?url={quote(uri, safe='')}"
    elsewhere = f"https://other.example/api/v3/image_proxy{query}"
    sidebar = (
        f"![a](https://lemmy.example/api/v3/image_proxy{query}) "
        f"![b](/api/v4/image/proxy{query}) ![c]({elsewhere})"
    )
    site = SiteInfo(public_url="https://lemmy.example", sidebar=sidebar)
    source, _ = _source(tmp_path, site)
    items = source._site_images()
    assert [i.link for i in items] == [data_reference(uri)]
    assert data_images(items[0], instance_url="https://lemmy.example") == {data_reference(uri): uri}
    assert items[0].key.count(B64[:40]) == 0 and quote(B64[:40], safe="") not in items[0].key
