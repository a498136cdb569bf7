"""Lemmy 0.19's JSON (API v3, lemmy-js-client 0.19.9 shapes) as modbot's records.

Every answer is checked here, where it becomes a record: an item whose view lacks what
identifies it, or has a field of the wrong type, becomes a *malformed* ``Item``
(``problem`` says what is wrong, nothing else of it is kept), which the pipeline records
as skipped while the rest of the page goes on. ``VIEW_FIELDS`` is the whole of what
modbot reads of a view; no other field is read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from modbot.model import (
    Account,
    Community,
    Item,
    ItemKind,
    Message,
    Person,
    SiteInfo,
    Upload,
    parse_time,
)

__all__ = [
    "VIEW_FIELDS",
    "comment_item",
    "custom_emoji_urls",
    "item",
    "message",
    "person",
    "post_item",
    "site_info",
    "upload_item",
    "view_problem",
]

# What modbot reads of each view, and the rule for it. Required: what identifies the item
# and whom an action hits (its id and time, its author, its community); without them, or
# with any field of the wrong type, the item is malformed. Every other field may be
# missing or null (read as absent).
_REQUIRED, _OPTIONAL = True, False


def _person_fields(name: str) -> tuple[tuple[str, str, bool], ...]:
    return (
        (name, "object", _REQUIRED),
        (f"{name}.id", "id", _REQUIRED),
        (f"{name}.actor_id", "text", _OPTIONAL),
        (f"{name}.name", "text", _OPTIONAL),
        (f"{name}.local", "bool", _OPTIONAL),
        (f"{name}.bot_account", "bool", _OPTIONAL),
        (f"{name}.published", "time", _OPTIONAL),
    )


_IN_COMMUNITY = (
    ("community", "object", _REQUIRED),
    ("community.id", "id", _REQUIRED),
    ("community.name", "text", _OPTIONAL),
    ("community.actor_id", "text", _OPTIONAL),
    ("community.nsfw", "bool", _OPTIONAL),
    ("community.local", "bool", _OPTIONAL),
    *_person_fields("creator"),
    ("creator_is_moderator", "bool", _OPTIONAL),
    ("creator_is_admin", "bool", _OPTIONAL),
    ("creator_banned_from_community", "bool", _OPTIONAL),
)
VIEW_FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "post": (
        ("post", "object", _REQUIRED),
        ("post.id", "id", _REQUIRED),
        ("post.published", "time", _REQUIRED),
        ("post.updated", "time", _OPTIONAL),
        ("post.url", "text", _OPTIONAL),
        ("post.url_content_type", "text", _OPTIONAL),
        ("post.thumbnail_url", "text", _OPTIONAL),
        ("post.body", "text", _OPTIONAL),
        ("post.local", "bool", _OPTIONAL),
        ("post.removed", "bool", _OPTIONAL),
        ("post.featured_local", "bool", _OPTIONAL),
        ("post.featured_community", "bool", _OPTIONAL),
        *_IN_COMMUNITY,
        ("counts", "object", _OPTIONAL),
        ("counts.comments", "count", _OPTIONAL),
    ),
    "comment": (
        ("comment", "object", _REQUIRED),
        ("comment.id", "id", _REQUIRED),
        ("comment.published", "time", _REQUIRED),
        ("comment.updated", "time", _OPTIONAL),
        ("comment.content", "text", _OPTIONAL),
        ("comment.local", "bool", _OPTIONAL),
        ("comment.removed", "bool", _OPTIONAL),
        *_IN_COMMUNITY,
    ),
    "upload": (
        ("local_image", "object", _REQUIRED),
        ("local_image.pictrs_alias", "alias", _REQUIRED),
        ("local_image.published", "time", _REQUIRED),
        ("local_image.pictrs_delete_token", "text", _OPTIONAL),
        *_person_fields("person"),
    ),
}
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")  # pict-rs: <uuid>.<ext>
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "object": ("an object", lambda v: isinstance(v, dict)),
    "id": ("a positive integer", lambda v: type(v) is int and v > 0),
    "count": ("a count", lambda v: type(v) is int and v >= 0),
    "text": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "time": ("a timestamp", lambda v: isinstance(v, str) and parse_time(v) is not None),
    "alias": (
        "a pict-rs alias",
        lambda v: isinstance(v, str) and bool(_ALIAS.fullmatch(v)) and ".." not in v,
    ),
}
_OWN: dict[str, str] = {"post": "post", "comment": "comment", "upload": "local_image"}


def _shown(value: Any) -> str:
    """A value in a problem's description: its kind, and a scalar's first characters."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def view_problem(kind: str, view: Any) -> str | None:
    """What is wrong with a Lemmy view of ``kind`` (by ``VIEW_FIELDS``), or None."""
    if not isinstance(view, dict):
        return f"the {kind} is {_shown(view)}, not an object"
    for path, type_name, required in VIEW_FIELDS[kind]:
        value: Any = view
        for name in path.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            if required:
                return f"`{path}` is missing"
            continue
        words, check = _TYPES[type_name]
        if not check(value):
            return f"`{path}` is {_shown(value)}, not {words}"
    return None


