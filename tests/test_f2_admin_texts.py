"""`modbot sweep --store` and the images written into texts (`type: bio`,
`site_sidebar`): a file shown in the site's sidebar or an admin's bio is an admin's
(never acted on), and a file last recorded as a person's bio image is that person's
when no upload or post names anyone."""

from __future__ import annotations

from typing import Any

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4
from modbot.model import Person, SiteInfo, StoredFile, utc_iso
from modbot.store import Store
from modbot.store_source import Admins, file_item, read_admins

INSTANCE = "https://lemmy.example"
ADMIN = 1


def stored(alias: str, digit: str = "c") -> StoredFile:
    return StoredFile(hex=digit * 64 + "0" * 12, aliases=(alias,))


class Client:
    """What ``read_admins`` reads: the site and its admins."""

    def __init__(self, site: SiteInfo, people: dict[int, Person]) -> None:
        self.site, self.people = site, people

    def site_info(self) -> SiteInfo:
        return self.site

    def person(self, person_id: int) -> Person:
        return self.people[person_id]


def admins_of(sidebar: str | None, bio: str | None) -> Admins:
    admin = Person(ADMIN, name="admin", actor_id=f"{INSTANCE}/u/admin", bio=bio)
    site = SiteInfo(admin_ids=frozenset({ADMIN}), sidebar=sidebar)
    client: Any = Client(site, {ADMIN: admin})
    return read_admins(client, INSTANCE)


def test_the_sidebars_and_admins_bios_images_are_an_admins(tmp_path):
    sidebar = (
        "Welcome! ![rules](/pictrs/image/side-rel.png) "
        f"![logo]({INSTANCE}/pictrs/image/side-abs.webp) "
        "![elsewhere](https://other.example/pictrs/image/remote.png)"
    )
    bio = f"I run this place ![me]({INSTANCE}/pictrs/image/admin-bio.jpg)"
    admins = admins_of(sidebar, bio)
    assert admins.images["side-rel.png"] == (None, "an image in the site's sidebar")
    assert admins.images["side-abs.webp"] == (None, "an image in the site's sidebar")
    whose, what = admins.images["admin-bio.jpg"]
    assert whose is not None and whose.id == ADMIN and what == "an image in the bio"
    assert "remote.png" not in admins.images  # another host's file: not this pict-rs'

    store = Store(tmp_path / "s.sqlite3")
    try:
        side = file_item(stored("side-rel.png"), store, admins)
        assert side.author_is_admin and side.author is None
        assert side.author_role == "an image in the site's sidebar"
        mine = file_item(stored("admin-bio.jpg", "d"), store, admins)
        assert mine.author_is_admin and mine.author is not None and mine.author.id == ADMIN
        assert mine.author_role == "an image in the bio of an admin"
    finally:
        store.close()


def test_no_sidebar_nor_bio_changes_nothing():
    assert admins_of(None, None).images == {}
    assert admins_of("no images here", "![data](data:image/png;base64,AAAA)").images == {}


def test_a_url_that_does_not_parse_is_no_alias_and_no_error():
    admins = admins_of("![x](http://[broken/pictrs/image/a.png)", "![y](//[x/pictrs/image/b.png)")
    assert admins.images == {}


def recorded(kind: str, item_id: str, author_id: int | None, alias: str) -> dict:
    """A decision as the pipeline records one for a profile image or a text's image."""
    return {
        "run_id": "r1",
        "decided_at": utc_iso(),
        "dry_run": False,
        "item": {
            "kind": kind,
            "id": item_id,
            "author_id": author_id,
            "author": None if author_id is None else f"{INSTANCE}/u/p{author_id}",
        },
        "image": {
            "url": f"{INSTANCE}/pictrs/image/{alias}",
            "location": "profile",
            "sha256": "e" * 64,
            "alias": alias,
        },
        "scores": {},
        "labels": [],
        "rule": None,
        "actions": [],
        "skipped": None,
    }


def test_a_file_shown_in_a_bio_is_that_persons_when_nothing_else_names_one(tmp_path):
    """No uploader, no post: the person whose bio showed the file is whom a ban hits
    (as for an avatar), not nobody (the ban skipped: the author is unknown)."""
    store = Store(tmp_path / "s.sqlite3")
    try:
        store.add_decision(recorded("bio", "7:0123456789abcdef", 7, "in-bio.png"))
        store.add_decision(recorded("community_description", "3:0123456789abcdef", None, "d.png"))
        assert store.profile_showing("f" * 64, ["in-bio.png"]) == {
            "kind": "bio",
            "id": 7,
            "author": f"{INSTANCE}/u/p7",
        }
        item = file_item(stored("in-bio.png"), store)
        assert item.author is not None and item.author.id == 7
        assert item.author_role == "person whose bio shows it, no uploader known"
        assert not item.author_is_admin
        # a community's description names no person; an avatar recorded later wins
        assert store.profile_showing("f" * 64, ["d.png"]) is None
        store.add_decision(recorded("avatar", "9", 9, "in-bio.png"))
        assert store.profile_showing("f" * 64, ["in-bio.png"])["id"] == 9
        assert file_item(stored("in-bio.png"), store).author_role == (
            "person whose avatar it is, no uploader known"
        )
    finally:
        store.close()


@pytest.mark.both_lemmys
def test_an_admins_bio_images_are_read_from_the_fake(fake_lemmy):
    """Through the API as the sweep reads it (0.19 and 1.0): the admin's bio comes with
    ``GET /person``."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.admin, b"not read")
    lemmy.person(cast.admin.id).bio = f"hello ![me]({upload.url})"
    client = (LemmyClientV4 if lemmy.v4 is not None else LemmyClient)(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, read_only=True
    )
    admins = read_admins(client, lemmy.url)
    whose, what = admins.images[upload.alias]
    assert whose is not None and whose.id == cast.admin.id and what == "an image in the bio"
