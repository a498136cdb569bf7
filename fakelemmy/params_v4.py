"""Lemmy 1.0 (API v4) request types, read and refused the way Lemmy's serde reads them.

`REQUESTS` declares every request type the fake's v4 routes take, field by field, as
lemmy-js-client 1.0.0-beta.2 types them; `tests/test_schemas_v4.py` proves it equal to
the JSON Schemas generated from the client (`tests/schemas/v4/requests/`), so a field
the fake renames, drops or types differently fails there. Every v4 handler reads its
request through `read_query` / `read_body` and then only through the declared names
(`Params["x"]` of an undeclared `x` is a KeyError: the fake's own bug, a 500).

What Lemmy answers for a malformed request (actix + serde, no `cause`):
`400 {"error": "unknown", "message": "Json deserialize error: missing field `reason` at
line 1 column 35"}` (a body), `"Query deserialize error: unknown variant `New`, expected
one of `active`, …"` (a query). Fields a request type does not have are ignored by
serde, silently, as Lemmy ignores them (a v3 `page=2` or `remove_data`): the fake keeps
them in `RequestRecord.ignored_fields` so a test can catch a bot sending them.
"""

from __future__ import annotations

import json
import re
from typing import Any

LISTING_TYPES = ("all", "local", "subscribed", "moderator_view", "suggested")
POST_SORTS = (
    "active",
    "hot",
    "new",
    "old",
    "top",
    "most_comments",
    "new_comments",
    "controversial",
    "scaled",
)
COMMENT_SORTS = ("hot", "top", "new", "old", "controversial")
COMMUNITY_SORTS = (
    "active_six_months",
    "active_monthly",
    "active_weekly",
    "active_daily",
    "hot",
    "new",
    "old",
    "name_asc",
    "name_desc",
    "comments",
    "posts",
    "subscribers",
    "subscribers_local",
)
MODLOG_KINDS = (
    "admin_add",
    "admin_ban",
    "admin_allow_instance",
    "admin_block_instance",
    "admin_purge_comment",
    "admin_purge_community",
    "admin_purge_person",
    "admin_purge_post",
    "mod_add_to_community",
    "mod_ban_from_community",
    "admin_feature_post_site",
    "mod_feature_post_community",
    "mod_change_community_visibility",
    "mod_lock_post",
    "mod_remove_comment",
    "admin_remove_community",
    "mod_remove_post",
    "mod_transfer_community",
    "mod_lock_comment",
    "mod_warn_comment",
    "mod_warn_post",
)
NOTIFICATION_TYPES = ("mention", "reply", "subscribed", "private_message", "mod_action")

ENUMS: dict[str, tuple[str, ...]] = {
    "ListingType": LISTING_TYPES,
    "PostSortType": POST_SORTS,
    "CommentSortType": COMMENT_SORTS,
    "CommunitySortType": COMMUNITY_SORTS,
    "ReportSortType": ("default", "new", "old"),
    "ReportType": ("all", "posts", "comments", "private_messages", "communities"),
    "ModlogKindFilter": ("all", *MODLOG_KINDS),
    "NotificationTypeFilter": ("all", *NOTIFICATION_TYPES),
    "PostListingMode": ("list", "card", "small_card"),
    "VoteShow": ("show", "show_for_others", "hide"),
}

