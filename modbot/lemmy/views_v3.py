"""Lemmy 0.19's JSON (API v3, lemmy-js-client 0.19.9 shapes) as modbot's records.

Every answer is checked here, where it becomes a record: an item whose view lacks what
identifies it, or has a field of the wrong type, becomes a *malformed* ``Item``
(``problem`` says what is wrong, nothing else of it is kept), which the pipeline records
as skipped while the rest of the page goes on. ``VIEW_FIELDS`` is the whole of what
modbot reads of a view; no other field is read.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from modbot.lemmy.viewcheck import (
    OPTIONAL,
    OWN,
    REQUIRED,
    Field,
    admin_ids,
    community_record,
    fields_problem,
    item_version,
    listed_communities,
    malformed,
    malformed_answer,
)
from modbot.model import (
    HIDDEN_COMMUNITY,
    Account,
    Community,
    Item,
    Message,
    Person,
    SiteInfo,
    Upload,
    parse_time,
)

__all__ = [
    "VIEW_FIELDS",
    "admin_ids",
    "comment_item",
    "custom_emoji_urls",
    "item",
    "message",
    "person",
    "person_read",
    "post_item",
    "site_info",
    "upload_item",
    "view_problem",
]

# What modbot reads of each view, and the rule for it. Required: what identifies the item
# and whom an action hits (its id and time, its author, its community); without them, or
# with any field of the wrong type, the item is malformed. Every other field may be
# missing or null (read as absent).


def _person_fields(name: str) -> tuple[Field, ...]:
    return (
        (name, "object", REQUIRED),
        (f"{name}.id", "id", REQUIRED),
        (f"{name}.actor_id", "text", OPTIONAL),
        (f"{name}.name", "text", OPTIONAL),
        (f"{name}.local", "bool", OPTIONAL),
        (f"{name}.bot_account", "bool", OPTIONAL),
        (f"{name}.published", "time", OPTIONAL),
        (f"{name}.avatar", "text", OPTIONAL),
        (f"{name}.banner", "text", OPTIONAL),
        (f"{name}.bio", "text", OPTIONAL),
    )


_IN_COMMUNITY = (
    ("community", "object", REQUIRED),
    ("community.id", "id", REQUIRED),
    ("community.name", "text", OPTIONAL),
    ("community.actor_id", "text", OPTIONAL),
    ("community.nsfw", "bool", OPTIONAL),
    ("community.local", "bool", OPTIONAL),
    ("community.icon", "text", OPTIONAL),
    ("community.banner", "text", OPTIONAL),
    ("community.description", "text", OPTIONAL),
    *_person_fields("creator"),
    ("creator_is_moderator", "bool", OPTIONAL),
    ("creator_is_admin", "bool", OPTIONAL),
    ("creator_banned_from_community", "bool", OPTIONAL),
)
VIEW_FIELDS: dict[str, tuple[Field, ...]] = {
    "post": (
        ("post", "object", REQUIRED),
        ("post.id", "id", REQUIRED),
        ("post.published", "time", REQUIRED),
        ("post.updated", "time", OPTIONAL),
        ("post.url", "text", OPTIONAL),
        ("post.url_content_type", "text", OPTIONAL),
        ("post.thumbnail_url", "text", OPTIONAL),
        ("post.body", "text", OPTIONAL),
        ("post.local", "bool", OPTIONAL),
        ("post.removed", "bool", OPTIONAL),
        ("post.deleted", "bool", OPTIONAL),
        ("post.featured_local", "bool", OPTIONAL),
        ("post.featured_community", "bool", OPTIONAL),
        *_IN_COMMUNITY,
        ("counts", "object", OPTIONAL),
        ("counts.comments", "count", OPTIONAL),
        ("counts.published", "time", OPTIONAL),
        ("counts.newest_comment_time", "time", OPTIONAL),
    ),
    "comment": (
        ("comment", "object", REQUIRED),
        ("comment.id", "id", REQUIRED),
        ("comment.published", "time", REQUIRED),
        ("comment.updated", "time", OPTIONAL),
        ("comment.content", "text", OPTIONAL),
        ("comment.local", "bool", OPTIONAL),
        ("comment.removed", "bool", OPTIONAL),
        ("comment.deleted", "bool", OPTIONAL),
        *_IN_COMMUNITY,
    ),
    "upload": (
        ("local_image", "object", REQUIRED),
        ("local_image.pictrs_alias", "alias", REQUIRED),
        ("local_image.published", "time", REQUIRED),
        ("local_image.pictrs_delete_token", "text", OPTIONAL),
        *_person_fields("person"),
    ),
}


def view_problem(kind: str, view: Any) -> str | None:
    """What is wrong with a Lemmy view of ``kind`` (by ``VIEW_FIELDS``), or None."""
    return fields_problem(kind, VIEW_FIELDS[kind], view)


# --- items --------------------------------------------------------------------------------


def item(kind: str, view: Any) -> Item:
    """The item of a Lemmy view: checked, or malformed (never an exception)."""
    if kind not in OWN:
        raise ValueError(f"kind must be 'post', 'comment' or 'upload', not {kind!r}")
    problem = view_problem(kind, view)
    if problem is not None:
        return malformed(kind, view, problem)
    own: dict[str, Any] = view[OWN[kind]]
    if kind == "upload":
        return Item(
            "upload",
            own["pictrs_alias"],
            parse_time(own["published"]),
            own["published"],
            author=person(view["person"]),
            local=True,
            upload=Upload(own["pictrs_alias"], own.get("pictrs_delete_token")),
        )
    community: dict[str, Any] = view["community"]
    counts = view.get("counts") or {}
    return Item(
        "post" if kind == "post" else "comment",
        own["id"],
        parse_time(own["published"]),
        item_version(kind, own.get("updated") or own["published"], own.get("thumbnail_url")),
        author=person(view["creator"]),
        community=_community(community),
        author_is_moderator=bool(view.get("creator_is_moderator")),
        author_is_admin=bool(view.get("creator_is_admin")),
        author_banned_from_community=bool(view.get("creator_banned_from_community")),
        local=own.get("local"),
        featured=bool(own.get("featured_local") or own.get("featured_community")),
        removed=bool(own.get("removed")),
        deleted=bool(own.get("deleted")),
        comment_count=counts.get("comments"),
        newest_comment=_newest_comment(counts) if kind == "post" else None,
        link=own.get("url"),
        link_type=own.get("url_content_type"),
        thumbnail=own.get("thumbnail_url"),
        text=(own.get("body") if kind == "post" else own.get("content")) or "",
    )


def _newest_comment(counts: dict[str, Any]) -> datetime | None:
    """When the post's newest comment was posted, or None when it never had one: 0.19
    starts ``newest_comment_time`` at the post's ``published`` and moves it on with each
    comment made, never back (a comment deleted or removed since still counts here)."""
    newest = parse_time(counts.get("newest_comment_time"))
    published = parse_time(counts.get("published"))
    if newest is None or (published is not None and newest <= published):
        return None
    return newest


def post_item(view: Any) -> Item:
    return item("post", view)


def comment_item(view: Any) -> Item:
    return item("comment", view)


def upload_item(view: Any) -> Item:
    return item("upload", view)


def communities(views: list[Any]) -> list[Community]:
    """The communities of a ``community/list`` page (``listed_communities``), one an
    admin hid that the bot does not follow marked so (``HIDDEN_COMMUNITY``: Lemmy lists
    its posts and comments to its followers only: any follow row, a pending one too,
    post_view.rs and comment_view.rs's ``is_subscribed``)."""
    hidden = {
        own.get("id")
        for view in views
        if isinstance(view, dict)
        and isinstance(own := view.get("community"), dict)
        and own.get("hidden") is True
        and view.get("subscribed") not in ("Subscribed", "Pending")
    }
    return [
        dataclasses.replace(c, visibility=HIDDEN_COMMUNITY) if c.id in hidden else c
        for c in listed_communities(views, "actor_id", "description")
    ]


def community_of(own: dict[str, Any]) -> Community:
    """The ``Community`` of a ``CommunityModeratorView`` (``moderators``, ``moderates``)."""
    return _community(own)


def _community(own: dict[str, Any]) -> Community:
    """The ``Community`` of an item's view, with its description (its images are
    items of their own: ``modbot.source``)."""
    return community_record(own, "actor_id", "description")


def person(view: dict[str, Any]) -> Person:
    """A ``Person`` object (an item's creator, a ``PersonView``'s person)."""
    return Person(
        id=view["id"],
        name=view.get("name"),
        actor_id=view.get("actor_id"),
        local=view.get("local"),
        bot_account=view.get("bot_account"),
        published=parse_time(view.get("published")),
        banned=bool(view.get("banned")),
        ban_expires=parse_time(view.get("ban_expires")),
        avatar=_text(view.get("avatar")),
        banner=_text(view.get("banner")),
        bio=_text(view.get("bio")),
    )


#: What a person read by id (``GET /user``) must hold: a ban's end misread would be
#: taken for a permanent ban.
PERSON_READ: tuple[Field, ...] = (
    ("id", "id", REQUIRED),
    ("name", "text", OPTIONAL),
    ("actor_id", "text", OPTIONAL),
    ("published", "time", OPTIONAL),
    ("banned", "bool", OPTIONAL),
    ("ban_expires", "time", OPTIONAL),
)


def person_read(own: Any) -> Person:
    """A ``Person`` object read by id (a ``PersonView``'s, a modlog line's): a field of
    the wrong type raises ``ValueError`` (``malformed_answer`` says it)."""
    problem = fields_problem("person", PERSON_READ, own)
    if problem is not None:
        raise ValueError(problem)
    return person(own)


def message(view: dict[str, Any]) -> Message:
    """A ``PrivateMessageView``: its content, when it was sent and to whom. One without
    its message or text raises ``ValueError`` (``malformed_answer`` says it)."""
    pm = view["private_message"]
    content = pm["content"]
    if not isinstance(content, str):
        raise ValueError("a private message without its text")
    published = pm.get("published")
    recipient = pm.get("recipient_id")
    return Message(
        content=content,
        published=parse_time(published) if isinstance(published, str) else None,
        recipient_id=recipient if isinstance(recipient, int) else None,
    )


# --- the site ------------------------------------------------------------------------------


def custom_emoji_urls(site: dict[str, Any]) -> frozenset[str]:
    """The image URLs of the site's custom emojis, from a 0.19 ``GET /site`` answer. They
    only spare the site's own emoji images from being judged: an entry without its URL
    (or a list that is not one) is left out, never a failed session (as 1.0's)."""
    views = site.get("custom_emojis")
    urls = set()
    for view in views if isinstance(views, list) else ():
        emoji = view.get("custom_emoji") if isinstance(view, dict) else None
        url = emoji.get("image_url") if isinstance(emoji, dict) else None
        if isinstance(url, str) and url:
            urls.add(url)
    return frozenset(urls)


def site_info(site: dict[str, Any]) -> SiteInfo:
    """A ``GetSiteResponse``: the instance, and the bot's own account when logged in. One
    Lemmy never sends (an admin without a person, a list of nulls) is a ``LemmyBadAnswer``."""
    with malformed_answer("/site"):
        return _site_info(site)


def _site_info(site: dict[str, Any]) -> SiteInfo:
    site_view = site.get("site_view") or {}
    counts = site_view.get("counts") or {}
    account = None
    my = site.get("my_user")
    if my:
        local_user = my["local_user_view"]["local_user"]
        account = Account(
            person_id=my["local_user_view"]["person"].get("id"),
            admin=bool(local_user.get("admin")),
            show_nsfw=bool(local_user.get("show_nsfw")),
            show_bot_accounts=bool(local_user.get("show_bot_accounts")),
            show_read_posts=bool(local_user.get("show_read_posts")),
            discussion_languages=tuple(my.get("discussion_languages") or ()),
        )
    return SiteInfo(
        version=str(site.get("version") or ""),
        public_url=_text((site_view.get("site") or {}).get("actor_id")),
        admin_ids=admin_ids(site),
        account=account,
        all_languages=tuple(lang["id"] for lang in site.get("all_languages") or []),
        custom_emoji_urls=custom_emoji_urls(site),
        posts=counts.get("posts") or 0,
        comments=counts.get("comments") or 0,
        icon=_text((site_view.get("site") or {}).get("icon")),
        banner=_text((site_view.get("site") or {}).get("banner")),
        sidebar=_text((site_view.get("site") or {}).get("sidebar")),
    )


def _text(value: Any) -> str | None:
    """A URL Lemmy sent where a ``PersonView`` or ``/site`` is not checked field by
    field (``GET /person``, the site): a string, else absent."""
    return value if isinstance(value, str) and value else None