# --- items --------------------------------------------------------------------------------


def item(kind: str, view: Any) -> Item:
    """The item of a Lemmy view: checked, or malformed (never an exception)."""
    if kind not in _OWN:
        raise ValueError(f"kind must be 'post', 'comment' or 'upload', not {kind!r}")
    problem = view_problem(kind, view)
    if problem is not None:
        return _malformed(kind, view, problem)
    own: dict[str, Any] = view[_OWN[kind]]
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
        own.get("updated") or own["published"],
        author=person(view["creator"]),
        community=Community(
            id=community["id"],
            name=community.get("name"),
            actor_id=community.get("actor_id"),
            nsfw=community.get("nsfw"),
            local=community.get("local"),
        ),
        author_is_moderator=bool(view.get("creator_is_moderator")),
        author_is_admin=bool(view.get("creator_is_admin")),
        author_banned_from_community=bool(view.get("creator_banned_from_community")),
        local=own.get("local"),
        featured=bool(own.get("featured_local") or own.get("featured_community")),
        removed=bool(own.get("removed")),
        comment_count=counts.get("comments"),
        link=own.get("url"),
        link_type=own.get("url_content_type"),
        thumbnail=own.get("thumbnail_url"),
        text=(own.get("body") if kind == "post" else own.get("content")) or "",
    )


def post_item(view: Any) -> Item:
    return item("post", view)


def comment_item(view: Any) -> Item:
    return item("comment", view)


def upload_item(view: Any) -> Item:
    return item("upload", view)


def _malformed(kind: ItemKind | str, view: Any, problem: str) -> Item:
    digest = hashlib.sha256(json.dumps(view, sort_keys=True, default=repr).encode()).hexdigest()[
        :16
    ]
    own = view.get(_OWN[kind]) if isinstance(view, dict) else None
    own = own if isinstance(own, dict) else {}
    field_name, type_name = ("pictrs_alias", "alias") if kind == "upload" else ("id", "id")
    found = own.get(field_name)
    item_id = found if found is not None and _TYPES[type_name][1](found) else f"malformed-{digest}"
    published = own.get("published")
    moment = parse_time(published) if isinstance(published, str) else None
    checked: ItemKind = "upload" if kind == "upload" else "post" if kind == "post" else "comment"
    return Item(checked, item_id, moment, f"malformed:{digest}", problem=problem)


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
    )


def message(view: dict[str, Any]) -> Message:
    """A ``PrivateMessageView``: its content and when it was sent."""
    pm = view.get("private_message") or {}
    published = pm.get("published")
    return Message(
        content=pm.get("content") or "",
        published=parse_time(published) if isinstance(published, str) else None,
    )


# --- the site ------------------------------------------------------------------------------


def custom_emoji_urls(site: dict[str, Any]) -> frozenset[str]:
    """The image URLs of the site's custom emojis, from a 0.19 ``GET /site`` answer."""
    return frozenset(
        view["custom_emoji"]["image_url"]
        for view in site.get("custom_emojis") or ()
        if (view.get("custom_emoji") or {}).get("image_url")
    )


def site_info(site: dict[str, Any]) -> SiteInfo:
    """A ``GetSiteResponse``: the instance, and the bot's own account when logged in."""
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
        public_url=(site_view.get("site") or {}).get("actor_id"),
        admin_ids=frozenset(a["person"]["id"] for a in site.get("admins") or []),
        account=account,
        all_languages=tuple(lang["id"] for lang in site.get("all_languages") or []),
        custom_emoji_urls=custom_emoji_urls(site),
        posts=counts.get("posts") or 0,
        comments=counts.get("comments") or 0,
    )
