"""The Lemmy 1.0 HTTP API of the fake (API v4), its v3 compatibility layer, its limits.

Facts it follows: `shared/reference/lemmy-api.md` ("v4") and `ecosystem.md` §1, read
from LemmyNet/lemmy at tag 1.0.0-beta.1 (file names below are under its `crates/`). Handlers are plain functions `(ctx) -> dict` run under the
state lock; every request is read against its declared type (`params_v4`), so a
malformed one gets Lemmy's deserialize error and an unknown field is ignored (and
noted on the request's record).

- Errors: `{error, message?, cause}`; 401 only `incorrect_login`, 404 only `not_found`,
  400 otherwise; rate limits 429 `{"error":"too_many_requests"}` with `Retry-After` and
  `x-ratelimit-*`; an unknown route 404 with an empty body; a repeated
  `Idempotency-Key` (POST/PUT, logged in, within 3 minutes) 422 with an empty body.
- Tokens expire after a week unless the login said `stay_logged_in`; an expired,
  dropped or unknown token reads as anonymous; `GET /account` answers 401,
  `GET /account/validate_auth` 400 `not_logged_in`. A ban keeps the logins (actions
  then answer 400 `site_ban`).
- Listings: cursor paging only (`PagedResponse {items, next_page?, prev_page?}`, the
  cursor Lemmy's own encoding), `limit` 1..50 (default: the account's, then the site's
  `default_items_per_page`, 20), the visibility rules of `PostQuery::list` /
  `CommentQuery::list` (see `_post_visible`, `_comment_visible`).
- The v3 layer (`/api/v3` on 1.0, `api/routes_v3/src/lib.rs`) serves browsing only
  (`community/list` too, its `page` ignored);
  every moderation, media, validate_auth and image route of v3 answers 404.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from fakelemmy import params as params_v3
from fakelemmy.lemmy_api import COMMENT_SORTS as V3_COMMENT_SORTS
from fakelemmy.lemmy_api import LISTING_TYPES as V3_LISTING_TYPES
from fakelemmy.lemmy_api import POST_SORTS as V3_POST_SORTS
from fakelemmy.lemmy_api import hot_rank
from fakelemmy.params_v4 import (
    ApiErrorV4,
    DeserializeError,
    Params,
    lemmy_error,
    not_found,
    read_body,
    read_query,
    unknown,
)
from fakelemmy.state import (
    Comment,
    Community,
    CommunityBan,
    ModAction,
    Notification,
    Person,
    Post,
    PrivateMessage,
    Report,
    now,
)
from fakelemmy.views import CompatViews
from fakelemmy.views_v4 import (
    MODLOG_KIND,
    PERMANENTLY_DELETED,
    banned_now,
    camel_enum,
    snake_enum,
)

FETCH_LIMIT_MAX = 50
TOKEN_LIFETIME = timedelta(days=7)  # without stay_logged_in (Claims::generate)
IDEMPOTENCY_SECONDS = 180  # Lemmy forgets keys after 120 to 240 s
TEN_YEARS = timedelta(days=3650)
ADMIN_REPORT_DELAY = timedelta(days=3)  # community-rule reports reach admins this late

# base64 with Lemmy's shuffled URL-safe alphabet, no padding (diesel_utils/src/pagination.rs)
_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_LEMMY = "AphruVFwvCetlckdZ2g-foxXBGNbyHnD96qUj3KL_YsE7P1OQiaIR0z4T58mMWJS"
_TO_LEMMY = str.maketrans(_STANDARD, _LEMMY)
_FROM_LEMMY = str.maketrans(_LEMMY, _STANDARD)

# v3 paths (0.19) -> the v4 path doing the same, for tests written against both
V3_TO_V4 = {
    "/api/v3/site": "/api/v4/site",
    "/api/v3/user/login": "/api/v4/account/auth/login",
    "/api/v3/user/logout": "/api/v4/account/auth/logout",
    "/api/v3/user/validate_auth": "/api/v4/account/validate_auth",
    "/api/v3/user/save_user_settings": "/api/v4/account/settings/save",
    "/api/v3/post/list": "/api/v4/post/list",
    "/api/v3/post": "/api/v4/post",
    "/api/v3/comment/list": "/api/v4/comment/list",
    "/api/v3/comment": "/api/v4/comment",
    "/api/v3/community": "/api/v4/community",
    "/api/v3/user": "/api/v4/person",
    "/api/v3/admin/list_all_media": "/api/v4/image/list",
    "/api/v3/account/list_media": "/api/v4/account/media/list",
    "/api/v3/post/remove": "/api/v4/post/remove",
    "/api/v3/comment/remove": "/api/v4/comment/remove",
    "/api/v3/admin/purge/post": "/api/v4/admin/purge/post",
    "/api/v3/admin/purge/comment": "/api/v4/admin/purge/comment",
    "/api/v3/admin/purge/person": "/api/v4/admin/purge/person",
    "/api/v3/admin/purge/community": "/api/v4/admin/purge/community",
    "/api/v3/user/ban": "/api/v4/admin/ban",
    "/api/v3/community/ban_user": "/api/v4/community/ban_user",
    "/api/v3/post/report": "/api/v4/post/report",
    "/api/v3/comment/report": "/api/v4/comment/report",
    "/api/v3/post/report/list": "/api/v4/report/list",
    "/api/v3/comment/report/list": "/api/v4/report/list",
    "/api/v3/post/report/resolve": "/api/v4/post/report/resolve",
    "/api/v3/comment/report/resolve": "/api/v4/comment/report/resolve",
    "/api/v3/private_message": "/api/v4/private_message",
    "/api/v3/private_message/list": "/api/v4/account/notification/list",
    "/api/v3/image_proxy": "/api/v4/image/proxy",
}


def buckets_for(method: str, path: str) -> list[str]:
    """The rate-limit buckets a request to a 1.0 instance counts in, in order (every
    `/api/v4` request counts in `message`; `api/routes/src/lib.rs`). A bucket listed
    twice counts twice (Lemmy wraps some scopes twice)."""
    if path.startswith("/api/v4/") or path == "/api/v4":
        sub = path[len("/api/v4") :]
        if method == "POST" and (sub.startswith("/account/auth/") or sub == "/community"):
            return ["message", "register"]
        if method in ("POST", "DELETE") and sub == "/image":
            return ["message", "image"]
        if sub in ("/search", "/resolve_object", "/post/site_metadata"):
            return ["message", "search"]
        if method == "POST" and sub == "/post":
            return ["message", "post"]
        if method == "POST" and sub == "/comment":
            return ["message", "comment"]
        if sub.startswith("/report/"):
            return ["message", "message"]
        return ["message"]
    if path.startswith("/api/v3/"):  # the compatibility layer (api/routes_v3/src/lib.rs)
        sub = path[len("/api/v3") :]
        if method == "POST" and sub in ("/user/login", "/user/register"):
            return ["message", "register"]
        if method == "POST" and sub == "/post":
            return ["message", "post"]
        if method == "POST" and sub == "/comment":
            return ["message", "comment"]
        if sub == "/search":
            return ["message", "search"]
        if sub.split("/")[1] in ("community", "post", "comment", "user", "resolve_object"):
            return ["message", "message"]
        return ["message"]
    return []


# ---------------------------------------------------------------------- cursors
def encode_cursor(data: str, back: bool = False, recovery: bool = False) -> str:
    raw = urlencode({"b": str(back).lower(), "d": data, "r": str(recovery).lower()})
    encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return encoded.translate(_TO_LEMMY)


def decode_cursor(cursor: str) -> tuple[bool, str, bool]:
    """(back, data, recovery); a cursor Lemmy did not make is 400 `unknown`."""
    for offset, char in enumerate(cursor):
        if char not in _LEMMY:
            raise unknown(f"Invalid symbol {ord(char)}, offset {offset}.")
    if len(cursor) % 4 == 1:
        raise unknown("Invalid input length.")
    standard = cursor.translate(_FROM_LEMMY)
    try:
        text = base64.urlsafe_b64decode(standard + "=" * (-len(standard) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise unknown("invalid utf-8 sequence") from None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    for name in ("b", "d", "r"):
        if name not in fields:
            raise unknown(f"missing field `{name}`")
    for name in ("b", "r"):
        if fields[name] not in ("true", "false"):
            raise unknown("provided string was not `true` or `false`")
    return fields["b"] == "true", fields["d"], fields["r"] == "true"


def cursor_id(data: str) -> int:
    try:
        return int(data)
    except ValueError:
        raise unknown("invalid digit found in string") from None


def paginate(
    items: list, key: Callable, limit: int, cursor: str | None, find: Callable, ident: Callable
) -> dict:
    """Keyset paging as Lemmy's `paginate` + `paginate_response`: `items` is the whole
    filtered list in listing order, `key(item)` ascends along it, `find(data)` reads
    the cursor's row (404 when it is gone: it need not be visible), `ident(item)` is
    the cursor data of an item."""
    request = decode_cursor(cursor) if cursor is not None else None
    if request is None:
        page = items[:limit]
    else:
        back, data, recovery = request
        pivot = key(find(data))
        if back:
            before = [i for i in items if (key(i) <= pivot if recovery else key(i) < pivot)]
            page = before[-limit:] if limit else []
        else:
            page = [i for i in items if (key(i) >= pivot if recovery else key(i) > pivot)]
            page = page[:limit]
    prev_page = encode_cursor(ident(page[0]), back=True) if page else None
    next_page = encode_cursor(ident(page[-1])) if page else None
    short = len(page) < limit
    if request is None:
        prev_page = None
        if short:
            next_page = None
    elif short and request[0]:
        prev_page = None
    elif short:
        next_page = None
    if not page and request is not None and not request[2]:
        back, data, _ = request
        if back:
            next_page = encode_cursor(data, back=False, recovery=True)
        else:
            prev_page = encode_cursor(data, back=True, recovery=True)
    response: dict = {"items": page}
    if next_page is not None:
        response["next_page"] = next_page
    if prev_page is not None:
        response["prev_page"] = prev_page
    return response


# ---------------------------------------------------------------------- requests
@dataclass
class Ctx4:
    request: Request
    params: Params
    viewer: Person | None
    raw: bytes = b""

    def login(self) -> Person:
        """A `LocalUserView` extractor: no valid token is 401 `incorrect_login`."""
        if self.viewer is None:
            raise lemmy_error("incorrect_login")
        return self.viewer

    def user(self) -> Person:
        """`check_user_valid`: a banned account may log in, but not act."""
        person = self.login()
        if banned_now(person):
            raise lemmy_error("site_ban")
        return person

    def admin(self) -> Person:
        person = self.user()
        if not person.admin:
            raise lemmy_error("not_an_admin")
        return person


def _stamp(dt: datetime) -> float:
    return dt.timestamp()


class LemmyApiV4:
    """The v4 routes of one `FakeLemmy` (and its v3 compatibility routes)."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.state = fake.state
        self.views = fake.views_v4
        self.views_v3 = CompatViews(fake.state, fake.url, fake.version, fake.views.rate_limits)
        self._idempotency: dict[tuple[int, str], float] = {}

    # ------------------------------------------------------------------ helpers
    def can_mod(self, person: Person | None, community: Community) -> bool:
        return person is not None and (person.admin or person.id in community.moderators)

    @staticmethod
    def followed(viewer: Person | None, community: Community) -> bool:
        """`filter_is_subscribed` (db_schema/src/utils/queries/filters.rs): an accepted
        follow (not one awaiting a moderator's approval)."""
        return viewer is not None and community.followers.get(viewer.id) == "accepted"

    def private_or_followed(self, viewer: Person | None, community: Community) -> bool:
        """`filter_private_or_followed`: a private community's content to its accepted
        followers, moderators and admins (their rows: banned ones too)."""
        return (
            community.visibility != "private"
            or self.followed(viewer, community)
            or self.can_mod(viewer, community)
        )

    def _admins_in_order(self) -> list[Person]:
        admins = [p for p in self.state.persons.values() if p.admin and p.local]
        return sorted(admins, key=lambda p: p.local_user_id or 0)

    def higher_admin(self, actor: Person, targets: list[Person]) -> None:
        """`is_higher_admin_check`: the oldest admin among actor and targets must be
        the actor (a newer admin may be acted on, an older one not)."""
        ids = {actor.id, *(t.id for t in targets)}
        first = next((p for p in self._admins_in_order() if p.id in ids), None)
        if first is not None and first.id != actor.id:
            raise lemmy_error("not_higher_admin")

    def higher_mod(self, actor: Person, target: Person, community: Community) -> None:
        """`is_higher_mod_or_admin_check`: admins (oldest first), then the community's
        mods (by seniority); the first of actor and target must be the actor."""
        ids = {actor.id, target.id}
        ranked = [p.id for p in self._admins_in_order()] + list(community.moderators)
        first = next((pid for pid in ranked if pid in ids), None)
        if first != actor.id:
            raise lemmy_error("not_higher_mod")

    def get_post(self, post_id: int | None) -> Post:
        post = self.state.posts.get(post_id)
        if post is None or post.purged or self.state.communities[post.community_id].purged:
            raise not_found()
        return post

    def get_comment(self, comment_id: int | None) -> Comment:
        comment = self.state.comments.get(comment_id)
        if comment is None or comment.purged or self.state.posts[comment.post_id].purged:
            raise not_found()
        return comment

    def get_person(self, person_id: int | None) -> Person:
        person = self.state.persons.get(person_id)
        if person is None:
            raise not_found()
        return person

    def get_community(self, community_id: int | None) -> Community:
        community = self.state.communities.get(community_id)
        if community is None or community.purged:
            raise not_found()
        return community

    def community_by_name(self, name: str) -> Community:
        for community in self.state.communities.values():
            if not community.purged and name in (
                community.name,
                f"{community.name}@{community.instance}",
            ):
                return community
        raise not_found()

    def person_by_name(self, name: str) -> Person:
        short, _, domain = name.partition("@")
        for person in self.state.persons.values():
            if person.name == short and (not domain or person.instance == domain):
                return person
        raise not_found()

    def limit(self, given: int | None, viewer: Person | None) -> int:
        limit = given
        if limit is None:
            limit = viewer.default_items_per_page if viewer else None
        if limit is None:
            limit = self.state.site.default_items_per_page
        if not 1 <= limit <= FETCH_LIMIT_MAX:
            raise lemmy_error("invalid_fetch_limit")
        return limit

    def time_range(self, given: int | None, viewer: Person | None) -> int | None:
        """`post_time_range_seconds_with_default`: given, else the account's, else the
        site's; 0 means none. It applies to every sort, comments too."""
        out = given
        if out is None and viewer is not None:
            out = viewer.default_post_time_range_seconds
        if out is None:
            out = self.state.site.default_post_time_range_seconds
        return out if out else None

    def modlog(self, action: str, mod: Person, target_id: int, reason, **detail) -> int:
        self.state.modlog.append(ModAction(action, mod.id, target_id, reason, now(), detail))
        return len(self.state.modlog) - 1

    def notify(self, person_id: int, creator: Person, **fields) -> None:
        """An inbox entry for a local person (`notify_mod_action`, private messages)."""
        recipient = self.state.persons.get(person_id)
        if recipient is None or not recipient.local:
            return
        self.state.notifications.append(
            Notification(
                self.state.next_id("notification"),
                person_id,
                creator_id=creator.id,
                published=now(),
                **fields,
            )
        )

    def mod_action(
        self, action: str, mod: Person, target_id: int, person_id: int, reason, **detail
    ) -> int:
        index = self.modlog(action, mod, target_id, reason, **detail)
        self.notify(person_id, mod, kind="mod_action", modlog_index=index)
        return index

    def check_private(self, viewer: Person | None) -> None:
        if viewer is None and self.state.site.private_instance:
            raise lemmy_error("instance_is_private")

    def expires_at(self, given: int | None) -> datetime | None:
        """`check_expire_time`: past is refused, beyond ten years is permanent."""
        if given is None:
            return None
        try:
            when = datetime.fromtimestamp(given, UTC)
        except (OverflowError, OSError, ValueError):
            raise lemmy_error("invalid_unix_time") from None
        if when <= now():
            raise lemmy_error("ban_expiration_in_past")
        return None if when - now() > TEN_YEARS else when

    # ------------------------------------------------------------------ site, account
    def site(self, ctx: Ctx4) -> dict:
        return self.views.site_response(self.fake.started_at)

    def login(self, ctx: Ctx4) -> dict:
        p = ctx.params
        person = self.state.person_by_name(p["username_or_email"])
        if (
            person is None
            or not person.local
            or person.password is None
            or person.password != p["password"]
        ):
            raise lemmy_error("incorrect_login")
        if person.deleted:
            raise lemmy_error("deleted")
        expires = None if p["stay_logged_in"] else now() + TOKEN_LIFETIME
        token = self.state.issue_token(person.id, expires)
        return {"jwt": token, "registration_created": False, "verify_email_sent": False}

    def list_custom_emojis(self, ctx: Ctx4) -> dict:
        """`list_custom_emojis`: every emoji of the site (or of one category), by
        category then id, no paging, anonymous too (1.0 moved them out of `/site`)."""
        category = ctx.params["category"]
        emojis = [e for e in self.state.custom_emojis if category is None or e.category == category]
        emojis.sort(key=lambda e: (e.category, e.id))
        return {"custom_emojis": [self.views.custom_emoji_view(e) for e in emojis]}

    def logout(self, ctx: Ctx4) -> dict:
        ctx.login()
        token = self.fake.token_of(ctx.request.headers, ctx.request.cookies)
        self.state.tokens.pop(token, None)
        self.state.token_expires.pop(token, None)
        return {"success": True}

    def my_user(self, ctx: Ctx4) -> dict:
        return self.views.my_user(ctx.login())

    def validate_auth(self, ctx: Ctx4) -> dict:
        if ctx.viewer is None:
            raise lemmy_error("not_logged_in")  # never 401 here
        return {"success": True}

    def save_settings(self, ctx: Ctx4) -> dict:
        person, p = ctx.login(), ctx.params
        for name in (
            "show_nsfw",
            "show_bot_accounts",
            "show_read_posts",
            "bot_account",
            "hide_posts_with_media",
            "auto_mark_fetched_posts_as_read",
            "private_messages_enabled",
            "default_items_per_page",
        ):
            if p[name] is not None:
                setattr(person, name, p[name])
        for name, field in (
            ("default_listing_type", "default_listing_type"),
            ("default_post_sort_type", "default_sort_type"),
            ("default_comment_sort_type", "default_comment_sort_type"),
        ):
            if p[name] is not None:
                setattr(person, field, camel_enum(p[name]))
        if p["default_post_time_range_seconds"] is not None:
            person.default_post_time_range_seconds = p["default_post_time_range_seconds"] or None
        if p["discussion_languages"] is not None:
            person.discussion_languages = list(p["discussion_languages"])
        if p["display_name"] is not None:
            person.display_name = p["display_name"] or None
        if p["bio"] is not None:
            person.bio = self.fake.images_v4.markdown(p["bio"]) or None
        person.updated = now()
        return {"success": True}

    # ------------------------------------------------------------------ posts
    def _community_filter(self, community_id, community_name) -> int | None:
        """`resolve_community_identifier`: an id is taken as it is (an unknown one
        lists nothing), a name must exist (404)."""
        if community_id is not None:
            return community_id
        if community_name is not None:
            return self.community_by_name(community_name).id
        return None

    def _creator_filter(self, creator_id, creator_username) -> int | None:
        if creator_id is not None:
            return creator_id
        if creator_username is not None:
            return self.person_by_name(creator_username).id
        return None

    def listing_type(self, given: str | None, viewer: Person | None, community_id) -> str:
        if community_id is not None:
            return "all"  # inside a community: everything
        if given is not None:
            return given
        if viewer is not None:
            return snake_enum(viewer.default_listing_type)
        return snake_enum(self.state.site.default_post_listing_type)

    def _post_visible(self, post: Post, viewer: Person | None, o: dict) -> bool:
        """`PostQuery::list` (db_views/post/src/impls.rs), as far as the fake models it."""
        s = self.state
        community, creator = s.communities[post.community_id], s.persons[post.creator_id]
        type_ = o["type_"]
        if post.purged or community.purged or community.deleted:
            return False
        if post.deleted and not (viewer and viewer.id == post.creator_id):
            return False  # only the creator sees a deleted post
        if post.scheduled is not None and not (viewer and viewer.id == post.creator_id):
            return False  # nor an unpublished scheduled one (impls.rs: not even admins)
        if o["community_id"] is not None and post.community_id != o["community_id"]:
            return False
        if o["creator_id"] is not None and post.creator_id != o["creator_id"]:
            return False
        if type_ == "local" and not community.local:
            return False
        if type_ == "suggested":
            return False  # the fake has no suggested multi-community
        if type_ == "subscribed" and not self.followed(viewer, community):
            return False
        if type_ == "moderator_view" and not (viewer and viewer.id in community.moderators):
            return False  # what the viewer moderates: an admin's view is no wider
        if (o["community_id"] is None and type_ in ("all", "local")) and (
            community.visibility == "unlisted" and not self.followed(viewer, community)
        ):
            return False  # unless followed, even for admins
        if not (viewer and viewer.admin):
            if not self.private_or_followed(viewer, community):
                return False
            if community.removed or post.removed:
                return False  # removed posts: admins only
        if viewer is None and community.visibility == "local_only_private":
            return False
        if not o["show_nsfw"] and (post.nsfw or community.nsfw):
            return False
        if viewer is not None and not viewer.show_bot_accounts and creator.bot_account:
            return False
        if viewer is not None and not o["show_read"] and viewer.id in post.read_by:
            return False
        if viewer is not None and not o["show_hidden"] and viewer.id in post.hidden_by:
            return False
        kind = post.url_content_type or ""
        if o["hide_media"] and (kind.startswith("image/") or kind.startswith("video/")):
            return False
        if type_ != "moderator_view" and viewer is not None:
            languages = viewer.discussion_languages
            if languages is not None and post.language_id not in languages:
                return False
        window = o["time_range"]
        return not (window is not None and post.published <= now() - timedelta(seconds=window))

    def _post_key(self, sort: str, by_community: bool) -> Callable:
        views = self.views

        def key(post: Post):
            featured = post.featured_community if by_community else post.featured_local
            ts, first = _stamp(post.published), cast(tuple[float, ...], ())
            if sort == "new":
                return (-ts, -post.id)
            if sort == "old":
                return (ts, post.id)
            if sort == "top":
                first = (-post.score,)
            elif sort == "most_comments":
                first = (-views.post(post)["comments"],)
            elif sort == "new_comments":
                newest = views.post(post).get("newest_comment_time_at")
                stamp = datetime.fromisoformat(newest.replace("Z", "+00:00")) if newest else None
                return (not featured, -_stamp(stamp or post.published), -post.id)
            else:  # active, hot, scaled, controversial: a hot rank
                first = (-hot_rank(post.score, post.published),)
            return (not featured, *first, -ts, -post.id)

        return key

    def post_listing(self, viewer: Person | None, q: dict) -> tuple[list[Post], Callable, int]:
        """Every post the listing shows, in order, with its sort key and the limit."""
        self.check_private(viewer)
        community_id = self._community_filter(q.get("community_id"), q.get("community_name"))
        creator_id = self._creator_filter(q.get("creator_id"), q.get("creator_username"))
        site = self.state.site
        sort = q.get("sort") or snake_enum(
            viewer.default_sort_type if viewer else site.default_post_sort_type
        )
        show_nsfw = q.get("show_nsfw")
        if show_nsfw is None:
            show_nsfw = viewer.show_nsfw if viewer else site.content_warning is not None
        show_read = q.get("show_read")
        if show_read is None:
            show_read = viewer.show_read_posts if viewer else True
        hide_media = q.get("hide_posts_with_media")
        if hide_media is None:
            hide_media = viewer.hide_posts_with_media if viewer else False
        o = {
            "type_": self.listing_type(q.get("type_"), viewer, community_id),
            "community_id": community_id,
            "creator_id": creator_id,
            "show_nsfw": show_nsfw,
            "show_read": show_read,
            "show_hidden": bool(q.get("show_hidden")),
            "hide_media": hide_media,
            "time_range": self.time_range(q.get("time_range_seconds"), viewer),
        }
        limit = self.limit(q.get("limit"), viewer)
        posts = [p for p in self.state.posts.values() if self._post_visible(p, viewer, o)]
        key = self._post_key(sort, community_id is not None)
        posts.sort(key=key)
        return posts, key, limit

    def mark_read(self, ctx: Ctx4, posts: list[Post]) -> None:
        viewer = ctx.viewer
        if viewer is None:  # anonymous reads mark nothing
            return
        for post in posts:
            post.read_by.add(viewer.id)
            post.read_at[viewer.id] = now()
        self.fake.note_read_marks(ctx.request)

    def list_posts(self, ctx: Ctx4) -> dict:
        p, viewer = ctx.params, ctx.viewer
        q = {name: p[name] for name in p.values}
        posts, key, limit = self.post_listing(viewer, q)
        page = paginate(
            posts,
            key,
            limit,
            p["page_cursor"],
            lambda data: self.get_post(cursor_id(data)),
            lambda post: str(post.id),
        )
        mark = p["mark_as_read"]
        if viewer is not None and (
            viewer.auto_mark_fetched_posts_as_read if mark is None else mark
        ):
            self.mark_read(ctx, page["items"])
        page["items"] = [self.views.post_view(post, viewer) for post in page["items"]]
        return page

    def _readable_post(self, viewer: Person | None, post_id, comment_id) -> Post:
        self.check_private(viewer)
        if post_id is None and comment_id is None:
            raise lemmy_error("not_found")
        if post_id is None:
            post_id = self.get_comment(comment_id).post_id
        post = self.get_post(post_id)
        community = self.state.communities[post.community_id]
        # PostView::read (db_views/post/src/impls.rs): a visitor never sees a local-only
        # private community's posts; but for mods and admins, removed ones (and those of a
        # removed or deleted community) are their creator's alone, a deleted one is
        # shown while it has comments, a private community's to accepted followers
        if viewer is None and community.visibility == "local_only_private":
            raise not_found()
        # `is_mod_or_admin_opt` (read.rs): a banned or deleted mod or admin is none
        # (`check_local_user_banned_or_deleted`)
        valid = viewer is not None and not (banned_now(viewer) or viewer.deleted)
        if not (valid and self.can_mod(viewer, community)):
            own = viewer is not None and post.creator_id == viewer.id
            # `post.comments > 0`: the count Lemmy's triggers keep (`views.post_view`'s),
            # which leaves out deleted and removed comments
            comments = any(
                c.post_id == post.id and not (c.purged or c.deleted or c.removed)
                for c in self.state.comments.values()
            )
            hidden = post.removed or community.removed or community.deleted
            if (hidden and not own) or (post.deleted and not (own or comments)):
                raise not_found()
            if not self.private_or_followed(viewer, community):
                raise not_found()
        return post

    def post_detail(self, ctx: Ctx4) -> dict:
        """`GET /post`: also marks the post read for the caller (api_crud/src/post/read.rs)."""
        viewer = ctx.viewer
        post = self._readable_post(viewer, ctx.params["id"], ctx.params["comment_id"])
        if viewer is not None:
            self.mark_read(ctx, [post])
        community = self.state.communities[post.community_id]
        cross = [
            other
            for other in self.state.posts.values()
            if post.url
            and other.url == post.url
            and other.id != post.id
            and self._post_visible(other, viewer, self._cross_post_options())
        ]
        cross.sort(key=self._post_key("new", False))
        return {
            "post_view": self.views.post_view(post, viewer),
            "community_view": self.views.community_view(community, viewer),
            "moderators": self.views.moderator_views(community),
            "cross_posts": [self.views.post_view(x, viewer) for x in cross],
        }

    def _cross_post_options(self) -> dict:
        return {
            "type_": "all",
            "community_id": None,
            "creator_id": None,
            "show_nsfw": False,
            "show_read": True,
            "show_hidden": False,
            "hide_media": False,
            "time_range": None,
        }

    # ------------------------------------------------------------------ comments
    def _comment_visible(self, c: Comment, viewer: Person | None, o: dict) -> bool:
        """`CommentQuery::list` (db_views/comment/src/impls.rs): removed and deleted
        comments stay listed (their content blanked, see views_v4)."""
        s = self.state
        post = s.posts[c.post_id]
        community, creator = s.communities[post.community_id], s.persons[c.creator_id]
        type_ = o["type_"]
        if c.purged or post.purged or community.purged:
            return False
        if o["post_id"] is not None and c.post_id != o["post_id"]:
            return False
        if o["parent_path"] is not None and not (c.path + ".").startswith(o["parent_path"] + "."):
            return False
        if o["community_id"] is not None and post.community_id != o["community_id"]:
            return False
        if o["creator_id"] is not None and c.creator_id != o["creator_id"]:
            return False
        if type_ == "suggested":
            return False
        if type_ == "subscribed" and not self.followed(viewer, community):
            return False
        unlisted = community.visibility == "unlisted" and not self.followed(viewer, community)
        if type_ == "local":
            if unlisted:
                return False
            if o["post_id"] is None and o["community_id"] is None and not community.local:
                return False
        if type_ == "moderator_view" and not (viewer and viewer.id in community.moderators):
            return False
        if type_ == "all" and unlisted:
            return False  # unless followed, even in the community's own listing (All)
        if not (viewer and viewer.admin) and not self.private_or_followed(viewer, community):
            return False
        if viewer is None and community.visibility == "local_only_private":
            return False
        if viewer is not None and not viewer.show_bot_accounts and creator.bot_account:
            return False
        if (viewer is not None and viewer.discussion_languages is not None) and (
            c.language_id not in viewer.discussion_languages
        ):
            return False  # even in moderator_view
        show_nsfw = viewer.show_nsfw if viewer else self.state.site.content_warning is not None
        if not show_nsfw and (post.nsfw or community.nsfw):
            return False  # no query parameter overrides this for comments
        if o["max_depth"] is not None and c.path.count(".") > o["depth_limit"]:
            return False
        window = o["time_range"]
        return not (window is not None and c.published <= now() - timedelta(seconds=window))

    @staticmethod
    def _comment_key(sort: str) -> Callable:
        def key(c: Comment):
            ts = _stamp(c.published)
            if sort == "new":
                return (-ts, -c.id)
            if sort == "old":
                return (ts, c.id)
            if sort in ("top", "controversial"):
                return (-c.score, -ts, -c.id)
            return (-hot_rank(c.score, c.published), -c.score, -ts, -c.id)

        return key

    def comment_listing(self, viewer: Person | None, q: dict) -> tuple[list, Callable, int]:
        self.check_private(viewer)
        community_id = self._community_filter(q.get("community_id"), q.get("community_name"))
        creator_id = self._creator_filter(q.get("creator_id"), q.get("creator_username"))
        parent_path = None
        if q.get("parent_id") is not None:
            parent_path = self.get_comment(q["parent_id"]).path
        site = self.state.site
        sort = q.get("sort") or snake_enum(
            viewer.default_comment_sort_type if viewer else site.default_comment_sort_type
        )
        max_depth = q.get("max_depth")
        depth_limit = None
        if max_depth is not None:
            base = parent_path.count(".") if parent_path else 0
            depth_limit = base + max_depth
            limit = 300  # a tree fetch: the limit is ignored
        else:
            limit = self.limit(q.get("limit"), viewer)
        o = {
            "type_": self.listing_type(q.get("type_"), viewer, community_id),
            "community_id": community_id,
            "creator_id": creator_id,
            "post_id": q.get("post_id"),
            "parent_path": parent_path,
            "max_depth": max_depth,
            "depth_limit": depth_limit,
            "time_range": self.time_range(q.get("time_range_seconds"), viewer),
        }
        comments = [c for c in self.state.comments.values() if self._comment_visible(c, viewer, o)]
        key = self._comment_key(sort)
        comments.sort(key=key)
        return comments, key, limit

    def list_comments(self, ctx: Ctx4) -> dict:
        p, viewer = ctx.params, ctx.viewer
        comments, key, limit = self.comment_listing(viewer, {n: p[n] for n in p.values})
        page = paginate(
            comments,
            key,
            limit,
            p["page_cursor"],
            lambda data: self.get_comment(cursor_id(data)),
            lambda c: str(c.id),
        )
        page["items"] = [self.views.comment_view(c, viewer) for c in page["items"]]
        return page

    def comment_detail(self, ctx: Ctx4) -> dict:
        viewer = ctx.viewer
        self.check_private(viewer)
        comment = self.get_comment(ctx.params["id"])
        community = self.state.communities[self.state.posts[comment.post_id].community_id]
        # CommentView::read: a private community's to admins, accepted followers and its
        # mods (filter_private_or_followed), a local-only private one's to any login
        if not self.private_or_followed(viewer, community):
            raise not_found()
        if viewer is None and community.visibility == "local_only_private":
            raise not_found()
        return {"comment_view": self.views.comment_view(comment, viewer)}

    # ------------------------------------------------------------------ communities, persons
    def readable_community(self, viewer: Person | None, params: Params) -> Community:
        """get_community's checks (federation/read_community.rs): a private instance's
        anonymous reader refused, then CommunityView::read: a removed or deleted
        community only to its mods and admins (banned or deleted ones are neither), a
        local-only private one to a login."""
        self.check_private(viewer)
        if params["id"] is not None:
            community = self.get_community(params["id"])
        elif params["name"] is not None:
            community = self.community_by_name(params["name"])
        else:
            raise lemmy_error("no_id_given")
        if viewer is None and community.visibility == "local_only_private":
            raise not_found()
        valid = viewer is not None and not (banned_now(viewer) or viewer.deleted)
        if (community.removed or community.deleted) and not (
            valid and self.can_mod(viewer, community)
        ):
            raise not_found()
        return community

    def community_detail(self, ctx: Ctx4) -> dict:
        community = self.readable_community(ctx.viewer, ctx.params)
        return {
            "community_view": self.views.community_view(community, ctx.viewer),
            "moderators": self.views.moderator_views(community),
            "discussion_languages": [],
        }

    def _community_key(self, sort: str) -> Callable:
        """`CommunityQuery::list`'s order (db_views/community/src/impls.rs): the sort's
        column, then the id, both ascending for `old` and `name_asc`, else descending.
        The fake's subscriber and active-user counts are zero: those sorts are by id."""
        views = self.views

        def key(c: Community):
            ts = _stamp(c.published)
            if sort == "old":
                return (ts, c.id)
            if sort == "name_asc":
                return (c.name.lower(), c.id)
            if sort == "name_desc":  # descending text: negated code points, then an end mark
                return ((*(-ord(ch) for ch in c.name.lower()), 1), -c.id)
            if sort == "new":
                return (-ts, -c.id)
            if sort == "hot":  # hot_rank(subscribers = 0, published_at)
                return (-hot_rank(0, c.published), -c.id)
            if sort in ("comments", "posts"):
                return (-views.community(c)[sort], -c.id)
            return (-c.id,)  # subscribers*, active_* (active_monthly: the default)

        return key

    def list_communities(self, ctx: Ctx4) -> dict:
        page = self.community_page(ctx)
        page["items"] = [self.views.community_view(c, ctx.viewer) for c in page["items"]]
        return page

    def community_page(self, ctx: Ctx4) -> dict:
        """`GET /community/list` (api_crud/src/community/list.rs, `CommunityQuery::list`):
        admins see removed and deleted communities; anonymous visitors do not see
        local_only_private ones; nsfw ones need the viewer's `show_nsfw` or the parameter
        (default: the site's content warning); `limit` 1..50, default 20 (not the
        account's). Unlisted and private communities are listed."""
        p, viewer = ctx.params, ctx.viewer
        self.check_private(viewer)
        limit = self.limit(p["limit"], None) if p["limit"] is not None else 20
        # `local_user.show_nsfw(site) || show_nsfw.unwrap_or(content_warning.is_some())`
        warning = self.state.site.content_warning is not None
        given = p["show_nsfw"]
        show_nsfw = (viewer.show_nsfw if viewer else warning) or (
            warning if given is None else given
        )
        type_ = p["type_"]
        window = p["time_range_seconds"]
        since = now() - timedelta(seconds=window) if window is not None else None
        term = p["search_term"]
        pattern = None
        if term is not None:  # fuzzy_search: ILIKE '%term%', a space matching anything
            parts = (re.escape(part) for part in term.split(" "))
            pattern = re.compile(".*".join(parts), re.I | re.S)

        def visible(c: Community) -> bool:
            if c.purged:
                return False
            if not (viewer and viewer.admin) and (c.removed or c.deleted):
                return False
            if viewer is None and c.visibility == "local_only_private":
                return False
            if type_ == "local" and not c.local:
                return False
            if type_ == "suggested":
                return False  # no suggested multi-community in the fake
            if type_ == "subscribed" and not self.followed(viewer, c):
                return False
            if type_ == "moderator_view" and not (viewer and viewer.id in c.moderators):
                return False  # became_moderator_at: an admin's view is no wider
            if c.nsfw and not show_nsfw:
                return False
            if p["multi_community_id"] is not None:
                return False  # the fake has no multi-communities
            if since is not None and c.published <= since:
                return False
            if pattern is not None:
                view = self.views.community(c)
                fields = [c.name, view["ap_id"], c.title]
                if not p["search_title_only"]:
                    fields.append(c.description or "")
                if not any(pattern.search(f) for f in fields):
                    return False
            return True

        key = self._community_key(p["sort"] or "active_monthly")
        found = sorted((c for c in self.state.communities.values() if visible(c)), key=key)
        page = paginate(
            found,
            key,
            limit,
            p["page_cursor"],
            lambda data: self.get_community(cursor_id(data)),
            lambda c: str(c.id),
        )
        return page  # of Community rows: each caller renders them in its shape

    def person_detail(self, ctx: Ctx4) -> dict:
        p = ctx.params
        # `resolve_person_identifier` (federation/fetcher.rs): the name when one is given
        if p["username"] is not None:
            person = self.person_by_name(p["username"])
        elif p["person_id"] is not None:
            person = self.get_person(p["person_id"])
        else:
            raise lemmy_error("no_id_given")
        # `PersonView::read` hides a deleted account unless the viewer passes `is_admin`
        # (an admin neither banned nor deleted): NotFound, 404 (db_views/person/src/impls.rs)
        viewer = ctx.viewer
        if person.deleted and not (
            viewer is not None and viewer.admin and not viewer.deleted and not banned_now(viewer)
        ):
            raise not_found()
        moderates = [
            {"community": self.views.community(c), "moderator": self.views.person(person)}
            for c in self.state.communities.values()
            if person.id in c.moderators and not c.purged
        ]
        return {
            "person_view": self.views.person_view(person),
            "moderates": moderates,
            "multi_communities_created": [],
        }

    # ------------------------------------------------------------------ media
    def _media_page(self, ctx: Ctx4, uploads: list, key: Callable) -> dict:
        limit = self.limit(ctx.params["limit"], None) if ctx.params["limit"] is not None else 20

        def find(alias: str):
            upload = self.state.uploads.get(alias)
            if upload is None or not upload.listed:
                raise not_found()
            return upload

        page = paginate(uploads, key, limit, ctx.params["page_cursor"], find, lambda u: u.alias)
        page["items"] = [self.views.local_image_view(u) for u in page["items"]]
        return page

    def _media_rows(self) -> list:
        """Lemmy's `local_image` rows the list joins: a row with a person (inner join);
        0.19-era thumbnails (no person) are never listed."""
        return [
            u
            for u in self.state.uploads.values()
            if u.listed and u.person_id is not None and u.person_id in self.state.persons
        ]

    def list_all_media(self, ctx: Ctx4) -> dict:
        """`GET /image/list`: Lemmy sets no order (`get_all_paged`); the fake answers in
        the order the rows were made (Postgres' heap order for an append-only table)
        with the alias as the cursor. Whether a real 1.0 pages this stably is not
        confirmed: `tamper` can replay a page to test a bot against a repeating list."""
        ctx.admin()
        rows = self._media_rows()
        order = {u.alias: i for i, u in enumerate(self.state.uploads.values())}
        return self._media_page(ctx, rows, lambda u: order[u.alias])

    def list_own_media(self, ctx: Ctx4) -> dict:
        person = ctx.login()
        rows = sorted(
            (u for u in self._media_rows() if u.person_id == person.id), key=lambda u: u.alias
        )
        return self._media_page(ctx, rows, lambda u: u.alias)

    def delete_image(self, ctx: Ctx4) -> dict:
        """`DELETE /image {filename}` (admin): pict-rs purge of the file (every alias of
        the same bytes) and the `local_image` rows of every alias it returns. Posts and
        comments showing it are left as they are."""
        ctx.admin()
        filename = ctx.params["filename"]
        upload = self.state.uploads.get(filename)
        if upload is None or upload.deleted:
            raise unknown(
                "HTTP status client error (404 Not Found) for url "
                f"({self.fake.pictrs_url}/internal/purge?alias={filename})"
            )
        for alias in self.state.purge_file(upload.sha256):
            self.state.uploads[alias].listed = False
        return {"success": True}

    def delete_own_image(self, ctx: Ctx4) -> dict:
        """`DELETE /account/media {filename}` (routes/src/images/delete.rs `delete_image`):
        the caller's own image, banned or not (the `LocalUserView` extractor alone). No
        `local_image` row of theirs with the alias: 404 (`validate_by_alias_and_user`);
        else pict-rs deletes that alias (the bytes stay while another alias holds them;
        its 404 is reqwest's error, the row kept), then the row goes."""
        person = ctx.login()
        filename = ctx.params["filename"]
        upload = self.state.uploads.get(filename)
        if upload is None or not upload.listed or upload.person_id != person.id:
            raise lemmy_error("not_found")
        if not self.state.delete_alias(filename):
            raise unknown(
                "HTTP status client error (404 Not Found) for url "
                f"({self.fake.pictrs_url}/internal/delete?alias={filename})"
            )
        upload.listed = False
        return {"success": True}

    # ------------------------------------------------------------------ moderation
    def _community_of_post(self, post: Post) -> Community:
        return self.state.communities[post.community_id]

    def _mod_check(self, person: Person, community: Community) -> None:
        """`check_community_mod_action`: a mod or admin, a mod not banned there, not for a
        deleted or removed community."""
        if not self.can_mod(person, community):
            raise lemmy_error("not_a_mod_or_admin")
        # CommunityPersonBanView::check: a mod banned there (the row, whatever its expiry)
        if not person.admin and (community.id, person.id) in self.state.community_bans:
            raise lemmy_error("person_is_banned_from_community")
        if community.deleted or community.removed:
            raise lemmy_error("deleted")

    def _resolve_reports(self, kind: str, ids: set[int], resolver: Person) -> None:
        for report in self.state.reports:
            if report.kind == kind and report.target_id in ids and not report.resolved:
                report.resolved, report.resolver_id, report.updated = True, resolver.id, now()

    def remove_post(self, ctx: Ctx4) -> dict:
        person, p = ctx.user(), ctx.params
        post = self.get_post(p["post_id"])
        community = self._community_of_post(post)
        self._mod_check(person, community)
        self.higher_mod(person, self.state.persons[post.creator_id], community)
        removed = p["remove_children"] if p["remove_children"] is not None else p["removed"]
        post.removed = removed
        self._resolve_reports("post", {post.id}, person)
        action = "remove_post" if removed else "restore_post"
        self.mod_action(action, person, post.id, post.creator_id, p["reason"])
        if p["remove_children"] is not None:
            children = [
                c for c in self.state.comments.values() if c.post_id == post.id and not c.purged
            ]
            self._set_removed(children, removed, person, p["reason"])
        return {"post_view": self.views.post_view(post, person)}

    def remove_comment(self, ctx: Ctx4) -> dict:
        person, p = ctx.user(), ctx.params
        comment = self.get_comment(p["comment_id"])
        community = self._community_of_post(self.state.posts[comment.post_id])
        self._mod_check(person, community)
        self.higher_mod(person, self.state.persons[comment.creator_id], community)
        if comment.deleted:
            raise lemmy_error("couldnt_update")  # would reveal the text in the modlog
        if p["remove_children"] is not None:
            removed = p["remove_children"]
            thread = [
                c
                for c in self.state.comments.values()
                if (c.path + ".").startswith(comment.path + ".") and not c.purged
            ]
        else:
            removed, thread = p["removed"], [comment]
        self._set_removed(thread, removed, person, p["reason"])
        return {"comment_view": self.views.comment_view(comment, person)}

    def _set_removed(self, comments: list, removed: bool, person, reason: str) -> None:
        """Remove or restore comments as a moderator: the modlog row and the notice of
        each (none for a comment its creator deleted), their reports resolved."""
        for c in comments:
            c.removed = removed
            if not c.deleted:
                self.mod_action(
                    "remove_comment" if removed else "restore_comment",
                    person,
                    c.id,
                    c.creator_id,
                    reason,
                )
        self._resolve_reports("comment", {c.id for c in comments}, person)

    def purge_post(self, ctx: Ctx4) -> dict:
        admin, p = ctx.admin(), ctx.params
        post = self.get_post(p["post_id"])
        self.higher_admin(admin, [self.state.persons[post.creator_id]])
        self._purge_post(post)
        self.modlog("purge_post", admin, post.id, p["reason"])
        return {"success": True}

    def _purge_post(self, post: Post) -> None:
        """`purge_post_images` then the row (and by cascade its comments and its
        thumbnail's `local_image` row). Lemmy takes the last path segment of `url` and
        `thumbnail_url` as the alias: a proxied image's segment is `proxy` (nothing is
        purged), a 0.19 `/pictrs/image/` link no longer answers (nothing either)."""
        images = self.fake.images_v4
        for url in (post.url, post.thumbnail_url):
            if (
                url
                and images.is_own(url)
                and url.split("?")[0].startswith(f"{self.fake.url}/api/v4/image/")
            ):
                alias = images.alias_of(url)
                upload = self.state.uploads.get(alias) if alias else None
                if upload is not None and not upload.deleted:
                    for gone in self.state.purge_file(upload.sha256):
                        self.state.uploads[gone].listed = False
        post.purged = True
        for comment in self.state.comments.values():
            if comment.post_id == post.id:
                comment.purged = True
        for upload in self.state.uploads.values():
            if upload.thumbnail_for_post_id == post.id:
                upload.listed = False

    def purge_comment(self, ctx: Ctx4) -> dict:
        admin, p = ctx.admin(), ctx.params
        comment = self.get_comment(p["comment_id"])
        self.higher_admin(admin, [self.state.persons[comment.creator_id]])
        comment.purged = True  # Lemmy 1.0 leaves the images in a purged comment in place
        self.modlog("purge_comment", admin, comment.id, p["reason"])
        return {"success": True}

    def _delete_uploads(self, person: Person) -> None:
        """`delete_local_user_images`: pict-rs *delete* (one alias each, not a purge)."""
        for upload in list(self.state.uploads.values()):
            if upload.person_id == person.id and upload.listed:
                self.state.delete_alias(upload.alias)
                upload.listed = False

    def purge_person(self, ctx: Ctx4) -> dict:
        """`purge_user_account`: the person row is kept (deleted, banned), their images
        deleted, their posts and comments permanently deleted (text replaced)."""
        admin, p = ctx.admin(), ctx.params
        # Lemmy ranks the id before it reads the person: the same answers, as an id that
        # is no person is no admin either and passes the rank check (then not_found)
        person = self.get_person(p["person_id"])
        self.higher_admin(admin, [person])
        self._delete_uploads(person)
        for comment in self.state.comments.values():
            if comment.creator_id == person.id:
                comment.content, comment.deleted, comment.updated = PERMANENTLY_DELETED, True, now()
        for post in self.state.posts.values():
            if post.creator_id == person.id:
                post.name, post.body, post.url = PERMANENTLY_DELETED, PERMANENTLY_DELETED, None
                post.deleted, post.updated = True, now()
        for community in self.state.communities.values():
            if person.id in community.moderators:
                community.moderators.remove(person.id)
        person.avatar = person.banner = person.bio = person.display_name = None
        # the row stays (purge/person.rs): deleted and banned, found by id and by name
        person.deleted = person.banned = True
        person.ban_expires = None
        for token in [t for t, owner in self.state.tokens.items() if owner == person.id]:
            del self.state.tokens[token]
        self.modlog("purge_person", admin, person.id, p["reason"])
        return {"success": True}

    def purge_community(self, ctx: Ctx4) -> dict:
        admin, p = ctx.admin(), ctx.params
        community = self.get_community(p["community_id"])
        mods = [self.state.persons[m] for m in community.moderators if m in self.state.persons]
        self.higher_admin(admin, mods)
        for post in self.state.posts.values():
            if post.community_id == community.id and not post.purged:
                post.purged = True  # cascade; no image is purged (LemmyNet/lemmy#5566)
                for comment in self.state.comments.values():
                    if comment.post_id == post.id:
                        comment.purged = True
                for upload in self.state.uploads.values():
                    if upload.thumbnail_for_post_id == post.id:
                        upload.listed = False
        community.purged = True
        self.modlog("purge_community", admin, community.id, p["reason"])
        return {"success": True}

    def _reason(self, reason: str) -> str:
        if _utf16_units(reason) > 10_000:  # is_valid_body_field
            raise lemmy_error("invalid_body_field")
        return reason

    def ban_person(self, ctx: Ctx4) -> dict:
        admin, p = ctx.admin(), ctx.params
        # ban_from_site reads no person: an unknown id is no admin and passes the rank
        # check, then the reason and expiry are checked and the database refuses it
        person = self.state.persons.get(p["person_id"])
        if person is not None:
            self.higher_admin(admin, [person])
        reason = self._reason(p["reason"])
        expires = self.expires_at(p["expires_at"])
        ban = p["ban"]
        if person is None and ban:
            raise unknown(
                'insert or update on table "instance_actions" violates foreign key '
                'constraint "instance_actions_person_id_fkey"'
            )
        if person is None:  # the unban updates nothing; its modlog row cannot be written
            raise _modlog_person_fkey()
        person.banned, person.ban_expires = ban, (expires if ban else None)
        person.ban_reason = reason if ban else None  # logins are kept: actions get site_ban
        index = self.mod_action(
            "ban" if ban else "unban",
            admin,
            person.id,
            person.id,
            reason,
            expires=expires,
            remove_data=bool(p["remove_or_restore_data"]),
        )
        if p["remove_or_restore_data"]:
            self._remove_or_restore_data(admin, person, ban, reason, index)
        return {"person_view": self.views.person_view(person)}

    def _remove_or_restore_data(
        self, admin: Person, person: Person, remove: bool, reason: str, parent: int
    ) -> None:
        """`remove_or_restore_user_data`: on a ban (only then) their images deleted, the
        profile cleared, the communities they lead removed with their icon and banner
        (no modlog row for those; an unban does not restore them); their posts,
        comments and private messages removed or restored, the modlog rows of posts and
        comments children of the ban's: one for each post and comment of theirs, also one
        already removed or restored (`Post::update_removed_for_creator` returns every
        row it set, whether it changed or not)."""
        s = self.state
        if remove:
            self._delete_uploads(person)
            person.avatar = person.banner = person.bio = None
            for community in s.communities.values():
                if community.moderators[:1] == [person.id] and not community.purged:
                    community.removed = True
                    community.icon = community.banner = None
        for post in s.posts.values():
            if post.creator_id == person.id and not post.purged:
                post.removed, post.updated = remove, now()  # and updated_at (impls/post.rs)
                self.modlog(
                    "remove_post" if remove else "restore_post",
                    admin,
                    post.id,
                    reason,
                    bulk_parent=parent,
                )
        for comment in s.comments.values():
            if comment.creator_id == person.id and not comment.purged:
                comment.removed, comment.updated = remove, now()
                self.modlog(
                    "remove_comment" if remove else "restore_comment",
                    admin,
                    comment.id,
                    reason,
                    bulk_parent=parent,
                )
        for message in s.private_messages:
            if message.creator_id == person.id:
                message.removed = remove

    def ban_from_community(self, ctx: Ctx4) -> dict:
        """ban_from_community's order: the expiry, the community, the actor's rights, the
        rank (no person is read: an unknown id passes), the reason, then the database."""
        mod, p = ctx.login(), ctx.params
        expires = self.expires_at(p["expires_at"])
        community = self.get_community(p["community_id"])
        ctx.user()
        self._mod_check(mod, community)
        person = self.state.persons.get(p["person_id"])
        if person is not None:
            self.higher_mod(mod, person, community)
        reason = self._reason(p["reason"])
        if person is None and p["ban"]:
            raise ApiErrorV4(
                400,
                "couldnt_update",
                cause='insert or update on table "community_actions" violates foreign key '
                'constraint "community_actions_person_id_fkey"',
            )
        if person is None:
            raise _modlog_person_fkey()
        key = (community.id, person.id)
        if p["ban"]:
            self.state.community_bans[key] = CommunityBan(community.id, person.id, expires, reason)
        else:
            self.state.community_bans.pop(key, None)
        index = self.mod_action(
            "community_ban" if p["ban"] else "community_unban",
            mod,
            person.id,
            person.id,
            reason,
            community_id=community.id,
            expires=expires,
            remove_data=bool(p["remove_or_restore_data"]),
        )
        if p["remove_or_restore_data"]:
            # remove_or_restore_user_data_in_community: a modlog row for every post and
            # comment of theirs there, also one already removed or restored
            remove = p["ban"]
            for post in self.state.posts.values():
                if (post.creator_id == person.id and post.community_id == community.id) and (
                    not post.purged
                ):
                    post.removed, post.updated = remove, now()  # and updated_at (impls/post.rs)
                    self.modlog(
                        "remove_post" if remove else "restore_post",
                        mod,
                        post.id,
                        reason,
                        bulk_parent=index,
                    )
            for comment in self.state.comments.values():
                post = self.state.posts[comment.post_id]
                if (comment.creator_id == person.id and post.community_id == community.id) and (
                    not comment.purged
                ):
                    comment.removed, comment.updated = remove, now()
                    self.modlog(
                        "remove_comment" if remove else "restore_comment",
                        mod,
                        comment.id,
                        reason,
                        bulk_parent=index,
                    )
        return {"person_view": self.views.person_view(person)}

    # ------------------------------------------------------------------ reports
    def _report_reason(self, reason: str) -> str:
        reason = reason.strip()
        if not reason:
            raise lemmy_error("report_reason_required")
        if len(reason) > 1000:
            raise lemmy_error("report_too_long")
        return reason

    def _unique_report(self, kind: str, target_id: int, creator: Person) -> None:
        """`UNIQUE (post_id, creator_id)` since 2020: one report per reporter and item,
        resolved or not."""
        for report in self.state.reports:
            if (report.kind, report.target_id, report.creator_id) == (kind, target_id, creator.id):
                raise ApiErrorV4(
                    400,
                    "couldnt_create",
                    cause="duplicate key value violates unique constraint "
                    f'"{kind}_report_{kind}_id_creator_id_key"',
                )

    def create_post_report(
        self, person: Person, post_id: int, reason: str, violates: bool | None
    ) -> Report:
        reason = self._report_reason(reason)
        post = self.get_post(post_id)
        community = self._community_of_post(post)
        if post.removed or post.deleted or community.removed or community.deleted:
            raise not_found()  # read as a plain user, even by an admin
        self._unique_report("post", post.id, person)
        report = Report(
            self.state.next_id("post_report"),
            "post",
            post.id,
            person.id,
            reason,
            now(),
            original_name=post.name,
            original_url=post.url,
            original_body=post.body,
            violates_instance_rules=bool(violates),
        )
        post.reports.append(report)
        self.state.reports.append(report)
        return report

    def create_comment_report(
        self, person: Person, comment_id: int, reason: str, violates: bool | None
    ) -> Report:
        reason = self._report_reason(reason)
        comment = self.get_comment(comment_id)
        if comment.removed or comment.deleted:
            raise not_found()
        self._unique_report("comment", comment.id, person)
        report = Report(
            self.state.next_id("comment_report"),
            "comment",
            comment.id,
            person.id,
            reason,
            now(),
            original_name=comment.content,
            violates_instance_rules=bool(violates),
        )
        comment.reports.append(report)
        self.state.reports.append(report)
        return report

    def report_post(self, ctx: Ctx4) -> dict:
        p = ctx.params
        report = self.create_post_report(
            ctx.user(), p["post_id"], p["reason"], p["violates_instance_rules"]
        )
        return {"post_report_view": self.views.post_report_view(report, ctx.viewer)}

    def report_comment(self, ctx: Ctx4) -> dict:
        p = ctx.params
        report = self.create_comment_report(
            ctx.user(), p["comment_id"], p["reason"], p["violates_instance_rules"]
        )
        return {"comment_report_view": self.views.comment_report_view(report, ctx.viewer)}

    def _report_community(self, report: Report) -> Community:
        s = self.state
        post_id = (
            report.target_id if report.kind == "post" else s.comments[report.target_id].post_id
        )
        return s.communities[s.posts[post_id].community_id]

    def _report_gone(self, report: Report) -> bool:
        s = self.state
        if report.kind == "comment":
            comment = s.comments[report.target_id]
            return comment.purged or s.posts[comment.post_id].purged
        return s.posts[report.target_id].purged

    def _resolve(self, ctx: Ctx4, kind: str) -> Report:
        person, p = ctx.user(), ctx.params
        for report in self.state.reports:
            if (
                report.kind == kind
                and report.id == p["report_id"]
                and not self._report_gone(report)
            ):
                break
        else:
            raise not_found()
        if not self.can_mod(person, self._report_community(report)):
            raise lemmy_error("not_a_mod_or_admin")
        report.resolved, report.resolver_id, report.updated = p["resolved"], person.id, now()
        if p["conclusion"] is not None:
            report.conclusion = p["conclusion"]
        return report

    def resolve_post_report(self, ctx: Ctx4) -> dict:
        report = self._resolve(ctx, "post")
        return {"post_report_view": self.views.post_report_view(report, ctx.viewer)}

    def resolve_comment_report(self, ctx: Ctx4) -> dict:
        report = self._resolve(ctx, "comment")
        return {"comment_report_view": self.views.comment_report_view(report, ctx.viewer)}

    def list_reports(self, ctx: Ctx4) -> dict:
        """`GET /report/list`: admins see reports for the instance's rules at once and
        the others after three days (or with `show_community_rule_violations`); mods
        see the others of their communities."""
        person, p = ctx.login(), ctx.params
        if not p["my_reports_only"]:  # check_community_mod_of_any_or_admin_action
            ctx.user()
            if person.deleted:
                raise lemmy_error("deleted")
            moderates = any(
                person.id in c.moderators for c in self.state.communities.values() if not c.purged
            )
            if not (person.admin or moderates):
                raise lemmy_error("not_a_mod_or_admin")
        limit = self.limit(p["limit"], None) if p["limit"] is not None else 20
        kinds = {"all": ("post", "comment"), "posts": ("post",), "comments": ("comment",)}
        wanted = kinds.get(p["type_"] or "all", ())
        old = now() - ADMIN_REPORT_DELAY
        found = []
        for report in self.state.reports:
            if report.kind not in wanted or self._report_gone(report):
                continue
            community = self._report_community(report)
            if p["community_id"] is not None and community.id != p["community_id"]:
                continue
            if p["post_id"] is not None:
                post_id = (
                    report.target_id
                    if report.kind == "post"
                    else self.state.comments[report.target_id].post_id
                )
                if post_id != p["post_id"]:
                    continue
            if p["my_reports_only"] and report.creator_id != person.id:
                continue
            if p["unresolved_only"] and report.resolved:
                continue
            if person.admin:
                if not (
                    p["show_community_rule_violations"]
                    or report.violates_instance_rules
                    or report.published < old
                    or person.id in community.moderators
                ):
                    continue
            elif report.violates_instance_rules or person.id not in community.moderators:
                continue
            found.append(report)
        sort = p["sort"] or "default"
        ascending = sort == "old" or (sort == "default" and bool(p["unresolved_only"]))

        def key(r: Report):
            stamp = (_stamp(r.published), r.id)
            return stamp if ascending else (-stamp[0], -stamp[1])

        def find(data: str) -> Report:
            prefix, _, number = data.partition(",")
            kind = {"P": "post", "C": "comment"}.get(prefix)
            if kind is None or not number:
                raise lemmy_error("couldnt_parse_pagination_token")
            report_id = cursor_id(number)
            for report in self.state.reports:
                if report.kind == kind and report.id == report_id:
                    return report
            raise not_found()

        found.sort(key=key)
        page = paginate(
            found,
            key,
            limit,
            p["page_cursor"],
            find,
            lambda r: f"{'P' if r.kind == 'post' else 'C'},{r.id}",
        )
        page["items"] = [self.views.report_combined_view(r, person) for r in page["items"]]
        return page

    # ------------------------------------------------------------------ messages, inbox, modlog
    def private_message(self, ctx: Ctx4) -> dict:
        person, p = ctx.user(), ctx.params
        content = p["content"]
        if _utf16_units(content) > 10_000:  # is_valid_body_field
            raise lemmy_error("invalid_body_field")
        recipient = self.state.persons.get(p["recipient_id"])
        if not person.private_messages_enabled or (
            recipient is not None and recipient.local and not recipient.private_messages_enabled
        ):
            raise lemmy_error("couldnt_create")
        if recipient is None:  # Lemmy never reads the person: the insert fails
            raise ApiErrorV4(
                400,
                "couldnt_create",
                cause='insert or update on table "private_message" violates foreign key '
                'constraint "private_message_recipient_id_fkey"',
            )
        message_id = self.state.next_id("private_message")
        message = PrivateMessage(
            message_id,
            person.id,
            recipient.id,
            self.fake.images_v4.markdown(content),
            now(),
            ap_id=f"{self.fake.url}/private_message/{message_id}",
        )
        self.state.private_messages.append(message)
        self.notify(recipient.id, person, kind="private_message", private_message_id=message.id)
        return {"private_message_view": self.views.private_message_view(message)}

    def _notifications(self) -> list[Notification]:
        """The notices Lemmy still has: one of a modlog row a purge took went with it
        (`notification.modlog_id` references modlog ON DELETE CASCADE)."""
        return [
            n
            for n in self.state.notifications
            if n.modlog_index is None or not self.views.modlog_gone(n.modlog_index)
        ]

    def list_notifications(self, ctx: Ctx4) -> dict:
        person, p = ctx.login(), ctx.params
        limit = self.limit(p["limit"], None) if p["limit"] is not None else 20
        type_ = p["type_"] or "all"
        # NotificationQuery::list: `private_message` (without unread_only) also lists the
        # messages the reader sent; with creator_id, the conversation both ways
        messages = type_ == "private_message" and not p["unread_only"]
        me, them = person.id, p["creator_id"]
        messages_by_id = {m.id: m for m in self.state.private_messages}

        def listed(n: Notification) -> bool:
            if messages and n.kind == "private_message":
                mine = me in (n.recipient_id, n.creator_id)
            else:
                mine = n.recipient_id == me and not (p["unread_only"] and n.read)
            if them is not None and type_ == "private_message":
                mine = mine and (n.recipient_id, n.creator_id) in ((me, them), (them, me))
            elif them is not None:
                mine = mine and n.creator_id == them
            if not person.show_bot_accounts and self.state.persons[n.creator_id].bot_account:
                return False  # show_bot_accounts: a bot's notices are hidden with it
            message = messages_by_id.get(n.private_message_id or -1)
            if n.kind == "private_message" and message and (message.removed or message.deleted):
                return False  # filter_deleted_and_removed (notification/src/impls.rs:328-334)
            return mine and (type_ == "all" or n.kind == type_)

        found = [n for n in self._notifications() if listed(n)]

        def key(n: Notification):
            return (-_stamp(n.published), -n.id)

        def find(data: str) -> Notification:
            number = cursor_id(data)
            for n in self._notifications():
                if n.id == number:
                    return n
            raise not_found()

        found.sort(key=key)
        page = paginate(found, key, limit, p["page_cursor"], find, lambda n: str(n.id))
        hide = not person.admin  # hide_modlog_names, without a community
        page["items"] = [self.views.notification_view(n, hide) for n in page["items"]]
        return page

    def mark_notification(self, ctx: Ctx4) -> dict:
        """mark_read_by_id_and_person: an UPDATE by id and recipient whose row count is
        not checked, so another's id, or none, succeeds and changes nothing."""
        person, p = ctx.login(), ctx.params
        for n in self._notifications():
            if n.id == p["notification_id"] and n.recipient_id == person.id:
                n.read = p["read"]
        return {"success": True}

    def _modlog_listed(self, viewer: Person | None, action: ModAction, listing: str) -> bool:
        """ModlogQuery::list: a private community's rows only to admins and accepted
        followers (its moderators count as followers here: Lemmy's creator of a community
        follows it, and the fake does not tell its creator from mods added later), then
        `listing_type` (any but `all` leaves out rows without a community; `subscribed`:
        the followed communities' rows; `suggested`: none)."""
        community = self.views.modlog_targets(action)[2]
        private = community is not None and community.visibility == "private"
        if private and not (
            (viewer and (viewer.admin or viewer.id in community.moderators))
            or self.followed(viewer, community)
        ):
            return False
        if listing == "all":
            return True
        if community is None or listing == "suggested":
            return False
        if listing == "subscribed":
            return self.followed(viewer, community)
        if listing == "local":
            return community.local
        return viewer is not None and viewer.id in community.moderators  # moderator_view

    def get_modlog(self, ctx: Ctx4) -> dict:
        viewer, p = ctx.viewer, ctx.params
        self.check_private(viewer)
        limit = self.limit(p["limit"], None) if p["limit"] is not None else 20
        type_ = p["type_"] or "all"
        # `hide_modlog_names`: who acted is shown to an admin, and to a moderator of the
        # community the read names; hidden from the others, who may not filter by it
        named = self.state.communities.get(p["community_id"])
        show = viewer is not None and (
            viewer.admin if named is None else self.can_mod(viewer, named)
        )
        mod_person_id = p["mod_person_id"] if show else None
        found = []
        for index, action in enumerate(self.state.modlog):
            if self.views.modlog_gone(index):
                continue
            kind = MODLOG_KIND[action.action][0]
            parent = action.detail.get("bulk_parent")
            if p["bulk_action_parent_id"] is not None:
                if parent is None or parent + 1 != p["bulk_action_parent_id"]:
                    continue
            elif parent is not None and not p["show_bulk"]:
                continue
            if type_ != "all" and kind != type_:
                continue
            if not self._modlog_listed(viewer, action, p["listing_type"] or "all"):
                continue
            if mod_person_id is not None and action.mod_id != mod_person_id:
                continue
            view = self.views.modlog_view(index, action)
            if (p["other_person_id"] is not None) and (
                view.get("target_person", {}).get("id") != p["other_person_id"]
            ):
                continue
            if p["post_id"] is not None and view.get("target_post", {}).get("id") != p["post_id"]:
                continue
            if (p["comment_id"] is not None) and (
                view.get("target_comment", {}).get("id") != p["comment_id"]
            ):
                continue
            if (p["community_id"] is not None) and (
                view.get("target_community", {}).get("id") != p["community_id"]
            ):
                continue
            found.append(index)

        def key(index: int):
            return (-_stamp(self.state.modlog[index].when), -index)

        def find(data: str) -> int:
            index = cursor_id(data) - 1
            if not 0 <= index < len(self.state.modlog) or self.views.modlog_gone(index):
                raise not_found()
            return index

        found.sort(key=key)
        page = paginate(found, key, limit, p["page_cursor"], find, lambda i: str(i + 1))
        page["items"] = [
            self.views.modlog_view(i, self.state.modlog[i], show_moderator=show)
            for i in page["items"]
        ]
        return page

    # ------------------------------------------------------------------ plumbing
    def endpoint(
        self, handler: Callable, type_name: str | None, method: str, compat: bool = False
    ) -> Callable:
        """`handler` behind Lemmy's extractors: the request read as `type_name` (None: a
        route without parameters, or a v3 one its handler reads), then the session."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                if type_name is None:
                    params = Params("", {})
                    ignored = [] if compat else sorted(request.query_params)
                elif method == "GET":
                    params, ignored = read_query(type_name, dict(request.query_params))
                else:
                    kind = request.headers.get("content-type", "").split(";")[0].strip()
                    if kind != "application/json":
                        raise DeserializeError("Content type error")
                    params, ignored = read_body(type_name, raw)
                self.fake.note_ignored(request, ignored)
                viewer = self.fake.viewer_of(request)
                with self.state.lock:
                    result = handler(Ctx4(request, params, viewer, raw))
                return JSONResponse(result)
            except ApiErrorV4 as error:
                return JSONResponse(error.body(), status_code=error.status)
            except params_v3.ApiError as error:  # a v3 query read by the compat layer
                return JSONResponse(error.body(), status_code=error.status)

        return endpoint

    def repeated(self, request: Request, viewer: Person | None) -> bool:
        """The idempotency middleware (routes/src/middleware/idempotency.rs), run by the
        fake's `Instrument` before the rate limits, as Lemmy's wraps the whole app: a
        POST/PUT by a logged-in user carrying a key (≤ 32 characters) it already sent
        in the last minutes is not run again; a new key is kept whatever follows."""
        key = request.headers.get("idempotency-key")
        if key is None or len(key) > 32 or viewer is None:
            return False
        if request.method not in ("POST", "PUT"):
            return False
        moment = time.monotonic()
        with self.state.lock:
            for old, at in list(self._idempotency.items()):
                if at < moment - IDEMPOTENCY_SECONDS:
                    del self._idempotency[old]
            if (viewer.id, key) in self._idempotency:
                return True
            self._idempotency[(viewer.id, key)] = moment
        return False

    def routes(self) -> list[Route]:
        api = [
            ("GET", "/site", self.site, None),
            ("POST", "/account/auth/login", self.login, "Login"),
            ("POST", "/account/auth/logout", self.logout, None),
            ("GET", "/account", self.my_user, None),
            ("GET", "/account/validate_auth", self.validate_auth, None),
            ("PUT", "/account/settings/save", self.save_settings, "SaveUserSettings"),
            ("GET", "/post/list", self.list_posts, "GetPosts"),
            ("GET", "/post", self.post_detail, "GetPost"),
            ("GET", "/comment/list", self.list_comments, "GetComments"),
            ("GET", "/comment", self.comment_detail, "GetComment"),
            ("GET", "/community", self.community_detail, "GetCommunity"),
            ("GET", "/community/list", self.list_communities, "ListCommunities"),
            ("GET", "/person", self.person_detail, "GetPersonDetails"),
            ("GET", "/image/list", self.list_all_media, "ListMedia"),
            ("GET", "/account/media/list", self.list_own_media, "ListMedia"),
            ("DELETE", "/image", self.delete_image, "DeleteImageParams"),
            ("DELETE", "/account/media", self.delete_own_image, "DeleteImageParams"),
            ("POST", "/post/remove", self.remove_post, "RemovePost"),
            ("POST", "/comment/remove", self.remove_comment, "RemoveComment"),
            ("POST", "/admin/purge/post", self.purge_post, "PurgePost"),
            ("POST", "/admin/purge/comment", self.purge_comment, "PurgeComment"),
            ("POST", "/admin/purge/person", self.purge_person, "PurgePerson"),
            ("POST", "/admin/purge/community", self.purge_community, "PurgeCommunity"),
            ("POST", "/admin/ban", self.ban_person, "BanPerson"),
            ("POST", "/community/ban_user", self.ban_from_community, "BanFromCommunity"),
            ("POST", "/post/report", self.report_post, "CreatePostReport"),
            ("POST", "/comment/report", self.report_comment, "CreateCommentReport"),
            ("PUT", "/post/report/resolve", self.resolve_post_report, "ResolvePostReport"),
            ("PUT", "/comment/report/resolve", self.resolve_comment_report, "ResolveCommentReport"),
            ("GET", "/report/list", self.list_reports, "ListReports"),
            ("POST", "/private_message", self.private_message, "CreatePrivateMessage"),
            ("GET", "/account/notification/list", self.list_notifications, "ListNotifications"),
            (
                "POST",
                "/account/notification/mark_as_read",
                self.mark_notification,
                "MarkNotificationAsRead",
            ),
            ("GET", "/modlog", self.get_modlog, "GetModlog"),
            ("GET", "/custom_emoji/list", self.list_custom_emojis, "ListCustomEmojis"),
        ]
        return [
            Route(f"/api/v4{path}", self.endpoint(handler, kind, method), methods=[method])
            for method, path, handler, kind in api
        ]

    # ------------------------------------------------------------------ the v3 layer
    def compat_routes(self) -> list[Route]:
        """`/api/v3` on 1.0: browsing, login and one's own reports, in v3 shapes."""
        compat = CompatV3(self)
        api = [
            ("GET", "/site", compat.site, None),
            ("POST", "/user/login", self.login, "Login"),
            ("POST", "/user/logout", self.logout, None),
            ("GET", "/post/list", compat.list_posts, None),
            ("GET", "/post", compat.post_detail, "GetPost"),
            ("GET", "/comment/list", compat.list_comments, None),
            ("GET", "/community", compat.community_detail, "GetCommunity"),
            ("GET", "/community/list", compat.list_communities, None),
            ("POST", "/post/report", compat.report_post, None),
            ("POST", "/comment/report", compat.report_comment, None),
        ]
        return [
            Route(f"/api/v3{path}", self.endpoint(handler, kind, method, True), methods=[method])
            for method, path, handler, kind in api
        ]

    def fallback_route(self, app_routes: Callable[[], list]) -> Route:
        """Anything else: actix's 404 (or 405 for a known path), with an empty body."""

        async def fallback(request: Request) -> Response:
            for route in app_routes():
                if route is not self._fallback and route.matches(request.scope)[0] == Match.PARTIAL:
                    return Response(status_code=405)
            return Response(status_code=404)

        self._fallback = Route(
            "/{path:path}",
            fallback,
            methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        )
        return self._fallback

    # ------------------------------------------------------------------ rate limits
    def rate_limit(self, method: str, path: str) -> tuple[Response | None, list]:
        """Count the request in its buckets: a 429 answer when one is full, else the
        `x-ratelimit-*` headers of the outermost (`message`) bucket."""
        headers: list = []
        for bucket in buckets_for(method, path):
            allowed, limit, remaining, reset = self.fake.rate_limiter.take(bucket)
            if limit is None:
                continue
            values = [
                (b"x-ratelimit-limit", str(limit).encode()),
                (b"x-ratelimit-remaining", str(remaining).encode()),
                (b"x-ratelimit-reset", str(math.ceil(reset)).encode()),
            ]
            if not allowed:
                response = JSONResponse({"error": "too_many_requests"}, status_code=429)
                for name, value in values:
                    response.headers[name.decode()] = value.decode()
                response.headers["retry-after"] = str(max(1, math.ceil(reset)))
                return response, []
            if bucket == "message":
                headers = values
        return None, headers


