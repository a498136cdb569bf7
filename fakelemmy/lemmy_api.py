"""The Lemmy 0.19 HTTP API of the fake: routes, visibility rules, permissions, actions.

Facts it follows are in `shared/reference/lemmy-api.md`. Handlers are plain functions
`(ctx) -> dict` run under the state lock; `Ctx` carries the parsed request and the
viewer (the person behind a valid token, or None: a dropped token reads as anonymous).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fakelemmy.params import ApiError, Body, Query, not_found
from fakelemmy.pictrs import alias_of_local_url
from fakelemmy.state import (
    Comment,
    Community,
    CommunityBan,
    ModAction,
    Person,
    Post,
    PrivateMessage,
    Report,
    iso,
    now,
)

LISTING_TYPES = ("All", "Local", "Subscribed", "ModeratorView")
POST_SORTS = (
    "Active",
    "Hot",
    "New",
    "Old",
    "TopDay",
    "TopWeek",
    "TopMonth",
    "TopYear",
    "TopAll",
    "MostComments",
    "NewComments",
    "TopHour",
    "TopSixHour",
    "TopTwelveHour",
    "TopThreeMonths",
    "TopSixMonths",
    "TopNineMonths",
    "Controversial",
    "Scaled",
)
COMMENT_SORTS = ("Hot", "Top", "New", "Old", "Controversial")
# lemmy-js-client 0.19.9's ModlogActionType (GetModlog.type_)
MODLOG_TYPES = (
    "All",
    "ModRemovePost",
    "ModLockPost",
    "ModFeaturePost",
    "ModRemoveComment",
    "ModRemoveCommunity",
    "ModBanFromCommunity",
    "ModAddCommunity",
    "ModTransferCommunity",
    "ModAdd",
    "ModBan",
    "ModHideCommunity",
    "AdminPurgePerson",
    "AdminPurgeCommunity",
    "AdminPurgePost",
    "AdminPurgeComment",
)
# The GetModlogResponse list each of the fake's modlog actions is in, and its ModlogActionType
MODLOG_LISTS = {
    "remove_post": ("removed_posts", "ModRemovePost"),
    "restore_post": ("removed_posts", "ModRemovePost"),
    "remove_comment": ("removed_comments", "ModRemoveComment"),
    "restore_comment": ("removed_comments", "ModRemoveComment"),
    "community_ban": ("banned_from_community", "ModBanFromCommunity"),
    "community_unban": ("banned_from_community", "ModBanFromCommunity"),
    "ban": ("banned", "ModBan"),
    "unban": ("banned", "ModBan"),
    "purge_person": ("admin_purged_persons", "AdminPurgePerson"),
    "purge_community": ("admin_purged_communities", "AdminPurgeCommunity"),
    "purge_post": ("admin_purged_posts", "AdminPurgePost"),
    "purge_comment": ("admin_purged_comments", "AdminPurgeComment"),
}
MODLOG_TYPES_OF = {name: type_ for name, type_ in MODLOG_LISTS.values()}
# Every list of a GetModlogResponse (the fake has no lock, feature, add, transfer, hide)
MODLOG_RESPONSE_LISTS = (
    "removed_posts",
    "locked_posts",
    "featured_posts",
    "removed_comments",
    "removed_communities",
    "banned_from_community",
    "banned",
    "added_to_community",
    "transferred_to_community",
    "added",
    "admin_purged_persons",
    "admin_purged_communities",
    "admin_purged_posts",
    "admin_purged_comments",
    "hidden_communities",
)
# The lists only the site-wide modlog has (no community_id), and those left empty when
# other_person_id is given (site/mod_log.rs, 0.19.9)
MODLOG_SITE_ONLY = (
    "banned",
    "added",
    "removed_communities",
    "admin_purged_persons",
    "admin_purged_communities",
    "admin_purged_posts",
    "admin_purged_comments",
)
MODLOG_NO_OTHER_PERSON = (
    "hidden_communities",
    "removed_communities",
    "admin_purged_persons",
    "admin_purged_communities",
    "admin_purged_posts",
    "admin_purged_comments",
)
FETCH_LIMIT_MAX = 50
MAX_PAGE = 100  # Lemmy 0.19.15+ (`_max_page`)
# `post_to_comment_sort_type` (db_schema/src/utils.rs, 0.19): the rest (Top*) is Top
_COMMENT_SORT_OF_POST_SORT = {
    "Active": "Hot",
    "Hot": "Hot",
    "Scaled": "Hot",
    "New": "New",
    "NewComments": "New",
    "MostComments": "New",
    "Old": "Old",
    "Controversial": "Controversial",
}
DELETED_TEXT = "*Permanently Deleted*"  # DELETED_REPLACEMENT_TEXT (db_schema/src/utils.rs)


def incorrect_login() -> ApiError:
    return ApiError(401, "incorrect_login")


@dataclass
class Ctx:
    request: Request
    query: Query
    body: Body
    viewer: Person | None

    def login(self) -> Person:
        """Actions need a valid token: 401 `incorrect_login` otherwise."""
        if self.viewer is None:
            raise incorrect_login()
        return self.viewer

    def admin(self) -> Person:
        person = self.login()
        if not person.admin:
            raise ApiError(400, "not_an_admin")
        return person


def hot_rank(score: int, published: datetime) -> float:
    """Lemmy's hot rank; zero after a week, so old content sorts by time alone."""
    hours = (now() - published).total_seconds() / 3600
    if hours >= 7 * 24:
        return 0.0
    return math.log(max(1, 3 + score)) / (hours + 2) ** 1.8