# Field kinds: i32 / i64 (Rust's integer types: they name the serde error), bool, str,
# [i32], [str], or an enum of ENUMS. A trailing "?" marks an optional field.
REQUESTS: dict[str, dict[str, str]] = {
    "Login": {
        "username_or_email": "str",
        "password": "str",
        "totp_2fa_token": "str?",
        "stay_logged_in": "bool?",
    },
    "SaveUserSettings": {
        "animated_images_enabled": "bool?",
        "auto_mark_fetched_posts_as_read": "bool?",
        "bio": "str?",
        "blocking_keywords": "[str]?",
        "blur_nsfw": "bool?",
        "bot_account": "bool?",
        "collapse_bot_comments": "bool?",
        "default_comment_sort_type": "CommentSortType?",
        "default_items_per_page": "i32?",
        "default_listing_type": "ListingType?",
        "default_post_sort_type": "PostSortType?",
        "default_post_time_range_seconds": "i32?",
        "discussion_languages": "[i32]?",
        "display_name": "str?",
        "email": "str?",
        "hide_posts_with_media": "bool?",
        "infinite_scroll_enabled": "bool?",
        "interface_language": "str?",
        "matrix_user_id": "str?",
        "open_links_in_new_tab": "bool?",
        "post_listing_mode": "PostListingMode?",
        "private_messages_enabled": "bool?",
        "send_notifications_to_email": "bool?",
        "show_avatars": "bool?",
        "show_bot_accounts": "bool?",
        "show_downvotes": "VoteShow?",
        "show_media": "bool?",
        "show_nsfw": "bool?",
        "show_person_votes": "bool?",
        "show_read_posts": "bool?",
        "show_score": "bool?",
        "show_upvote_percentage": "bool?",
        "show_upvotes": "bool?",
        "theme": "str?",
    },
    "GetPosts": {
        "type_": "ListingType?",
        "sort": "PostSortType?",
        "time_range_seconds": "i32?",
        "community_id": "i32?",
        "community_name": "str?",
        "creator_id": "i32?",
        "creator_username": "str?",
        "multi_community_id": "i32?",
        "multi_community_name": "str?",
        "show_hidden": "bool?",
        "show_read": "bool?",
        "show_nsfw": "bool?",
        "hide_posts_with_media": "bool?",
        "mark_as_read": "bool?",
        "no_comments_only": "bool?",
        "search_term": "str?",
        "search_title_only": "bool?",
        "search_url_only": "bool?",
        "tag_id": "i32?",
        "page_cursor": "str?",
        "limit": "i64?",
    },
    "GetPost": {"id": "i32?", "comment_id": "i32?"},
    "GetComments": {
        "type_": "ListingType?",
        "sort": "CommentSortType?",
        "time_range_seconds": "i32?",
        "max_depth": "i32?",
        "page_cursor": "str?",
        "limit": "i64?",
        "community_id": "i32?",
        "community_name": "str?",
        "creator_id": "i32?",
        "creator_username": "str?",
        "post_id": "i32?",
        "parent_id": "i32?",
        "search_term": "str?",
    },
    "GetComment": {"id": "i32"},
    "GetCommunity": {"id": "i32?", "name": "str?"},
    "ListCommunities": {
        "type_": "ListingType?",
        "sort": "CommunitySortType?",
        "time_range_seconds": "i32?",
        "show_nsfw": "bool?",
        "multi_community_id": "i32?",
        "search_term": "str?",
        "search_title_only": "bool?",
        "page_cursor": "str?",
        "limit": "i64?",
    },
    "GetPersonDetails": {"person_id": "i32?", "username": "str?"},
    "ListMedia": {"page_cursor": "str?", "limit": "i64?"},
    "RemovePost": {
        "post_id": "i32",
        "removed": "bool",
        "reason": "str",
        "remove_children": "bool?",
    },
    "RemoveComment": {
        "comment_id": "i32",
        "removed": "bool",
        "reason": "str",
        "remove_children": "bool?",
    },
    "PurgePost": {"post_id": "i32", "reason": "str"},
    "PurgeComment": {"comment_id": "i32", "reason": "str"},
    "PurgePerson": {"person_id": "i32", "reason": "str"},
    "PurgeCommunity": {"community_id": "i32", "reason": "str"},
    "BanPerson": {
        "person_id": "i32",
        "ban": "bool",
        "remove_or_restore_data": "bool?",
        "reason": "str",
        "expires_at": "i64?",
    },
    "BanFromCommunity": {
        "community_id": "i32",
        "person_id": "i32",
        "ban": "bool",
        "remove_or_restore_data": "bool?",
        "reason": "str",
        "expires_at": "i64?",
    },
    "CreatePostReport": {"post_id": "i32", "reason": "str", "violates_instance_rules": "bool?"},
    "CreateCommentReport": {
        "comment_id": "i32",
        "reason": "str",
        "violates_instance_rules": "bool?",
    },
    "ResolvePostReport": {"report_id": "i32", "resolved": "bool", "conclusion": "str?"},
    "ResolveCommentReport": {"report_id": "i32", "resolved": "bool", "conclusion": "str?"},
    "ListReports": {
        "unresolved_only": "bool?",
        "type_": "ReportType?",
        "post_id": "i32?",
        "community_id": "i32?",
        "sort": "ReportSortType?",
        "page_cursor": "str?",
        "limit": "i64?",
        "show_community_rule_violations": "bool?",
        "my_reports_only": "bool?",
    },
    "CreatePrivateMessage": {"content": "str", "recipient_id": "i32"},
    "ListNotifications": {
        "type_": "NotificationTypeFilter?",
        "unread_only": "bool?",
        "creator_id": "i32?",
        "page_cursor": "str?",
        "limit": "i64?",
    },
    "ListCustomEmojis": {"category": "str?"},
    "MarkNotificationAsRead": {"notification_id": "i32", "read": "bool"},
    "GetModlog": {
        "mod_person_id": "i32?",
        "community_id": "i32?",
        "type_": "ModlogKindFilter?",
        "listing_type": "ListingType?",
        "other_person_id": "i32?",
        "post_id": "i32?",
        "comment_id": "i32?",
        "show_bulk": "bool?",
        "bulk_action_parent_id": "i32?",
        "page_cursor": "str?",
        "limit": "i64?",
    },
    "DeleteImageParams": {"filename": "str"},
    "ImageGetParams": {"file_type": "str?", "max_size": "i32?"},
    "ImageProxyParams": {"url": "str", "file_type": "str?", "max_size": "i32?"},
}

