"""Lemmy 1.0's JSON (API v4, lemmy-js-client 1.0.0-beta.2 shapes) as modbot's records.

The same rules as ``views_v3``: every answer is checked where it becomes a record, an
item whose view lacks what identifies it (or has a field of the wrong type) becomes a
*malformed* ``Item``, and ``VIEW_FIELDS`` is the whole of what modbot reads of a view.
What differs from 0.19: ``published_at``/``updated_at``, ``ap_id`` for ``actor_id``,
counts inline in the post, ban state in the views (``PersonView.banned``), no
``my_user`` in ``/site`` (the account is ``GET /account``: ``MyUserInfo``), no delete
tokens, and a local upload served at ``/api/v4/image/<alias>``.
"""

from __future__ import annotations

import dataclasses
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
    "IMAGE_PATH",
    "VIEW_FIELDS",
    "VISIBILITIES",
    "admin_ids",
    "comment_item",
    "item",
    "message",
    "messages_off",
    "person",
    "person_view",
    "post_item",
    "site_info",
    "upload_item",
    "view_problem",
]

#: Where Lemmy 1.0 serves a local upload (0.19's ``/pictrs/image/`` has no route there).
IMAGE_PATH = "/api/v4/image/"


def _person_fields(name: str) -> tuple[Field, ...]:
    return (
        (name, "object", REQUIRED),
        (f"{name}.id", "id", REQUIRED),
        (f"{name}.ap_id", "text", OPTIONAL),
        (f"{name}.name", "text", OPTIONAL),
        (f"{name}.local", "bool", OPTIONAL),
        (f"{name}.bot_account", "bool", OPTIONAL),
        (f"{name}.published_at", "time", OPTIONAL),
        (f"{name}.avatar", "text", OPTIONAL),
        (f"{name}.banner", "text", OPTIONAL),
        (f"{name}.bio", "text", OPTIONAL),
    )


_IN_COMMUNITY = (
    ("community", "object", REQUIRED),
    ("community.id", "id", REQUIRED),
    ("community.name", "text", OPTIONAL),
    ("community.ap_id", "text", OPTIONAL),
    ("community.nsfw", "bool", OPTIONAL),
    ("community.local", "bool", OPTIONAL),
    ("community.icon", "text", OPTIONAL),
    ("community.banner", "text", OPTIONAL),
    ("community.sidebar", "text", OPTIONAL),
    ("community.visibility", "text", OPTIONAL),  # an unlisted one's comments: _comments_of
    *_person_fields("creator"),
    ("creator_is_moderator", "bool", OPTIONAL),
    ("creator_is_admin", "bool", OPTIONAL),
    ("creator_banned_from_community", "bool", OPTIONAL),
    ("creator_banned", "bool", OPTIONAL),
)
VIEW_FIELDS: dict[str, tuple[Field, ...]] = {
    "post": (
        ("post", "object", REQUIRED),
        ("post.id", "id", REQUIRED),
        ("post.published_at", "time", REQUIRED),
        ("post.updated_at", "time", OPTIONAL),
        ("post.url", "text", OPTIONAL),
        ("post.url_content_type", "text", OPTIONAL),
        ("post.thumbnail_url", "text", OPTIONAL),
        ("post.body", "text", OPTIONAL),
        ("post.local", "bool", OPTIONAL),
        ("post.removed", "bool", OPTIONAL),
        ("post.deleted", "bool", OPTIONAL),
        ("post.featured_local", "bool", OPTIONAL),
        ("post.featured_community", "bool", OPTIONAL),
        ("post.comments", "count", OPTIONAL),
        # null (left out) until the post's first comment; never moved back
        ("post.newest_comment_time_at", "time", OPTIONAL),
        *_IN_COMMUNITY,
    ),
    "comment": (
        ("comment", "object", REQUIRED),
        ("comment.id", "id", REQUIRED),
        ("comment.published_at", "time", REQUIRED),
        ("comment.updated_at", "time", OPTIONAL),
        ("comment.content", "text", OPTIONAL),
        ("comment.local", "bool", OPTIONAL),
        ("comment.removed", "bool", OPTIONAL),
        ("comment.deleted", "bool", OPTIONAL),
        *_IN_COMMUNITY,
    ),
    "upload": (
        ("local_image", "object", REQUIRED),
        ("local_image.pictrs_alias", "alias", REQUIRED),
        ("local_image.published_at", "time", REQUIRED),
        # a thumbnail Lemmy stored for a post: `person` is the post's creator
        ("local_image.thumbnail_for_post_id", "id", OPTIONAL),
        *_person_fields("person"),
    ),
}