class LemmyApi:
    """Route handlers bound to one `FakeLemmy` (its state, views and pict-rs store)."""

    def __init__(self, fake) -> None:
        self.fake = fake
        self.state = fake.state
        self.views = fake.views

    # ------------------------------------------------------------------ helpers
    def can_mod(self, person: Person | None, community: Community) -> bool:
        return person is not None and (person.admin or person.id in community.moderators)

    def _admins_in_order(self) -> list[Person]:
        """The local admins, oldest first (`local_user.id`)."""
        admins = [p for p in self.state.persons.values() if p.admin and p.local]
        return sorted(admins, key=lambda p: p.local_user_id or 0)

    def higher_admin(self, actor: Person, target_id: int) -> None:
        """`LocalUser::is_higher_admin_check` (ban_person.rs, purge/*.rs, 0.19.9-0.19.20):
        the oldest admin of actor and target must be the actor: an admin may act on a
        newer admin, never on an older one (`not_higher_admin`); a target who is no
        admin (or no person at all) passes."""
        ids = {actor.id, target_id}
        first = next((p for p in self._admins_in_order() if p.id in ids), None)
        if first is not None and first.id != actor.id:
            raise ApiError(400, "not_higher_admin")

    def higher_mod(self, actor: Person, target_id: int, community: Community) -> None:
        """`LocalUser::is_higher_mod_or_admin_check` (post/remove.rs, comment/remove.rs,
        community/ban.rs, 0.19.9-0.19.20): the local admins (oldest first), then the
        community's mods (by seniority); the first of actor and target must be the actor:
        `not_higher_mod`."""
        ranked = [p.id for p in self._admins_in_order()] + list(community.moderators)
        first = next((pid for pid in ranked if pid in (actor.id, target_id)), None)
        if first != actor.id:
            raise ApiError(400, "not_higher_mod")

    def _moderates(self, person: Person | None, community: Community) -> bool:
        """ModeratorView's filter: a `community_moderator` row (being admin is not one)."""
        return person is not None and person.id in community.moderators

    def get_post(self, post_id: int | None) -> Post:
        post = self.state.posts.get(post_id)
        if post is None or post.purged:
            raise ApiError(400, "couldnt_find_post")
        return post

    def get_comment(self, comment_id: int | None) -> Comment:
        comment = self.state.comments.get(comment_id)
        if comment is None or comment.purged:
            raise ApiError(400, "couldnt_find_comment")
        return comment

    def get_person(self, person_id: int | None) -> Person:
        person = self.state.persons.get(person_id)
        if person is None or person.purged:
            raise not_found()
        return person

    def get_community(self, community_id: int | None) -> Community:
        community = self.state.communities.get(community_id)
        if community is None or community.purged:
            raise ApiError(400, "couldnt_find_community")
        return community

    def community_by_name(self, name: str) -> Community:
        for community in self.state.communities.values():
            if not community.purged and name in (
                community.name,
                f"{community.name}@{community.instance}",
            ):
                return community
        raise not_found()

    def paging(self, ctx: Ctx, error: str) -> tuple[int, int]:
        """`limit_and_offset`'s checks where the handler relabels the error (`post/list`,
        `comment/list`, `GET /user`): 400 `error`."""
        page, limit = ctx.query.int("page"), ctx.query.int("limit")  # malformed: unknown
        try:
            return self._page_and_limit(page, limit)
        except ApiError:
            raise ApiError(400, error) from None

    def _max_page(self) -> int | None:
        """`PAGE_LIMIT_MAX` (db_schema/src/utils.rs): no cap up to 0.19.13, 10 in
        0.19.14, 100 from 0.19.15 (lemmy ca6ba3a9a, #6252)."""
        patch = self._patch()
        return None if patch < 14 else 10 if patch == 14 else MAX_PAGE

    def limit_and_offset(self, ctx: Ctx) -> tuple[int, int]:
        """(page, limit) as `limit_and_offset` (db_schema/src/utils.rs) checks them where a
        handler passes its error up unrelabelled (media, reports, private messages,
        communities): a diesel QueryBuilderError, i.e. 400 `unknown` with its text. With
        the cap (0.19.14+) a page outside 1..=cap, page 0 too, is "Page limit is > cap"."""
        return self._page_and_limit(ctx.query.int("page"), ctx.query.int("limit"))

    def _page_and_limit(self, page: int | None, limit: int | None) -> tuple[int, int]:
        cap = self._max_page()
        if page is not None and cap is not None and not 1 <= page <= cap:
            raise ApiError(400, "unknown", f"Page limit is > {cap}")
        if page is not None and page < 1:
            raise ApiError(400, "unknown", "Page is < 1")
        if limit is not None and not 1 <= limit <= FETCH_LIMIT_MAX:
            raise ApiError(400, "unknown", f"Fetch limit is > {FETCH_LIMIT_MAX}")
        return page or 1, 10 if limit is None else limit

    def check_private(self, viewer: Person | None) -> None:
        """`check_private_instance` (api_common/src/utils.rs): a private instance
        answers no anonymous read but `GET /site` (its login page needs it)."""
        if viewer is None and self.state.site.private_instance:
            raise ApiError(400, "instance_is_private")

    def modlog(self, action: str, mod: Person, target_id: int, reason: str | None, **detail):
        self.state.modlog.append(ModAction(action, mod.id, target_id, reason, now(), detail))

    # ------------------------------------------------------------------ site, login
    def site(self, ctx: Ctx) -> dict:
        return self.views.site_response(ctx.viewer, self.fake.started_at)

    def login(self, ctx: Ctx) -> dict:
        name = ctx.body.require_str("username_or_email")
        password = ctx.body.require_str("password")
        person = self.state.person_by_name(name)
        if (
            person is None
            or not person.local
            or person.password is None
            or (person.password != password)
        ):
            raise incorrect_login()
        if person.deleted:
            raise ApiError(400, "deleted")
        if person.banned:
            raise ApiError(400, "site_ban")
        token = self.state.issue_token(person.id)
        return {"jwt": token, "registration_created": False, "verify_email_sent": False}

    def validate_auth(self, ctx: Ctx) -> dict:
        """0.19's cheap "is my token still good?" (401 when it is not)."""
        ctx.login()
        return {"success": True}

    def logout(self, ctx: Ctx) -> dict:
        ctx.login()
        token = self.fake.token_of(ctx.request.headers, ctx.request.cookies)
        self.state.tokens.pop(token, None)
        return {"success": True}

    def save_user_settings(self, ctx: Ctx) -> dict:
        person = ctx.login()
        for name in ("show_nsfw", "show_bot_accounts", "show_read_posts", "bot_account"):
            value = ctx.body.bool(name)
            if value is not None:
                setattr(person, name, value)
        for name, allowed in (
            ("default_listing_type", LISTING_TYPES),
            ("default_sort_type", POST_SORTS),
        ):
            choice = ctx.body.enum(name, allowed)
            if choice is not None:
                setattr(person, name, choice)
        languages = ctx.body.int_list("discussion_languages")
        if languages is not None:
            person.discussion_languages = languages
        for name in ("display_name", "bio", "avatar", "banner"):
            text = ctx.body.str(name)
            if text is not None:
                setattr(person, name, text or None)
        person.updated = now()
        return {"success": True}

    # ------------------------------------------------------------------ reading
    def _listing_type(self, ctx: Ctx) -> str:
        default = ctx.viewer.default_listing_type if ctx.viewer else "Local"
        return ctx.query.enum("type_", LISTING_TYPES) or default

    def _community_filter(self, ctx: Ctx) -> Community | None:
        community_id = ctx.query.int("community_id")
        name = ctx.query.str("community_name")
        if community_id is not None:
            return self.get_community(community_id)
        if name is not None:
            return self.community_by_name(name)
        return None

    def _post_visible(
        self,
        post: Post,
        ctx: Ctx,
        type_: str,
        show_nsfw: bool,
        show_read: bool,
        *,
        of_creator: bool = False,
    ) -> bool:
        s, viewer = self.state, ctx.viewer
        community, creator = s.communities[post.community_id], s.persons[post.creator_id]
        if post.purged or community.purged or creator.purged:
            return False
        if type_ == "ModeratorView" and not self._moderates(viewer, community):
            return False
        # PostQuery (db_views/src/post_view.rs, 0.19.9-0.19.20): removed posts and posts
        # of removed or deleted communities are hidden in every listing, even from admins
        # and in ModeratorView, but for one person's posts (`creator_id`: GET /user) read
        # by an admin, which shows the removed ones; a deleted post is shown to its
        # creator only, a deleted community's to no one
        if community.deleted:
            return False
        if (post.removed or community.removed) and not (of_creator and viewer and viewer.admin):
            return False
        if post.deleted and (viewer is None or viewer.id != post.creator_id):
            return False
        if type_ == "Local" and not community.local:
            return False
        if not self._followed_or_shown(viewer, community, type_, profile=of_creator):
            return False
        if (post.nsfw or community.nsfw) and not show_nsfw:
            return False
        if creator.bot_account and viewer is not None and not viewer.show_bot_accounts:
            return False
        if viewer is not None and viewer.id in post.read_by and not show_read:
            return False
        # "Dont filter blocks or missing languages for moderator view type"
        languages = viewer.discussion_languages if viewer and type_ != "ModeratorView" else None
        return languages is None or post.language_id in languages

    @staticmethod
    def _followed_or_shown(
        viewer: Person | None, community: Community, type_: str, *, profile: bool = False
    ) -> bool:
        """0.19's `Subscribed` listings and hidden communities (post_view.rs:341-382,
        comment_view.rs:217-240): `Subscribed` lists what the viewer has a follower row
        for (pending too); `All` and `Local` a hidden community's items only to its
        followers, admins no differently; `ModeratorView` has no hidden filter. A
        profile's posts (`GET /user`, no listing type) never show a hidden community's."""
        followed = viewer is not None and viewer.id in community.followers
        if profile:
            return not community.hidden
        if type_ == "Subscribed":
            return followed
        return type_ == "ModeratorView" or not community.hidden or followed

    def _show_nsfw(self, viewer: Person | None) -> bool:
        """`LocalUserOptionHelper::show_nsfw` (db_schema/src/impls/local_user.rs): the
        account's setting; without a login, whether the site has a content warning."""
        return viewer.show_nsfw if viewer else self.state.site.content_warning is not None

    def _post_key(self, post: Post, sort: str, by_community: bool):
        featured = post.featured_community if by_community else post.featured_local
        if sort == "Old":
            return (not featured, post.published, post.id)
        if sort == "New":
            return (not featured, -post.published.timestamp(), -post.id)
        if sort.startswith("Top") or sort == "Controversial":
            return (not featured, -post.score, -post.published.timestamp(), -post.id)
        if sort in ("MostComments", "NewComments"):
            counts = self.views.post_counts(post)
            first = (
                -counts["comments"]
                if sort == "MostComments"
                else -datetime.fromisoformat(
                    counts["newest_comment_time"].replace("Z", "+00:00")
                ).timestamp()
            )
            return (not featured, first, -post.published.timestamp(), -post.id)
        rank = hot_rank(post.score, post.published)
        return (not featured, -rank, -post.published.timestamp(), -post.id)

    def list_posts(self, ctx: Ctx) -> dict:
        q, viewer = ctx.query, ctx.viewer
        self.check_private(viewer)
        type_ = self._listing_type(ctx)
        sort = q.enum("sort", POST_SORTS) or (viewer.default_sort_type if viewer else "Active")
        page, limit = self.paging(ctx, "couldnt_get_posts")
        community = self._community_filter(ctx)
        show_nsfw = q.bool("show_nsfw")
        show_nsfw = self._show_nsfw(viewer) if show_nsfw is None else show_nsfw
        show_read = q.bool("show_read")
        show_read = (viewer.show_read_posts if viewer else True) if show_read is None else show_read
        cursor = q.str("page_cursor")
        saved_only = q.bool("saved_only")
        for unmodelled in ("liked_only", "disliked_only", "show_hidden"):
            q.bool(unmodelled)  # still rejected when malformed, as Lemmy does
        if community is not None and type_ == "Local":
            type_ = "All"  # a community listing ignores the instance filter
        posts = [
            p
            for p in self.state.posts.values()
            if (community is None or p.community_id == community.id)
            and self._post_visible(p, ctx, type_, show_nsfw, show_read)
        ]
        if saved_only:
            posts = []
        key = lambda p: self._post_key(p, sort, community is not None)  # noqa: E731
        posts.sort(key=key)
        if cursor is not None:
            after = self._cursor_post(cursor)
            posts = [p for p in posts if key(p) > key(after)][:limit]
        else:
            posts = posts[(page - 1) * limit : page * limit]
        response: dict[str, Any] = {"posts": [self.views.post_view(p, viewer) for p in posts]}
        if posts:
            response["next_page"] = f"P{posts[-1].id:x}"
        return response

    def _cursor_post(self, cursor: str) -> Post:
        """The post a `page_cursor` names (`P` + hex id). 0.19's `PaginationCursor::read`
        (db_views/src/post_view.rs, 0.19.9 to 0.19.20) skips the first character, and
        answers a cursor it cannot parse and one whose post is gone (purged) alike: a
        diesel QueryBuilderError, i.e. 400 `unknown` "Could not parse pagination token"."""
        bad = ApiError(400, "unknown", "Could not parse pagination token")
        digits = cursor[1:]
        if not digits or not all(c in "0123456789abcdefABCDEF" for c in digits.lstrip("+")):
            raise bad
        try:
            post_id = int(digits, 16)
        except ValueError:
            raise bad from None
        if not -(2**31) <= post_id < 2**31:
            raise bad  # i32::from_str_radix overflows
        post = self.state.posts.get(post_id)
        if post is None or post.purged:
            raise bad
        return post

    def _comment_visible(
        self, comment: Comment, ctx: Ctx, type_: str, *, of_creator: bool = False
    ) -> bool:
        s, viewer = self.state, ctx.viewer
        post = s.posts[comment.post_id]
        community, creator = s.communities[post.community_id], s.persons[comment.creator_id]
        if comment.purged or post.purged or community.purged or creator.purged:
            return False
        if type_ == "ModeratorView" and not self._moderates(viewer, community):
            return False
        # 0.19's CommentQuery (db_views/src/comment_view.rs, 0.19.9-0.19.20) has no filter
        # on removed or deleted comments ("done on the front side": their content is
        # blanked for non-admins, `Views.comment_view`) and none on NSFW
        if type_ == "Local" and not community.local:
            return False
        # a profile's comments (`GET /user`: no listing type) have no hidden filter
        if not of_creator and not self._followed_or_shown(viewer, community, type_):
            return False
        if creator.bot_account and viewer is not None and not viewer.show_bot_accounts:
            return False
        # CommentQuery filters languages only outside ModeratorView
        languages = viewer.discussion_languages if viewer and type_ != "ModeratorView" else None
        return languages is None or comment.language_id in languages

    def _comment_key(self, comment: Comment, sort: str):
        stamp = comment.published.timestamp()
        if sort == "New":
            return (-stamp, -comment.id)
        if sort == "Old":
            return (stamp, comment.id)
        if sort in ("Top", "Controversial"):
            return (-comment.score, -stamp, -comment.id)
        return (-hot_rank(comment.score, comment.published), -stamp, -comment.id)

    def list_comments(self, ctx: Ctx) -> dict:
        q = ctx.query
        self.check_private(ctx.viewer)
        type_ = self._listing_type(ctx)
        sort = q.enum("sort", COMMENT_SORTS) or "Hot"  # Lemmy's default: always pass New
        page, limit = self.paging(ctx, "couldnt_get_comments")
        community = self._community_filter(ctx)
        post_id, parent_id = q.int("post_id"), q.int("parent_id")
        max_depth = q.int("max_depth")
        saved_only = q.bool("saved_only")
        for unmodelled in ("liked_only", "disliked_only"):
            q.bool(unmodelled)  # still rejected when malformed, as Lemmy does
        if community is not None or post_id is not None:
            type_ = "All" if type_ == "Local" else type_
        comments = []
        for c in self.state.comments.values():
            post = self.state.posts[c.post_id]
            if community is not None and post.community_id != community.id:
                continue
            if post_id is not None and c.post_id != post_id:
                continue
            if parent_id is not None and f".{parent_id}." not in f"{c.path}.":
                continue
            if max_depth is not None and c.path.count(".") > max_depth:
                continue
            if self._comment_visible(c, ctx, type_):
                comments.append(c)
        if saved_only:
            comments = []
        comments.sort(key=lambda c: self._comment_key(c, sort))
        comments = comments[(page - 1) * limit : page * limit]
        return {"comments": [self.views.comment_view(c, ctx.viewer) for c in comments]}

    def get_post_detail(self, ctx: Ctx) -> dict:
        self.check_private(ctx.viewer)
        post = self.get_post(ctx.query.int("id"))
        community = self.state.communities[post.community_id]
        # PostView::read (db_views/src/post_view.rs) is given `is_mod_or_admin`, whose
        # `check_user_valid` makes a banned or deleted moderator none; anyone else sees no
        # removed or deleted post, nor one of a removed or deleted community, but their own
        viewer = ctx.viewer
        mod = viewer is not None and not (viewer.banned or viewer.deleted)
        mod = mod and self.can_mod(viewer, community)
        gone = post.removed or post.deleted or community.removed or community.deleted
        if gone and not mod and (viewer is None or viewer.id != post.creator_id):
            raise ApiError(400, "couldnt_find_post")
        if ctx.viewer is not None:
            # api_crud/src/post/read.rs (0.19): a logged-in read marks the post read for the
            # reader (and stores its comment count); a visitor's marks nothing
            post.read_by.add(ctx.viewer.id)
            post.read_at[ctx.viewer.id] = now()
            self.fake.note_read_marks(ctx.request)
        return {
            "post_view": self.views.post_view(post, ctx.viewer),
            "community_view": self.views.community_view(community, ctx.viewer),
            "moderators": self.views.moderator_views(community),
            "cross_posts": [],
        }

    def get_comment_detail(self, ctx: Ctx) -> dict:
        self.check_private(ctx.viewer)
        comment = self.get_comment(ctx.query.int("id"))
        return {"comment_view": self.views.comment_view(comment, ctx.viewer), "recipient_ids": []}

    def community_detail(self, ctx: Ctx) -> dict:
        community_id, name = ctx.query.int("id"), ctx.query.str("name")
        if community_id is None and name is None:
            raise ApiError(400, "no_id_given")
        self.check_private(ctx.viewer)  # read_community.rs: after the id check
        if community_id is not None:
            community = self.state.communities.get(community_id)
            if community is None or community.purged:
                raise not_found()
        elif name is not None:
            community = self.community_by_name(name)
        else:
            raise ApiError(400, "no_id_given")
        return {
            "community_view": self.views.community_view(community, ctx.viewer),
            "moderators": self.views.moderator_views(community),
            "discussion_languages": [],
        }

    def _community_key(self, community: Community, sort: str):
        """`CommunityQuery::list`'s order (db_views_actor/src/community_view.rs). The
        fake's aggregates are zero but for `comments`: ties fall back to newest first."""
        stamp = community.published.timestamp()
        newest = (-stamp, -community.id)
        if sort == "New":
            return newest
        if sort == "Old":
            return (stamp, community.id)
        if sort in ("Hot", "Active", "Scaled"):  # hot_rank of (subscribers = 0, published)
            return (-hot_rank(0, community.published), *newest)
        if sort in ("MostComments", "Controversial"):
            return (-self.views.community_counts(community)["comments"], *newest)
        return newest  # subscribers, users_active_*: zero in the fake

    def list_communities(self, ctx: Ctx) -> dict:
        """`GET /community/list` (api_crud/src/community/list.rs, 0.19.9)."""
        q, viewer = ctx.query, ctx.viewer
        self.check_private(viewer)
        type_ = q.enum("type_", LISTING_TYPES)
        sort = q.enum("sort", POST_SORTS) or "Hot"
        show_nsfw = q.bool("show_nsfw")
        page, limit = self.limit_and_offset(ctx)
        # the viewer's setting (anonymous: the site's content warning) or the parameter
        nsfw = (
            viewer.show_nsfw if viewer else self.state.site.content_warning is not None
        ) or bool(show_nsfw)
        admin = viewer is not None and viewer.admin  # is_mod_or_admin: admins only here
        found = [
            c
            for c in self.state.communities.values()
            if not c.purged
            and (admin or not (c.removed or c.deleted))
            and not (type_ == "Local" and not c.local)
            # community_view.rs:118-151: a hidden one to admins and its followers;
            # `Subscribed`: a follower row (pending too)
            and (admin or not c.hidden or (viewer is not None and viewer.id in c.followers))
            and (type_ != "Subscribed" or (viewer is not None and viewer.id in c.followers))
            and (nsfw or not c.nsfw)
        ]
        found.sort(key=lambda c: self._community_key(c, sort))
        found = found[(page - 1) * limit : page * limit]
        return {"communities": [self.views.community_view(c, viewer) for c in found]}

    def get_person_details(self, ctx: Ctx) -> dict:
        person_id, name = ctx.query.int("person_id"), ctx.query.str("username")
        if person_id is None and name is None:
            raise ApiError(400, "no_id_given")
        self.check_private(ctx.viewer)  # read_person.rs: after the id check
        # read_person.rs: an id not there is `ok_or(CouldntFindPerson)` (400); a name not
        # there a diesel NotFound relabelled `couldnt_find_person` (404)
        if person_id is not None:
            person = self.state.persons.get(person_id)
            if person is None or person.purged:
                raise ApiError(400, "couldnt_find_person")
        elif name is not None:
            person = self.state.person_by_name(name.split("@")[0])
            if person is None:
                raise ApiError(404, "couldnt_find_person")
        else:
            raise ApiError(400, "no_id_given")
        admin = ctx.viewer is not None and ctx.viewer.admin
        self._read_person_view(person, show_deleted=admin and self._patch() >= 14)
        viewer, s = ctx.viewer, self.state
        # read_person.rs: a PostQuery with `creator_id`, the query's sort (default
        # Active), page and limit; nsfw by the reader's setting; read posts always shown
        # ("Do not hide read posts when it is a user profile view", post_view.rs)
        sort = ctx.query.enum("sort", POST_SORTS) or "Active"
        page, limit = self.limit_and_offset(ctx)  # its error passed up unrelabelled
        show_nsfw = self._show_nsfw(viewer)
        found = [
            p
            for p in s.posts.values()
            if p.creator_id == person.id
            and self._post_visible(p, ctx, "All", show_nsfw, True, of_creator=True)
        ]
        found.sort(key=lambda p: self._post_key(p, sort, False))
        posts = [self.views.post_view(p, viewer) for p in found[(page - 1) * limit : page * limit]]
        # and a CommentQuery with the same page and limit, sorted by
        # `post_to_comment_sort_type` of the query's sort (none: CommentQuery's Hot)
        written = [
            c
            for c in s.comments.values()
            if c.creator_id == person.id and self._comment_visible(c, ctx, "All", of_creator=True)
        ]
        given = ctx.query.enum("sort", POST_SORTS)
        comment_sort = "Hot" if given is None else _COMMENT_SORT_OF_POST_SORT.get(given, "Top")
        written.sort(key=lambda c: self._comment_key(c, comment_sort))
        comments = [
            self.views.comment_view(c, viewer) for c in written[(page - 1) * limit : page * limit]
        ]
        moderates = [
            {"community": self.views.community(c), "moderator": self.views.person(person)}
            for c in s.communities.values()
            if person.id in c.moderators and not c.purged
        ]
        return {
            "person_view": self.views.person_view(person),
            "comments": comments,
            "posts": posts,
            "moderates": moderates,
        }

    def list_all_media(self, ctx: Ctx) -> dict:
        ctx.admin()
        return self._media(ctx, None)

    def list_own_media(self, ctx: Ctx) -> dict:
        return self._media(ctx, ctx.login().id)

    def _media(self, ctx: Ctx, person_id: int | None) -> dict:
        page, limit = self.limit_and_offset(ctx)
        uploads = [
            u
            for u in self.state.uploads.values()
            if u.listed
            and u.person_id is not None
            and (person_id is None or u.person_id == person_id)
        ]
        uploads.sort(key=lambda u: (u.published, u.alias), reverse=True)  # newest first
        uploads = uploads[(page - 1) * limit : page * limit]
        return {"images": [self.views.local_image_view(u) for u in uploads]}

    # ------------------------------------------------------------------ moderation
    def remove_post(self, ctx: Ctx) -> dict:
        person = ctx.login()
        post = self.get_post(ctx.body.require_int("post_id"))
        removed = ctx.body.require_bool("removed")
        community = self.state.communities[post.community_id]
        if not self.can_mod(person, community):
            raise ApiError(400, "not_a_mod_or_admin")
        self.higher_mod(person, post.creator_id, community)
        post.removed = removed
        self._resolve_all("post", post.id, person)
        self.modlog(
            "remove_post" if removed else "restore_post", person, post.id, ctx.body.str("reason")
        )
        return {"post_view": self.views.post_view(post, person)}

    def remove_comment(self, ctx: Ctx) -> dict:
        person = ctx.login()
        comment = self.get_comment(ctx.body.require_int("comment_id"))
        removed = ctx.body.require_bool("removed")
        post = self.state.posts[comment.post_id]
        community = self.state.communities[post.community_id]
        if not self.can_mod(person, community):
            raise ApiError(400, "not_a_mod_or_admin")
        self.higher_mod(person, comment.creator_id, community)
        if comment.deleted:
            # "Don't allow removing or restoring comment which was deleted by user, as it
            # would reveal the comment text in mod log." (0.19.4 on)
            raise ApiError(400, "couldnt_update_comment")
        comment.removed = removed
        self._resolve_all("comment", comment.id, person)
        self.modlog(
            "remove_comment" if removed else "restore_comment",
            person,
            comment.id,
            ctx.body.str("reason"),
        )
        return {"comment_view": self.views.comment_view(comment, person), "recipient_ids": []}

    def _resolve_all(self, kind: str, target_id: int, person: Person) -> None:
        """`Reportable::resolve_all_for_object` (post/remove.rs, comment/remove.rs, 0.19.4
        on; a trigger on the mod log did it for a removal before): removing or restoring a
        post or comment marks every report on it resolved, by whoever did it."""
        for report in self.state.reports:
            if report.kind == kind and report.target_id == target_id:
                report.resolved, report.resolver_id, report.updated = True, person.id, now()

    def mark_post_read(self, ctx: Ctx) -> dict:
        person = ctx.login()
        ids = ctx.body.int_list("post_ids")
        single = ctx.body.int("post_id")
        ids = ids if ids is not None else ([single] if single is not None else [])
        read = ctx.body.require_bool("read")
        for post_id in ids:
            post = self.get_post(post_id)
            (post.read_by.add if read else post.read_by.discard)(person.id)
        return {"success": True}

    def purge_post(self, ctx: Ctx) -> dict:
        admin = ctx.admin()
        post = self.get_post(ctx.body.require_int("post_id"))
        self.higher_admin(admin, post.creator_id)
        self._purge_post(post)
        self.modlog("purge_post", admin, post.id, ctx.body.str("reason"))
        return {"success": True}

    def _purge_post(self, post: Post) -> None:
        # Lemmy purges the post's own images from pict-rs (url and thumbnail), when local;
        # their `local_image` rows stay (see `_purge_url`)
        for url in (post.url, post.thumbnail_url):
            self._purge_url(url)
        post.purged = True
        for comment in self.state.comments.values():
            if comment.post_id == post.id:
                comment.purged = True

    def purge_comment(self, ctx: Ctx) -> dict:
        admin = ctx.admin()
        comment = self.get_comment(ctx.body.require_int("comment_id"))
        self.higher_admin(admin, comment.creator_id)
        comment.purged = True
        self.modlog("purge_comment", admin, comment.id, ctx.body.str("reason"))
        return {"success": True}

    def purge_person(self, ctx: Ctx) -> dict:
        admin = ctx.admin()
        person_id = ctx.body.require_int("person_id")
        self.higher_admin(admin, person_id)  # purge/person.rs: before the person is read
        person = self.state.persons.get(person_id)
        if person is None or person.purged:
            raise ApiError(400, "couldnt_find_person")
        # `purge_user_account` (api_common/src/utils.rs, 0.19.9-0.19.20): the person row
        # is kept (deleted, then banned), so a second purge succeeds too. In its order:
        # every upload's alias deleted (`delete_local_user_images`: rows stay), the
        # avatar and banner purged (their own upload is gone by then: nothing to purge),
        # each pict-rs image post's url and thumbnail purged and unset, every comment
        # and post permanently deleted (text replaced, kept as deleted), the mod teams
        # left, the profile cleared (`Person::delete_account`).
        for upload in list(self.state.uploads.values()):
            if upload.person_id == person.id:
                self.state.delete_alias(upload.alias)
        self._purge_url(person.avatar)
        self._purge_url(person.banner)
        when = now()
        for post in self.state.posts.values():
            if post.creator_id == person.id and post.url and "pictrs/image" in post.url:
                self._purge_url(post.url)
                self._purge_url(post.thumbnail_url)
                post.url = post.thumbnail_url = None
        for comment in self.state.comments.values():
            if comment.creator_id == person.id:
                comment.content, comment.deleted, comment.updated = DELETED_TEXT, True, when
        for post in self.state.posts.values():
            if post.creator_id == person.id:
                post.name = post.body = DELETED_TEXT
                post.url, post.deleted, post.updated = None, True, when
        for community in self.state.communities.values():
            if person.id in community.moderators:
                community.moderators.remove(person.id)
        person.display_name = person.avatar = person.banner = person.bio = None
        person.deleted = person.banned = True  # purge/person.rs: `banned` only, no expiry
        person.updated = when
        self._drop_tokens(person)
        self.modlog("purge_person", admin, person.id, ctx.body.str("reason"))
        return {"success": True}

    def purge_community(self, ctx: Ctx) -> dict:
        admin = ctx.admin()
        community = self.get_community(ctx.body.require_int("community_id"))
        for post in self.state.posts.values():
            if post.community_id == community.id and not post.purged:
                self._purge_post(post)
        community.purged = True
        self.modlog("purge_community", admin, community.id, ctx.body.str("reason"))
        return {"success": True}

    def _drop_tokens(self, person: Person) -> None:
        for token, owner in list(self.state.tokens.items()):
            if owner == person.id:
                del self.state.tokens[token]

    def _expires(self, ctx: Ctx) -> datetime | None:
        expires = ctx.body.int("expires")
        if expires is None:
            return None
        try:
            when = datetime.fromtimestamp(expires, UTC)
        except (OverflowError, OSError, ValueError):
            raise ApiError(400, "invalid_unix_time") from None
        if when <= now():
            raise ApiError(400, "ban_expiration_in_past")
        return when

    def _ban_reason(self, ctx: Ctx) -> str | None:
        """A ban's reason: `is_valid_body_field` (10,000 UTF-16 code units at most)."""
        reason = ctx.body.str("reason")
        if reason is not None and len(reason.encode("utf-16-le")) // 2 > 10_000:
            raise ApiError(400, "invalid_body_field")
        return reason

    def ban_person(self, ctx: Ctx) -> dict:
        """0.19 (local_user/ban_person.rs): admin, higher admin, reason, expiry, then
        `Person::update`, whose NotFound for an id not there is relabelled
        `couldnt_update_user` and stays a 404."""
        admin = ctx.admin()
        person_id = ctx.body.require_int("person_id")
        ban = ctx.body.require_bool("ban")
        remove_data = ctx.body.bool("remove_data")
        self.higher_admin(admin, person_id)  # an older admin: refused; a newer one: banned
        person = self.state.persons.get(person_id)
        reason = self._ban_reason(ctx)
        expires = self._expires(ctx)
        if person is None or person.purged:
            raise ApiError(404, "couldnt_update_user")
        person.banned, person.ban_expires = ban, (expires if ban else None)
        person.ban_reason = reason if ban else None
        # a ban or an unban invalidates the person's logins (`LoginToken::invalidate_all`
        # runs whatever `ban` says, 0.19.0 to 0.19.20)
        self._drop_tokens(person)
        if remove_data:
            # `remove_user_data`, called whether `ban` is true or false: an unban with
            # remove_data removes too (0.19.6 to 0.19.20; lemmy-js-client's "false means
            # restore" was lemmy#4845's, reverted before 0.19.6)
            self._remove_user_data(person)
        self.modlog(
            "ban" if ban else "unban",
            admin,
            person.id,
            reason,
            expires=expires,
            remove_data=bool(remove_data),
        )
        # read after the ban and its modlog row are written: those stay
        self._read_person_view(person, show_deleted=self._patch() >= 14)
        return {"person_view": self.views.person_view(person), "banned": ban}

    def _read_person_view(self, person: Person, *, show_deleted: bool) -> None:
        """`PersonView::read` (db_views_actor/src/person_view.rs) finds no deleted person,
        answered `.ok_or(CouldntFindPerson)` (400). Up to 0.19.13 always; 0.19.14+ takes
        `show_deleted`: true for an admin's `GET /user` and for both bans."""
        if person.deleted and not show_deleted:
            raise ApiError(400, "couldnt_find_person")

    def _patch(self) -> int:
        """The 0.19 patch release the fake answers as ("0.19.9" -> 9): what a ban's
        remove_data takes changed within 0.19."""
        parts = self.fake.version.split("-", 1)[0].split(".")
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0

    def _purge_url(self, url: str | None) -> None:
        """`purge_image_from_pictrs` (api_common/src/request.rs, 0.19.9-0.19.20): pict-rs
        purges the file of a local image URL, every alias of it; Lemmy's `local_image`
        row stays (0.19 deletes none there, so `list_all_media` still lists it)."""
        alias = alias_of_local_url(self.fake.url, url)
        if alias is not None:
            self.fake.purge_alias(alias)

    def _remove_user_data(self, person: Person) -> None:
        """`remove_user_data` (api_common/src/utils.rs). 0.19.0-0.19.10 purge from pict-rs
        (the whole file, whoever else shows it) the avatar, the banner and the url and
        thumbnail of each post whose url holds "pictrs/image" (any instance's), and unset
        those posts' url and thumbnail; other uploads stay. 0.19.11+ purge nothing: they
        delete the alias of every upload of the person (`delete_local_user_images`,
        whose `local_image` rows stay). Every version unsets avatar, banner and bio and
        removes all posts and comments; 0.19.10+ the private messages too."""
        old = self._patch() <= 10
        if old:
            self._purge_url(person.avatar)
            self._purge_url(person.banner)
        person.avatar = person.banner = person.bio = None
        for post in self.state.posts.values():
            if post.creator_id != person.id:
                continue
            # `update_removed_for_creator` sets `updated` too (db_schema impls/post.rs,
            # comment.rs, 0.19.0-0.19.20), as every bulk removal of a ban does
            post.removed, post.updated = True, now()
            if old and post.url is not None and "pictrs/image" in post.url:
                self._purge_url(post.url)
                self._purge_url(post.thumbnail_url)
                post.url = post.thumbnail_url = None
        if not old:
            for upload in list(self.state.uploads.values()):
                if upload.person_id == person.id:
                    self.state.delete_alias(upload.alias)
        self._remove_led_communities(person, purge=old)
        for comment in self.state.comments.values():
            if comment.creator_id == person.id:
                comment.removed, comment.updated = True, now()
        if self._patch() >= 10:
            for message in self.state.private_messages:
                if message.creator_id == person.id:
                    message.removed = True

    def _remove_led_communities(self, person: Person, *, purge: bool) -> None:
        """`remove_user_data`: every community whose first moderator
        (`get_community_first_mods`: 0.19.6+ the earliest made one; up to 0.19.5 the one
        of the lowest person id, its query ordered by `person_id`) is the banned person is
        removed, with no modlog row, its icon and banner unset; up to 0.19.10 they are
        purged from pict-rs first (the whole file, whoever uploaded it), 0.19.11+ not."""
        for community in self.state.communities.values():
            mods = community.moderators
            first = (min(mods) if self._patch() <= 5 else mods[0]) if mods else None
            if first == person.id and not community.purged:
                community.removed = True
                if purge:
                    self._purge_url(community.icon)
                    self._purge_url(community.banner)
                community.icon = community.banner = None

    def ban_from_community(self, ctx: Ctx) -> dict:
        mod = ctx.login()
        community = self.get_community(ctx.body.require_int("community_id"))
        person = self.get_person(ctx.body.require_int("person_id"))
        ban = ctx.body.require_bool("ban")
        expires = self._expires(ctx)
        remove_data = ctx.body.bool("remove_data")
        if not self.can_mod(mod, community):
            raise ApiError(400, "not_a_mod_or_admin")
        # community/ban.rs: admins outrank moderators, an older one a newer one
        self.higher_mod(mod, person.id, community)
        reason = self._ban_reason(ctx)  # community/ban.rs: after the rank checks
        key = (community.id, person.id)
        if ban:
            self.state.community_bans[key] = CommunityBan(community.id, person.id, expires, reason)
        else:
            self.state.community_bans.pop(key, None)
        if remove_data:  # `remove_user_data_in_community`: removes, ban or unban (0.19.6+)
            for post in self.state.posts.values():
                if post.creator_id == person.id and post.community_id == community.id:
                    # `update_removed_for_creator` sets `updated`; the comments' loop of
                    # `Comment::update` with `removed` alone does not
                    post.removed, post.updated = True, now()
            for comment in self.state.comments.values():
                post = self.state.posts[comment.post_id]
                if comment.creator_id == person.id and post.community_id == community.id:
                    comment.removed = True
        self.modlog(
            "community_ban" if ban else "community_unban",
            mod,
            person.id,
            reason,
            community_id=community.id,
            expires=expires,
            remove_data=bool(remove_data),
        )
        # read after the ban and its modlog row are written: those stay
        self._read_person_view(person, show_deleted=self._patch() >= 14)
        return {"person_view": self.views.person_view(person), "banned": ban}

    def _reason(self, ctx: Ctx) -> str:
        reason = (ctx.body.str("reason") or "").strip()
        if not reason:
            raise ApiError(400, "report_reason_required")
        if len(reason) > 1000:
            raise ApiError(400, "report_too_long")
        return reason

    def _unique_report(self, kind: str, target_id: int, person: Person) -> None:
        """`UNIQUE (post_id, creator_id)` (and the comment's) since 2020: one report per
        reporter and item, resolved or not; 0.19 answers `couldnt_create_report`."""
        for report in self.state.reports:
            if (report.kind, report.target_id, report.creator_id) == (kind, target_id, person.id):
                raise ApiError(400, "couldnt_create_report")

    def _check_can_report(self, person: Person, community: Community) -> None:
        """`check_community_user_action` (api_common/src/utils.rs, 0.19.9-0.19.20)."""
        if person.banned:
            raise ApiError(400, "site_ban")
        if person.deleted:
            raise ApiError(400, "deleted")
        if community.deleted or community.removed:
            raise ApiError(400, "deleted")
        if (community.id, person.id) in self.state.community_bans:
            raise ApiError(400, "banned_from_community")

    def report_post(self, ctx: Ctx) -> dict:
        """0.19 (post_report/create.rs): the reason is checked first; the post is read as
        an anonymous visitor would (`PostView::read(.., None, false)`), so a removed or
        deleted post, or one in a removed or deleted community, is `couldnt_find_post`."""
        person = ctx.login()
        post_id = ctx.body.require_int("post_id")
        reason = self._reason(ctx)
        post = self.get_post(post_id)
        community = self.state.communities[post.community_id]
        if post.removed or post.deleted or community.removed or community.deleted:
            raise ApiError(400, "couldnt_find_post")
        self._check_can_report(person, community)
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
        )
        post.reports.append(report)
        self.state.reports.append(report)
        return {"post_report_view": self.views.post_report_view(report, person)}

    def report_comment(self, ctx: Ctx) -> dict:
        """0.19 (comment_report/create.rs): reason, comment, `check_community_user_action`,
        then `check_comment_deleted_or_removed`: a removed or deleted comment is `deleted`."""
        person = ctx.login()
        comment_id = ctx.body.require_int("comment_id")
        reason = self._reason(ctx)
        comment = self.get_comment(comment_id)
        post = self.state.posts[comment.post_id]
        self._check_can_report(person, self.state.communities[post.community_id])
        if comment.removed or comment.deleted:
            raise ApiError(400, "deleted")
        self._unique_report("comment", comment.id, person)
        report = Report(
            self.state.next_id("comment_report"),
            "comment",
            comment.id,
            person.id,
            reason,
            now(),
            original_name=comment.content,
        )
        comment.reports.append(report)
        self.state.reports.append(report)
        return {"comment_report_view": self.views.comment_report_view(report)}

    def _reports(self, ctx: Ctx, kind: str) -> list[Report]:
        person = ctx.login()
        # check_community_mod_of_any_or_admin_action (0.19.9-0.19.20): a person who
        # moderates nothing and is no admin is refused, not answered an empty list
        if not person.admin and not any(
            person.id in c.moderators for c in self.state.communities.values() if not c.purged
        ):
            raise ApiError(400, "not_a_mod_or_admin")
        page, limit = self.limit_and_offset(ctx)
        unresolved_only = ctx.query.bool("unresolved_only")
        community_id = ctx.query.int("community_id")
        target = ctx.query.int(f"{kind}_id")
        found = []
        for report in reversed(self.state.reports):
            if report.kind != kind or (unresolved_only and report.resolved):
                continue
            if target is not None and report.target_id != target:
                continue
            post = self.state.posts[
                report.target_id
                if kind == "post"
                else self.state.comments[report.target_id].post_id
            ]
            community = self.state.communities[post.community_id]
            if community_id is not None and community.id != community_id:
                continue
            if self.can_mod(person, community) and not post.purged:
                found.append(report)
        return found[(page - 1) * limit : page * limit]

    def list_post_reports(self, ctx: Ctx) -> dict:
        reports = self._reports(ctx, "post")
        return {"post_reports": [self.views.post_report_view(r, ctx.viewer) for r in reports]}

    def list_comment_reports(self, ctx: Ctx) -> dict:
        reports = self._reports(ctx, "comment")
        return {"comment_reports": [self.views.comment_report_view(r) for r in reports]}

    def _resolve(self, ctx: Ctx, kind: str) -> Report:
        person = ctx.login()
        report_id = ctx.body.require_int("report_id")
        resolved = ctx.body.require_bool("resolved")
        for report in self.state.reports:
            if report.kind == kind and report.id == report_id:
                break
        else:
            raise ApiError(400, f"couldnt_find_{kind}_report")
        post_id = (
            report.target_id if kind == "post" else self.state.comments[report.target_id].post_id
        )
        community = self.state.communities[self.state.posts[post_id].community_id]
        if not self.can_mod(person, community):
            raise ApiError(400, "not_a_mod_or_admin")
        report.resolved, report.resolver_id, report.updated = resolved, person.id, now()
        return report

    def resolve_post_report(self, ctx: Ctx) -> dict:
        report = self._resolve(ctx, "post")
        return {"post_report_view": self.views.post_report_view(report, ctx.viewer)}

    def resolve_comment_report(self, ctx: Ctx) -> dict:
        report = self._resolve(ctx, "comment")
        return {"comment_report_view": self.views.comment_report_view(report)}

    def private_message(self, ctx: Ctx) -> dict:
        person = ctx.login()
        content = ctx.body.require_str("content")
        # 0.19 refuses a message over 10,000 UTF-16 code units (is_valid_body_field, BODY_MAX_LENGTH
        # in crates/utils/src/utils/validation.rs), before it looks at the recipient
        if len(content.encode("utf-16-le")) // 2 > 10_000:
            raise ApiError(400, "invalid_body_field")
        recipient = self.state.persons.get(ctx.body.require_int("recipient_id"))
        if recipient is None or recipient.purged:
            raise ApiError(400, "couldnt_find_person")
        message_id = self.state.next_id("private_message")
        message = PrivateMessage(
            message_id,
            person.id,
            recipient.id,
            content,
            now(),
            ap_id=f"{self.fake.url}/private_message/{message_id}",
        )
        self.state.private_messages.append(message)
        return {"private_message_view": self.views.private_message_view(message)}

    def list_private_messages(self, ctx: Ctx) -> dict:
        # 0.19 (PrivateMessageQuery, db_views/src/private_message_view.rs): the messages
        # to and from the viewer, newest first; `unread_only` keeps the unread ones to the
        # viewer, and `creator_id` then those that person sent; without it `creator_id`
        # is the conversation with that person, both ways (`creator_id = i OR
        # recipient_id = i`): the viewer's own id keeps every message.
        # Deleted ones are left out (`deleted = false`), from 0.19.10 removed ones too
        # (a ban's remove_data: `removed = false`, private_message_view.rs:96-97).
        person = ctx.login()
        page, limit = self.limit_and_offset(ctx)
        unread_only = ctx.query.bool("unread_only")
        creator_id = ctx.query.int("creator_id")
        removed_hidden = self._patch() >= 10

        def listed(m) -> bool:
            if m.deleted or (m.removed and removed_hidden):
                return False
            if unread_only:
                # (no message is ever marked read here: each is unread)
                return m.recipient_id == person.id and (
                    creator_id is None or m.creator_id == creator_id
                )
            return person.id in (m.recipient_id, m.creator_id) and (
                creator_id is None or creator_id in (m.creator_id, m.recipient_id)
            )

        found = [m for m in reversed(self.state.private_messages) if listed(m)]
        return {
            "private_messages": [
                self.views.private_message_view(m) for m in found[(page - 1) * limit : page * limit]
            ]
        }

    # ------------------------------------------------------------------ modlog
    def get_modlog(self, ctx: Ctx) -> dict:
        """`GET /modlog` as 0.19.9 answers it (api/src/site/mod_log.rs and
        db_views_moderator): one list per kind of action, each newest first and paged on
        its own (`page`, `limit` <= 50). Who acted (`moderator` / `admin`) is left out for
        anyone but an admin or a moderator of some community (the site hides modlog mod
        names), and the `mod_person_id` filter with it; the raw `mod_person_id` of each
        row stays. A row whose post, comment, person or community was purged is gone
        with it (a purge deletes the row, and the modlog's rows cascade)."""
        viewer = ctx.viewer
        self.check_private(viewer)
        type_ = ctx.query.enum("type_", MODLOG_TYPES) or "All"
        community_id = ctx.query.int("community_id")
        other_person_id = ctx.query.int("other_person_id")
        post_id = ctx.query.int("post_id")
        comment_id = ctx.query.int("comment_id")
        mod_person_id = ctx.query.int("mod_person_id")
        shows_names = viewer is not None and (
            viewer.admin or any(viewer.id in c.moderators for c in self.state.communities.values())
        )
        if not shows_names:  # hide_modlog_mod_names (the fake's site sets it)
            mod_person_id = None
        wanted = {
            name
            for name in MODLOG_RESPONSE_LISTS
            if (type_ == "All" or MODLOG_TYPES_OF.get(name) == type_)
            and not (name in MODLOG_SITE_ONLY and community_id is not None)
            and not (name in MODLOG_NO_OTHER_PERSON and other_person_id is not None)
        }
        answer: dict[str, list] = {name: [] for name in MODLOG_RESPONSE_LISTS}
        if not wanted:
            return answer
        page, limit = self.limit_and_offset(ctx)  # each list's query checks them
        rows: dict[str, list[tuple[datetime, int, dict]]] = {name: [] for name in wanted}
        for index, action in enumerate(self.state.modlog):
            name = MODLOG_LISTS.get(action.action, ("", ""))[0]
            if name not in wanted:
                continue
            if mod_person_id is not None and action.mod_id != mod_person_id:
                continue
            found = self._modlog_view(index, action, name)
            if found is None:
                continue
            view, about = found
            if community_id is not None and about.get("community") != community_id:
                continue
            if other_person_id is not None and about.get("person") != other_person_id:
                continue
            if post_id is not None and about.get("post") != post_id:
                continue
            if comment_id is not None and about.get("comment") != comment_id:
                continue
            show = shows_names or (mod_person_id is not None and action.mod_id == mod_person_id)
            moderator = self.state.persons.get(action.mod_id)
            if show and moderator is not None and not moderator.purged:
                view["admin" if name.startswith("admin_") else "moderator"] = self.views.person(
                    moderator
                )
            rows[name].append((action.when, index, view))
        for name, listed in rows.items():
            listed.sort(key=lambda r: (r[0], r[1]), reverse=True)
            answer[name] = [view for _, _, view in listed[(page - 1) * limit : page * limit]]
        return answer

    def _modlog_view(self, index: int, a: ModAction, name: str) -> tuple[dict, dict] | None:
        """One row of the list `name` with what it joins, and what its filters match
        (`community`, `person`, `post`, `comment`); None when a joined row was purged."""
        s, v = self.state, self.views
        own: dict[str, Any] = {"id": index + 1, "when_": iso(a.when)}
        if a.reason is not None:  # None fields are left out (skip_serializing_none)
            own["reason"] = a.reason
        if name == "removed_posts":
            post = s.posts.get(a.target_id)
            if post is None or post.purged:
                return None
            community = s.communities[post.community_id]
            row = {**own, "mod_person_id": a.mod_id, "post_id": post.id}
            row["removed"] = a.action == "remove_post"
            view = {
                "mod_remove_post": row,
                "post": v.post(post),
                "community": v.community(community),
            }
            return view, {"community": community.id, "person": post.creator_id, "post": post.id}
        if name == "removed_comments":
            comment = s.comments.get(a.target_id)
            if comment is None or comment.purged:
                return None
            post = s.posts[comment.post_id]
            community = s.communities[post.community_id]
            row = {**own, "mod_person_id": a.mod_id, "comment_id": comment.id}
            row["removed"] = a.action == "remove_comment"
            view = {
                "mod_remove_comment": row,
                "comment": v.comment(comment),
                "commenter": v.person(s.persons[comment.creator_id]),
                "post": v.post(post),
                "community": v.community(community),
            }
            about = {"community": community.id, "person": comment.creator_id}
            return view, {**about, "comment": comment.id}
        if name in ("banned", "banned_from_community"):
            person = s.persons.get(a.target_id)
            if person is None or person.purged:
                return None
            expires = a.detail.get("expires")
            row = {
                **own,
                "mod_person_id": a.mod_id,
                "other_person_id": person.id,
                "banned": a.action in ("ban", "community_ban"),
            }
            if isinstance(expires, datetime):
                row["expires"] = iso(expires)
            if name == "banned":
                return {"mod_ban": row, "banned_person": v.person(person)}, {"person": person.id}
            community = s.communities.get(a.detail.get("community_id"))
            if community is None or community.purged:
                return None
            row["community_id"] = community.id
            view = {
                "mod_ban_from_community": row,
                "community": v.community(community),
                "banned_person": v.person(person),
            }
            return view, {"community": community.id, "person": person.id}
        row = {**own, "admin_person_id": a.mod_id}
        if name == "admin_purged_posts":
            post = s.posts.get(a.target_id)
            community = s.communities.get(post.community_id) if post else None
            if community is None or community.purged:
                return None
            row["community_id"] = community.id
            return {"admin_purge_post": row, "community": v.community(community)}, {}
        if name == "admin_purged_comments":
            comment = s.comments.get(a.target_id)
            post = s.posts.get(comment.post_id) if comment else None
            if post is None or post.purged:
                return None
            row["post_id"] = post.id
            return {"admin_purge_comment": row, "post": v.post(post)}, {}
        key = "admin_purge_person" if name == "admin_purged_persons" else "admin_purge_community"
        return {key: row}, {}

    # ------------------------------------------------------------------ routes
    def routes(self, wrap: Callable) -> list[Route]:
        api = [
            ("GET", "/site", self.site),
            ("POST", "/user/login", self.login),
            ("GET", "/user/validate_auth", self.validate_auth),
            ("POST", "/user/logout", self.logout),
            ("PUT", "/user/save_user_settings", self.save_user_settings),
            ("GET", "/post/list", self.list_posts),
            ("GET", "/post", self.get_post_detail),
            ("GET", "/comment/list", self.list_comments),
            ("GET", "/comment", self.get_comment_detail),
            ("GET", "/community", self.community_detail),
            ("GET", "/community/list", self.list_communities),
            ("GET", "/user", self.get_person_details),
            ("GET", "/admin/list_all_media", self.list_all_media),
            ("GET", "/account/list_media", self.list_own_media),
            ("POST", "/post/remove", self.remove_post),
            ("POST", "/comment/remove", self.remove_comment),
            ("POST", "/post/mark_as_read", self.mark_post_read),
            ("POST", "/admin/purge/post", self.purge_post),
            ("POST", "/admin/purge/comment", self.purge_comment),
            ("POST", "/admin/purge/person", self.purge_person),
            ("POST", "/admin/purge/community", self.purge_community),
            ("POST", "/user/ban", self.ban_person),
            ("POST", "/community/ban_user", self.ban_from_community),
            ("POST", "/post/report", self.report_post),
            ("POST", "/comment/report", self.report_comment),
            ("GET", "/post/report/list", self.list_post_reports),
            ("GET", "/comment/report/list", self.list_comment_reports),
            ("PUT", "/post/report/resolve", self.resolve_post_report),
            ("PUT", "/comment/report/resolve", self.resolve_comment_report),
            ("POST", "/private_message", self.private_message),
            ("GET", "/private_message/list", self.list_private_messages),
            ("GET", "/modlog", self.get_modlog),
        ]
        return [
            Route(f"/api/v3{path}", wrap(handler), methods=[method])
            for method, path, handler in api
        ]