_INT_RANGES = {"i32": (-(2**31), 2**31 - 1), "i64": (-(2**63), 2**63 - 1)}


class ApiErrorV4(Exception):
    """A Lemmy 1.0 error answer. `cause` is what Lemmy 1.0 adds to every LemmyError body
    (the error's variant name, or the database's words); None leaves it out, as in the
    bodies actix builds (deserialize errors) and the rate limiter's 429."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str | None = None,
        cause: str | bool | None = True,
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.message = status, error, message
        if cause is True:
            cause = message if error == "unknown" and message else camel(error)
        self.cause = cause or None

    def body(self) -> dict:
        body: dict[str, Any] = {"error": self.error}
        if self.message is not None:
            body["message"] = self.message
        if self.cause is not None:
            body["cause"] = self.cause
        return body


def camel(error: str) -> str:
    """`not_found` -> `NotFound`: strum's Display of a LemmyErrorType variant."""
    return "".join(part.title() for part in error.split("_"))


def lemmy_error(error: str, message: str | None = None) -> ApiErrorV4:
    """A LemmyErrorType answer: 401 for incorrect_login, 404 for not_found, else 400."""
    status = {"incorrect_login": 401, "not_found": 404}.get(error, 400)
    return ApiErrorV4(status, error, message)


def not_found() -> ApiErrorV4:
    """A database NotFound that travelled up (`cause` is diesel's words)."""
    return ApiErrorV4(404, "not_found", cause="Record not found")


def unknown(message: str) -> ApiErrorV4:
    """Any other error Lemmy did not name: 400 `unknown` with the error's text."""
    return ApiErrorV4(400, "unknown", message)


class DeserializeError(ApiErrorV4):
    def __init__(self, message: str) -> None:
        super().__init__(400, "unknown", message, cause=None)


class Params:
    """A request read against its type: `p["field"]` (None when absent); a field the
    type does not declare is a KeyError."""

    def __init__(self, type_name: str, values: dict[str, Any]) -> None:
        self.type_name, self.values = type_name, values

    def __getitem__(self, name: str) -> Any:
        if name not in REQUESTS[self.type_name]:
            raise KeyError(f"{self.type_name} has no field {name!r}")
        return self.values.get(name)


def _one_of(allowed: tuple[str, ...]) -> str:
    names = [f"`{a}`" for a in allowed]
    if len(names) == 1:
        return f"expected {names[0]}"
    if len(names) == 2:
        return f"expected {names[0]} or {names[1]}"
    return "expected one of " + ", ".join(names)


def _split(spec: str) -> tuple[str, bool]:
    return (spec[:-1], False) if spec.endswith("?") else (spec, True)


