"""Profile and community images as items of their own: a person's avatar and banner, a
community's icon and banner, the site's icon and banner (and the images written into
their bios, descriptions and sidebar: below).

Lemmy 0.19 has no listing of persons, so they are found where the API shows them: the
creators of the posts, comments and uploads the source reads (their ``avatar`` and
``banner`` come in every view), the communities of those posts and comments, and the
site (``GET /site``, once a sweep). Each image is one item (kind ``avatar``, ``banner``,
``community_icon``, ``community_banner``, ``site_icon``, ``site_banner``) whose id is the
person's or the community's (``"site"`` for the site) and whose ``updated`` is the
image's URL: the store's "seen" mark keeps the last URL per person and community, so an
unchanged image is not looked at again and a changed one (a new URL) is a new item.

The rules see it as ``type: avatar`` etc., ``found_in: profile``; its author is the
person (a ban hits them); a community's or the site's image has no author.

The images written (Markdown) into those owners' texts are profile images too (in
``PROFILE_KINDS``): kind ``bio`` (a person's; its author the person),
``community_description`` (a community's description, 1.0: its sidebar; no author) and
``site_sidebar`` (only an admin writes it: recorded as an admin's, never acted on). One
item per image, whose id is the owner's id (``"site"``) and a digest of the URL,
``"<id>:<digest>"``, and whose ``updated`` is the URL; ``modbot.source`` builds them
(``text_images``), at most ``MAX_TEXT_IMAGES`` new ones of a text each time it is read.
``modbot sweep --store`` spares a file shown in the site's sidebar or an admin's bio, and
bans the person whose bio showed a file nothing else names (``modbot.store_source``).
"""

from __future__ import annotations

from collections.abc import Iterable

from modbot.model import PROFILE_KINDS, Community, Item, Person, SiteInfo

__all__ = ["PROFILE_KINDS", "community_images", "person_images", "profile_items", "site_images"]


def person_images(person: Person, *, is_admin: bool = False) -> list[Item]:
    """A person's avatar and banner, as items."""
    return [
        Item(
            kind,  # type: ignore[arg-type]
            person.id,
            None,
            url,
            author=person,
            author_is_admin=is_admin,
            local=person.local,
            link=url,
        )
        for kind, url in (("avatar", person.avatar), ("banner", person.banner))
        if url
    ]


def community_images(community: Community) -> list[Item]:
    """A community's icon and banner, as items (no author: nobody to ban for them)."""
    return [
        Item(kind, community.id, None, url, community=community, local=community.local, link=url)  # type: ignore[arg-type]
        for kind, url in (
            ("community_icon", community.icon),
            ("community_banner", community.banner),
        )
        if url
    ]


def site_images(site: SiteInfo) -> list[Item]:
    """The site's icon and banner, as items."""
    return [
        Item(kind, "site", None, url, local=True, link=url)  # type: ignore[arg-type]
        for kind, url in (("site_icon", site.icon), ("site_banner", site.banner))
        if url
    ]


def profile_items(items: Iterable[Item]) -> list[Item]:
    """The images of the people and communities of ``items``, one item per image (a
    malformed item holds no person or community)."""
    found: dict[str, Item] = {}
    for item in items:
        if item.problem or item.kind in PROFILE_KINDS:
            continue
        images: list[Item] = []
        if item.author is not None:
            images += person_images(item.author, is_admin=item.author_is_admin)
        if item.community is not None:
            images += community_images(item.community)
        for image in images:
            found.setdefault(image.key, image)
    return list(found.values())
