"""`modbot sweep --store` and the images written into texts (`type: bio`,
`site_sidebar`): a file shown in the site's sidebar or an admin's bio is an admin's
(never acted on), and a file last recorded as a person's bio image is that person's
when no upload or post names anyone."""

from __future__ import annotations

from typing import Any

from modbot.model import Person, SiteInfo, StoredFile
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