def nodeinfo_routes(fake) -> list[Route]:
    async def well_known(request: Request) -> Response:
        return JSONResponse(
            {
                "links": [
                    {
                        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                        "href": f"{fake.url}/nodeinfo/2.1",
                    }
                ]
            }
        )

    async def legacy(request: Request) -> Response:
        return RedirectResponse(f"{fake.url}/nodeinfo/2.1", status_code=307)

    async def nodeinfo(request: Request) -> Response:
        with fake.state.lock:
            users = sum(1 for p in fake.state.persons.values() if p.local and not p.purged)
            posts = sum(1 for p in fake.state.posts.values() if p.local and not p.purged)
        return JSONResponse(
            {
                "version": "2.1",
                "software": {
                    "name": "lemmy",
                    "version": fake.version,
                    "repository": "https://github.com/LemmyNet/lemmy",
                    "homepage": "https://join-lemmy.org/",
                },
                "protocols": ["activitypub"],
                "usage": {"users": {"total": users}, "localPosts": posts},
                "openRegistrations": False,
                "services": {"inbound": [], "outbound": []},
                "metadata": {},
            }
        )

    return [
        Route("/.well-known/nodeinfo", well_known),
        Route("/nodeinfo/2.0.json", legacy),
        Route("/nodeinfo/2.1", nodeinfo),
        Route("/nodeinfo/2.1.json", nodeinfo),
    ]