def read_query(type_name: str, values: dict[str, str]) -> tuple[Params, list[str]]:
    """A query string (serde_urlencoded into the request struct)."""
    fields = REQUESTS[type_name]

    def bad(why: str) -> DeserializeError:
        return DeserializeError(f"Query deserialize error: {why}")

    out: dict[str, Any] = {}
    for name, spec in fields.items():
        kind, required = _split(spec)
        raw = values.get(name)
        if raw is None:
            if required:
                raise bad(f"missing field `{name}`")
            continue
        if kind in _INT_RANGES:
            if not re.fullmatch(r"[+-]?[0-9]+", raw):
                raise bad("invalid digit found in string")
            number = int(raw)
            low, high = _INT_RANGES[kind]
            if not low <= number <= high:
                raise bad("number too large to fit in target type")
            out[name] = number
        elif kind == "bool":
            if raw not in ("true", "false"):
                raise bad("provided string was not `true` or `false`")
            out[name] = raw == "true"
        elif kind == "str":
            out[name] = raw
        elif kind in ENUMS:
            if raw not in ENUMS[kind]:
                raise bad(f"unknown variant `{raw}`, {_one_of(ENUMS[kind])}")
            out[name] = raw
        else:  # lists are never query parameters of the routes served
            raise bad(f"unsupported type for field `{name}`")
    ignored = sorted(set(values) - set(fields))
    return Params(type_name, out), ignored


def _unexpected(value: Any) -> str:
    """serde's `Unexpected` display of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    return "sequence" if isinstance(value, list) else "map"


def _position(raw: str, index: int) -> str:
    """serde_json's `at line L column C` for the character before `index`."""
    line = raw.count("\n", 0, index) + 1
    column = index - (raw.rfind("\n", 0, index) + 1)
    return f"at line {line} column {column}"


def _value_end(raw: str, name: str) -> int:
    """Where the value of top-level key `name` ends in `raw` (best effort: the first
    occurrence of the key), for the error's position."""
    match = re.search(r'"' + re.escape(name) + r'"\s*:\s*', raw)
    if match is None:
        return len(raw)
    try:
        _, end = json.JSONDecoder().raw_decode(raw, match.end())
    except ValueError:
        return len(raw)
    return end


def _check_value(kind: str, value: Any) -> str | None:
    """Why `value` is not a `kind` (serde_json's words), or None when it is."""
    if kind in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"invalid type: {_unexpected(value)}, expected {kind}"
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            return f"invalid value: {_unexpected(value)}, expected {kind}"
        return None
    if kind == "bool":
        ok = isinstance(value, bool)
        return None if ok else f"invalid type: {_unexpected(value)}, expected a boolean"
    if kind == "str":
        ok = isinstance(value, str)
        return None if ok else f"invalid type: {_unexpected(value)}, expected a string"
    if kind.startswith("["):
        if not isinstance(value, list):
            return f"invalid type: {_unexpected(value)}, expected a sequence"
        for item in value:
            why = _check_value(kind[1:-1], item)
            if why is not None:
                return why
        return None
    if kind in ENUMS:
        if not isinstance(value, str):
            return f"invalid type: {_unexpected(value)}, expected variant identifier"
        if value not in ENUMS[kind]:
            return f"unknown variant `{value}`, {_one_of(ENUMS[kind])}"
        return None
    raise ValueError(f"unknown field kind {kind!r}")


def read_body(type_name: str, raw: bytes) -> tuple[Params, list[str]]:
    """A JSON body (serde_json into the request struct, through actix's `Json`)."""
    fields = REQUESTS[type_name]
    text = raw.decode("utf-8", errors="replace")
    prefix = "Json deserialize error"
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError as exc:
        where = exc.pos if isinstance(exc, json.JSONDecodeError) else len(text)
        raise DeserializeError(f"{prefix}: expected value {_position(text, where + 1)}") from None
    if data is None:
        raise DeserializeError(f"{prefix}: EOF while parsing a value at line 1 column 0")
    if not isinstance(data, dict):
        raise DeserializeError(
            f"{prefix}: invalid type: {_unexpected(data)}, expected struct {type_name} "
            f"{_position(text, len(text.rstrip()))}"
        )
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        kind, required = _split(spec)
        if name not in data or (data[name] is None and not required):
            if required:
                raise DeserializeError(
                    f"{prefix}: missing field `{name}` {_position(text, len(text.rstrip()))}"
                )
            continue
        why = _check_value(kind, data[name])
        if why is not None:
            raise DeserializeError(f"{prefix}: {why} {_position(text, _value_end(text, name))}")
        out[name] = data[name]
    ignored = sorted(set(data) - set(fields))
    return Params(type_name, out), ignored