def view_problem(kind: str, view: Any) -> str | None:
    """What is wrong with a Lemmy 1.0 view of ``kind`` (by ``VIEW_FIELDS``), or None."""
    return fields_problem(kind, VIEW_FIELDS[kind], view)


def item(kind: str, view: Any) -> Item:
    """The item of a Lemmy 1.0 view: checked, or malformed (never an exception)."""
    if kind not in OWN:
        raise ValueError(f"kind must be 'post', 'comment' or 'upload', not {kind!r}")
    problem = view_problem(kind, view)
    if problem is not None:
        return malformed(kind, view, problem, published="published_at")
    own: dict[str, Any] = view[OWN[kind]]
    if kind == "upload":
        alias = own["pictrs_alias"]
        return Item(
            "upload",
            alias,
            parse_time(own["published_at"]),
            own["published_at"],
            author=person(view["person"]),
            local=True,
            upload=Upload(alias, None, path=f"{IMAGE_PATH}{alias}"),
        )
    community: dict[str, Any] = view["community"]
    return Item(
        "post" if kind == "post" else "comment",
        own["id"],
        parse_time(own["published_at"]),
        item_version(kind, own.get("updated_at") or own["published_at"], own.get("thumbnail_url")),
        # the ban here, or by the community's instance (1.0 keeps it in the view):
        # ``Person.banned`` of an item's author (the actions ask Lemmy afresh)
        author=person(view["creator"], banned=bool(view.get("creator_banned"))),
        community=_community(community),
        author_is_moderator=bool(view.get("creator_is_moderator")),
        author_is_admin=bool(view.get("creator_is_admin")),
        author_banned_from_community=bool(view.get("creator_banned_from_community")),
        local=own.get("local"),
        featured=bool(own.get("featured_local") or own.get("featured_community")),
        removed=bool(own.get("removed")),
        deleted=bool(own.get("deleted")),
        comment_count=own.get("comments") if kind == "post" else None,
        newest_comment=parse_time(own.get("newest_comment_time_at")) if kind == "post" else None,
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


#: 1.0's ``CommunityVisibility`` values (lemmy-js-client 1.0.0-beta.2): what
#: ``Community.visibility`` holds; anything else is read as not said.
VISIBILITIES = frozenset(
    ("public", "unlisted", "local_only_public", "local_only_private", "private")
)


def communities(views: list[Any]) -> list[Community]:
    """The communities of a ``community/list`` page (``listed_communities``), each with
    its ``visibility``."""
    shown = {
        own.get("id"): own.get("visibility")
        for view in views
        if isinstance(view, dict) and isinstance(own := view.get("community"), dict)
    }
    return [
        _with_visibility(c, shown.get(c.id)) for c in listed_communities(views, "ap_id", "sidebar")
    ]


def community_of(own: dict[str, Any]) -> Community:
    """The ``Community`` of a ``CommunityModeratorView`` (``moderators``, ``moderates``)."""
    return _community(own)


def _community(own: dict[str, Any]) -> Community:
    """The ``Community`` of an item's view, with its description (its images are
    items of their own: ``modbot.source``) and its visibility."""
    return _with_visibility(community_record(own, "ap_id", "sidebar"), own.get("visibility"))


def _with_visibility(community: Community, value: Any) -> Community:
    if value not in VISIBILITIES:
        return community
    return dataclasses.replace(community, visibility=value)


def person(view: dict[str, Any], *, banned: bool = False, ban_expires: Any = None) -> Person:
    """A ``Person`` object (1.0 keeps the ban state in the views around it)."""
    return Person(
        id=view["id"],
        name=view.get("name"),
        actor_id=view.get("ap_id"),
        local=view.get("local"),
        bot_account=view.get("bot_account"),
        published=parse_time(view.get("published_at")),
        banned=banned,
        ban_expires=parse_time(ban_expires) if isinstance(ban_expires, str) else None,
        avatar=_text(view.get("avatar")),
        banner=_text(view.get("banner")),
        bio=_text(view.get("bio")),
    )


#: What a ``PersonView`` read by id (``GET /person``) must hold: a ban's end misread
#: would be taken for a permanent ban.
PERSON_READ: tuple[Field, ...] = (
    ("person", "object", REQUIRED),
    ("person.id", "id", REQUIRED),
    ("person.name", "text", OPTIONAL),
    ("person.ap_id", "text", OPTIONAL),
    ("person.published_at", "time", OPTIONAL),
    ("banned", "bool", OPTIONAL),
    ("ban_expires_at", "time", OPTIONAL),
)


def person_view(view: dict[str, Any]) -> Person:
    """A ``PersonView`` (``GET /person``): the person with their site ban. A field of the
    wrong type raises ``ValueError`` (``malformed_answer`` says it)."""
    problem = fields_problem("person", PERSON_READ, view)
    if problem is not None:
        raise ValueError(problem)
    return person(
        view["person"], banned=bool(view.get("banned")), ban_expires=view.get("ban_expires_at")
    )


def message(view: dict[str, Any]) -> Message:
    """A ``PrivateMessageView``: its content, when it was sent and to whom. One without
    its message or text raises ``ValueError`` (``malformed_answer`` says it)."""
    pm = view["private_message"]
    content = pm["content"]
    if not isinstance(content, str):
        raise ValueError("a private message without its text")
    published = pm.get("published_at")
    recipient = pm.get("recipient_id")
    return Message(
        content=content,
        published=parse_time(published) if isinstance(published, str) else None,
        recipient_id=recipient if isinstance(recipient, int) else None,
    )


def sent_message(view: Any, creator_id: int) -> Message | None:
    """The private message of a ``NotificationView`` if ``creator_id`` sent it; None for
    one sent to them, or a notification of another kind. The message's own
    ``creator_id`` is read: the notification's is 0 for a reader who is no admin
    (``hide_modlog_names``). One without its message or text raises ``ValueError``."""
    data = view["data"]
    if data.get("type_") != "private_message":
        return None
    if data["private_message"].get("creator_id") != creator_id:
        return None
    return message(data)


def site_info(site: dict[str, Any], my_user: dict[str, Any] | None) -> SiteInfo:
    """``GetSiteResponse`` and ``MyUserInfo`` (``GET /account``; None: not logged in).

    1.0 lists posts with ``show_read=true`` (modbot always sends it), so the account's
    ``show_read_posts`` hides nothing from the bot and is read as on; NSFW comments
    and bot accounts' content still follow the account's settings. One Lemmy never
    sends (an admin without a person, an account without its user) is a
    ``LemmyBadAnswer``.
    """
    with malformed_answer("/site and /account"):
        return _site_info(site, my_user)


def messages_off(my_user: dict[str, Any] | None) -> bool:
    """The account's ``private_messages_enabled`` is off (``MyUserInfo``): Lemmy refuses
    every message it sends, ``couldnt_create``. Missing (a shape already checked by
    ``site_info``) is read as on: nothing to fix."""
    local_user = ((my_user or {}).get("local_user_view") or {}).get("local_user") or {}
    return local_user.get("private_messages_enabled") is False


def _site_info(site: dict[str, Any], my_user: dict[str, Any] | None) -> SiteInfo:
    site_view = site.get("site_view") or {}
    local_site = site_view.get("local_site") or {}
    account = None
    if my_user:
        local_user_view = my_user["local_user_view"]
        local_user = local_user_view["local_user"]
        account = Account(
            person_id=(local_user_view.get("person") or {}).get("id"),
            admin=bool(local_user.get("admin")),
            show_nsfw=bool(local_user.get("show_nsfw")),
            show_bot_accounts=bool(local_user.get("show_bot_accounts")),
            show_read_posts=True,
            discussion_languages=tuple(my_user.get("discussion_languages") or ()),
            banned=bool(local_user_view.get("banned")),
            bot_account=bool((local_user_view.get("person") or {}).get("bot_account")),
        )
    return SiteInfo(
        version=str(site.get("version") or ""),
        public_url=_text((site_view.get("site") or {}).get("ap_id")),
        admin_ids=admin_ids(site),
        account=account,
        all_languages=tuple(lang["id"] for lang in site.get("all_languages") or []),
        posts=local_site.get("posts") or 0,
        comments=local_site.get("comments") or 0,
        icon=_text((site_view.get("site") or {}).get("icon")),
        banner=_text((site_view.get("site") or {}).get("banner")),
        sidebar=_text((site_view.get("site") or {}).get("sidebar")),
    )


def _text(value: Any) -> str | None:
    """A URL Lemmy sent where a ``PersonView`` or ``/site`` is not checked field by
    field (``GET /person``, the site): a string, else absent."""
    return value if isinstance(value, str) and value else None