class CompatV3:
    """The v3 handlers of Lemmy 1.0 (api/routes_v3/src/handlers.rs): v3 queries and
    shapes around the v4 logic, with its quirks (post/list: `page` capped at 10,
    `page_cursor` ignored, no `next_page`; comment/list: `page` ignored)."""

    def __init__(self, api: LemmyApiV4) -> None:
        self.api = api
        self.views = api.views_v3
        self.fake = api.fake

    def site(self, ctx: Ctx4) -> dict:
        return self.views.site_response(ctx.viewer, self.fake.started_at)

    @staticmethod
    def _post_sort(sort: str | None) -> tuple[str | None, int | None]:
        """`convert_post_listing_sort`: a v3 sort also sets the time range."""
        if sort is None:
            return None, None
        spans = {
            "TopHour": 3600,
            "TopSixHour": 6 * 3600,
            "TopTwelveHour": 12 * 3600,
            "TopDay": 86400,
            "TopWeek": 7 * 86400,
            "TopMonth": 30 * 86400,
            "TopThreeMonths": 90 * 86400,
            "TopSixMonths": 180 * 86400,
            "TopNineMonths": 270 * 86400,
            "TopYear": 365 * 86400,
        }
        if sort.startswith("Top"):
            return "top", spans.get(sort, 2**31 - 1)
        return snake_enum(sort), 2**31 - 1

    def list_posts(self, ctx: Ctx4) -> dict:
        q = params_v3.Query(dict(ctx.request.query_params))
        type_ = q.enum("type_", V3_LISTING_TYPES)
        sort, time_range = self._post_sort(q.enum("sort", V3_POST_SORTS))
        query = {
            "type_": snake_enum(type_) if type_ else None,
            "sort": sort,
            "time_range_seconds": time_range,
            "community_id": q.int("community_id"),
            "community_name": q.str("community_name"),
            "show_hidden": q.bool("show_hidden"),
            "show_read": q.bool("show_read"),
            "show_nsfw": q.bool("show_nsfw"),
            "limit": q.int("limit"),
        }
        page = min(max(q.int("page") or 1, 1), 10)  # "dont allow more than page 10"
        posts, _, limit = self.api.post_listing(ctx.viewer, query)
        posts = posts[(page - 1) * limit : page * limit]
        viewer = ctx.viewer
        if viewer is not None and viewer.auto_mark_fetched_posts_as_read:
            self.api.mark_read(ctx, posts)
        return {"posts": [self.views.post_view(p, viewer) for p in posts]}

    def post_detail(self, ctx: Ctx4) -> dict:
        viewer = ctx.viewer
        post = self.api._readable_post(viewer, ctx.params["id"], ctx.params["comment_id"])
        if viewer is not None:
            self.api.mark_read(ctx, [post])
        community = self.api.state.communities[post.community_id]
        return {
            "post_view": self.views.post_view(post, viewer),
            "community_view": self.views.community_view(community, viewer),
            "moderators": [],
            "cross_posts": [],
        }

    def list_comments(self, ctx: Ctx4) -> dict:
        q = params_v3.Query(dict(ctx.request.query_params))
        type_ = q.enum("type_", V3_LISTING_TYPES)
        sort = q.enum("sort", V3_COMMENT_SORTS)
        query = {
            "type_": snake_enum(type_) if type_ else None,
            "sort": sort.lower() if sort else None,
            "max_depth": q.int("max_depth"),
            "limit": q.int("limit"),
            "community_id": q.int("community_id"),
            "community_name": q.str("community_name"),
            "post_id": q.int("post_id"),
            "parent_id": q.int("parent_id"),
        }
        comments, _, limit = self.api.comment_listing(ctx.viewer, query)
        return {"comments": [self.views.comment_view(c, ctx.viewer) for c in comments[:limit]]}

    @staticmethod
    def _community_sort(sort: str | None) -> tuple[str, int]:
        """`convert_community_listing_sort`: a v3 post sort as a community sort and a time
        range (Top* is hot within its span; no sort: the v4 default, active_monthly)."""
        everything = 2**31 - 1
        if sort is None:
            return "active_monthly", everything
        if sort in ("New", "Old"):
            return sort.lower(), everything
        if sort.startswith("Top"):
            return "hot", CompatV3._post_sort(sort)[1] or everything
        return "hot", everything  # Active, Hot, MostComments, NewComments, Controversial, Scaled

    def list_communities(self, ctx: Ctx4) -> dict:
        """`list_communities_v3`: `type_`, `sort`, `show_nsfw`, `limit` passed to v4's
        handler; `page` ignored (no cursor: always the first page); 0.19's shapes."""
        q = params_v3.Query(dict(ctx.request.query_params))
        type_ = q.enum("type_", V3_LISTING_TYPES)
        sort, time_range = self._community_sort(q.enum("sort", V3_POST_SORTS))
        values = {
            "type_": snake_enum(type_) if type_ else None,
            "sort": sort,
            "time_range_seconds": time_range,
            "show_nsfw": q.bool("show_nsfw"),
            "limit": q.int("limit"),
        }
        v4 = Ctx4(ctx.request, Params("ListCommunities", values), ctx.viewer, ctx.raw)
        page = self.api.community_page(v4)
        return {"communities": [self.views.community_view(c, ctx.viewer) for c in page["items"]]}

    def community_detail(self, ctx: Ctx4) -> dict:
        community = self.api.readable_community(ctx.viewer, ctx.params)  # v4's handler
        return {
            "community_view": self.views.community_view(community, ctx.viewer),
            "moderators": self.views.moderator_views(community),
            "discussion_languages": [],
        }

    def _body(self, ctx: Ctx4) -> params_v3.Body:
        try:
            data = json.loads(ctx.raw or b"{}")
        except ValueError as exc:
            raise DeserializeError(f"Json deserialize error: {exc}") from None
        if not isinstance(data, dict):
            raise DeserializeError("Json deserialize error: expected a map")
        return params_v3.Body(data)

    def report_post(self, ctx: Ctx4) -> dict:
        body = self._body(ctx)
        report = self.api.create_post_report(
            ctx.user(), body.require_int("post_id"), body.require_str("reason"), None
        )
        return {"post_report_view": self.views.post_report_view(report, ctx.viewer)}

    def report_comment(self, ctx: Ctx4) -> dict:
        body = self._body(ctx)
        report = self.api.create_comment_report(
            ctx.user(), body.require_int("comment_id"), body.require_str("reason"), None
        )
        return {"comment_report_view": self.views.comment_report_view(report)}


def _modlog_person_fkey() -> ApiErrorV4:
    """Modlog::create's CouldntCreate for a row naming no person (an unban of no one)."""
    return ApiErrorV4(
        400,
        "couldnt_create",
        cause='insert or update on table "modlog" violates foreign key constraint '
        '"modlog_target_person_fkey"',
    )


def _utf16_units(text: str) -> int:
    """A body field's length as 1.0 counts it (``max_length_check`` in
    utils/src/utils/validation.rs: ``encode_utf16().count()``, as HTML's maxlength)."""
    return len(text.encode("utf-16-le")) // 2
