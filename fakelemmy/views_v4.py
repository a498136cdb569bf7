"""JSON shapes of Lemmy 1.0 (API v4) answers, exactly as lemmy-js-client 1.0.0-beta.2
types them (`tests/schemas/v4/`, checked by `tests/test_schemas_v4.py`).

What changed from 0.19 (`views.py`): `published_at`/`updated_at`, `ap_id` for
`actor_id`, counts inline in `Post`/`Comment`/`Community`/`Person`, ban state in the
views (`creator_banned`, `PersonView.banned`), `can_mod`, `tags`, `*_actions` for what
the viewer did, snake_case enums, `PagedResponse {items, next_page?, prev_page?}`.
The state keeps 0.19's CamelCase setting values ("Local", "TopDay"); `snake_enum` /
`camel_enum` convert at the edge, so both APIs share one state. Lemmy omits `None`
fields (`skip_serializing_none`), as `_clean` does.
"""

from __future__ import annotations

import re
from datetime import datetime

from fakelemmy.state import (
    Comment,
    Community,
    CustomEmoji,
    ModAction,
    Notification,
    Person,
    Post,
    PrivateMessage,
    Report,
    State,
    Upload,
    iso,
    now,
)
from fakelemmy.views import LANGUAGES

# What the fake's modlog actions are in 1.0's ModlogKind (and whether they undo one)
MODLOG_KIND = {
    "remove_post": ("mod_remove_post", False),
    "restore_post": ("mod_remove_post", True),
    "remove_comment": ("mod_remove_comment", False),
    "restore_comment": ("mod_remove_comment", True),
    "purge_post": ("admin_purge_post", False),
    "purge_comment": ("admin_purge_comment", False),
    "purge_person": ("admin_purge_person", False),
    "purge_community": ("admin_purge_community", False),
    "ban": ("admin_ban", False),
    "unban": ("admin_ban", True),
    "community_ban": ("mod_ban_from_community", False),
    "community_unban": ("mod_ban_from_community", True),
    "remove_community": ("admin_remove_community", False),
}

PERMANENTLY_DELETED = "*Permanently Deleted*"


def _clean(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if v is not None}


def _ts(dt: datetime | None) -> str | None:
    return iso(dt) if dt is not None else None


def snake_enum(value: str) -> str:
    """0.19's `ModeratorView` / `TopDay` -> 1.0's `moderator_view` / `top`."""
    if value.startswith("Top"):
        return "top"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", value).lower()


def camel_enum(value: str) -> str:
    """1.0's `moderator_view` -> `ModeratorView`, as the state keeps it."""
    return "".join(part.title() for part in value.split("_"))


def banned_now(p: Person) -> bool:
    """Banned by this instance (the ban's end not passed)."""
    return p.banned and (p.ban_expires is None or p.ban_expires > now())


def home_banned_now(p: Person) -> bool:
    """Banned by their home instance, another one (the ban's end not passed)."""
    return p.home_banned and (p.home_ban_expires is None or p.home_ban_expires > now())


def local_home_banned(p: Person) -> bool:
    """`creator_local_home_banned` (db_schema/src/utils/queries/selects.rs): banned
    here or at home. Post and comment views add the community's instance's ban
    (`..._community_banned`: `community_instance_ban`)."""
    return banned_now(p) or home_banned_now(p)


def local_home_ban_expires(p: Person) -> datetime | None:
    """`creator_local_home_ban_expires`: `coalesce` of this instance's ban's end and
    the home one's (a permanent ban here shows the home ban's end, as Lemmy does)."""
    here = p.ban_expires if banned_now(p) else None
    home = p.home_ban_expires if home_banned_now(p) else None
    return here if here is not None else home


def community_instance_ban(p: Person, community: Community) -> tuple[bool, datetime | None] | None:
    """`creator_community_instance_actions`' ban (selects.rs): a third instance's ban
    of `p` (not passed), for a community of that instance; (True, its end) or None.
    A community here or of `p`'s home is the local or the home ban, read apart."""
    if community.local or community.instance == p.instance or community.instance is None:
        return None
    if community.instance not in p.instance_bans:
        return None
    ends = p.instance_bans[community.instance]
    return None if ends is not None and ends <= now() else (True, ends)


class ViewsV4:
    """Builds v4 response JSON from `State`; `base_url` is the instance's own URL."""

    def __init__(self, state: State, base_url: str, version: str, rate_limits: dict) -> None:
        self.state = state
        self.base_url = base_url
        self.version = version
        self.rate_limits = rate_limits  # bucket -> (requests, per seconds) or None

    # ---- plain rows ----
    def ap_id(self, p: Person) -> str:
        return f"{self.base_url}/u/{p.name}" if p.local else f"https://{p.instance}/u/{p.name}"

    def person(self, p: Person) -> dict:
        s = self.state
        return _clean(
            {
                "id": p.id,
                "name": p.name,
                "display_name": p.display_name,
                "avatar": p.avatar,
                "published_at": iso(p.published),
                "updated_at": _ts(p.updated),
                "ap_id": self.ap_id(p),
                "bio": p.bio,
                "local": p.local,
                "banner": p.banner,
                "deleted": p.deleted,
                "bot_account": p.bot_account,
                "instance_id": p.instance_id,
                "last_refreshed_at": iso(p.published),
                "post_count": sum(
                    1 for x in s.posts.values() if x.creator_id == p.id and not x.purged
                ),
                "comment_count": sum(
                    1 for x in s.comments.values() if x.creator_id == p.id and not x.purged
                ),
            }
        )

    def community(self, c: Community) -> dict:
        s = self.state
        ap_id = f"{self.base_url}/c/{c.name}" if c.local else f"https://{c.instance}/c/{c.name}"
        posts = [p for p in s.posts.values() if p.community_id == c.id and not p.purged]
        ids = {p.id for p in posts}
        reports = [
            r
            for r in s.reports
            if (r.kind == "post" and r.target_id in ids)
            or (r.kind == "comment" and s.comments[r.target_id].post_id in ids)
        ]
        return _clean(
            {
                "id": c.id,
                "name": c.name,
                "title": c.title,
                "sidebar": c.description,
                "removed": c.removed,
                "published_at": iso(c.published),
                "deleted": c.deleted,
                "nsfw": c.nsfw,
                "ap_id": ap_id,
                "local": c.local,
                "last_refreshed_at": iso(c.published),
                "icon": c.icon,
                "banner": c.banner,
                "posting_restricted_to_mods": False,
                "instance_id": c.instance_id,
                "visibility": c.visibility,
                "subscribers": 0,
                "posts": len(posts),
                "comments": sum(
                    1 for x in s.comments.values() if x.post_id in ids and not x.purged
                ),
                "users_active_day": 0,
                "users_active_week": 0,
                "users_active_month": 0,
                "users_active_half_year": 0,
                "subscribers_local": 0,
                "report_count": len(reports),
                "unresolved_report_count": sum(1 for r in reports if not r.resolved),
                "local_removed": False,
            }
        )

    def post(self, p: Post) -> dict:
        # as in ``Views.post_counts``: deleted and removed comments are not counted, the
        # newest comment's time stays; None (left out) when the post never had a comment
        comments = [c for c in self.state.comments.values() if c.post_id == p.id]
        newest = max((c.published for c in comments), default=None)
        counted = sum(1 for c in comments if not (c.purged or c.deleted or c.removed))
        return _clean(
            {
                "id": p.id,
                "name": p.name,
                "url": p.url,
                "body": p.body,
                "creator_id": p.creator_id,
                "community_id": p.community_id,
                "removed": p.removed,
                "locked": p.locked,
                "published_at": iso(p.published),
                "updated_at": _ts(p.updated),
                "deleted": p.deleted,
                "nsfw": p.nsfw,
                "embed_title": p.embed_title,
                "embed_description": p.embed_description,
                "thumbnail_url": p.thumbnail_url,
                "ap_id": p.ap_id,
                "local": p.local,
                "embed_video_url": p.embed_video_url,
                "language_id": p.language_id,
                "featured_community": p.featured_community,
                "featured_local": p.featured_local,
                "url_content_type": p.url_content_type,
                "alt_text": p.alt_text,
                "federation_pending": False,
                "scheduled_publish_time_at": _ts(p.scheduled),
                "comments": counted,
                "score": p.score,
                "upvotes": max(p.score, 0),
                "downvotes": 0,
                "newest_comment_time_at": _ts(newest),
                "report_count": len(p.reports),
                "unresolved_report_count": sum(1 for r in p.reports if not r.resolved),
            }
        )

    def comment(self, c: Comment, blank: bool = False) -> dict:
        children = sum(
            1
            for x in self.state.comments.values()
            if x.path.startswith(c.path + ".") and not x.purged
        )
        return _clean(
            {
                "id": c.id,
                "creator_id": c.creator_id,
                "post_id": c.post_id,
                "content": "" if blank else c.content,
                "removed": c.removed,
                "published_at": iso(c.published),
                "updated_at": _ts(c.updated),
                "deleted": c.deleted,
                "ap_id": c.ap_id,
                "local": c.local,
                "path": c.path,
                "distinguished": c.distinguished,
                "language_id": c.language_id,
                "score": c.score,
                "upvotes": max(c.score, 0),
                "downvotes": 0,
                "child_count": children,
                "report_count": len(c.reports),
                "unresolved_report_count": sum(1 for r in c.reports if not r.resolved),
                "federation_pending": False,
                "locked": False,
            }
        )

    # ---- views ----
    def can_mod(self, viewer: Person | None, community: Community) -> bool:
        return viewer is not None and (viewer.admin or viewer.id in community.moderators)

    def _creator_flags(
        self, creator: Person, community: Community, *, ends_of_three: bool = True
    ) -> dict:
        """`creator_banned` is the ban here, at home or by the community's instance
        (`creator_local_home_community_banned`, selects.rs); its end the coalesce of the
        three in comment and report views, of the first two in a post view
        (`ends_of_three=False`: db_views/post/src/lib.rs:81-88)."""
        ban = self.state.community_bans.get((community.id, creator.id))
        if ban is not None and ban.expires is not None and ban.expires <= now():
            ban = None
        there = community_instance_ban(creator, community)
        ends = local_home_ban_expires(creator)
        if ends is None and ends_of_three and there is not None:
            ends = there[1]
        return _clean(
            {
                "creator_is_admin": creator.admin,
                "creator_is_moderator": creator.id in community.moderators,
                "creator_banned": local_home_banned(creator) or there is not None,
                "creator_ban_expires_at": _ts(ends),
                "creator_banned_from_community": ban is not None,
                "creator_community_ban_expires_at": _ts(ban.expires) if ban else None,
            }
        )

    def community_actions(self, viewer: Person | None, community: Community) -> dict | None:
        """What the viewer is to the community: a moderator, banned there."""
        if viewer is None:
            return None
        ban = self.state.community_bans.get((community.id, viewer.id))
        actions = _clean(
            {
                "became_moderator_at": iso(community.published)
                if viewer.id in community.moderators
                else None,
                "received_ban_at": iso(community.published) if ban else None,
                "ban_expires_at": _ts(ban.expires) if ban else None,
                "follow_state": community.followers.get(viewer.id),
                "followed_at": iso(community.published)
                if viewer.id in community.followers
                else None,
            }
        )
        return actions or None

    def post_actions(self, viewer: Person | None, p: Post) -> dict | None:
        if viewer is None:
            return None
        actions = _clean(
            {
                "read_at": _ts(p.read_at.get(viewer.id, p.published))
                if viewer.id in p.read_by
                else None,
                "hidden_at": iso(p.published) if viewer.id in p.hidden_by else None,
            }
        )
        return actions or None

    def post_view(self, p: Post, viewer: Person | None) -> dict:
        s = self.state
        creator, community = s.persons[p.creator_id], s.communities[p.community_id]
        return _clean(
            {
                "post": self.post(p),
                "creator": self.person(creator),
                "community": self.community(community),
                **self._creator_flags(creator, community, ends_of_three=False),
                "can_mod": self.can_mod(viewer, community),
                "tags": [],
                "post_actions": self.post_actions(viewer, p),
                "community_actions": self.community_actions(viewer, community),
            }
        )

    def comment_blanked(self, c: Comment, viewer: Person | None) -> bool:
        """Removed or deleted comments are listed with empty content, except to the
        community's mods, admins and the comment's creator."""
        if not (c.removed or c.deleted):
            return False
        community = self.state.communities[self.state.posts[c.post_id].community_id]
        return not (self.can_mod(viewer, community) or (viewer and viewer.id == c.creator_id))

    def comment_view(self, c: Comment, viewer: Person | None) -> dict:
        s = self.state
        post = s.posts[c.post_id]
        creator, community = s.persons[c.creator_id], s.communities[post.community_id]
        return _clean(
            {
                "comment": self.comment(c, self.comment_blanked(c, viewer)),
                "creator": self.person(creator),
                "post": self.post(post),
                "community": self.community(community),
                **self._creator_flags(creator, community),
                "can_mod": self.can_mod(viewer, community),
                "tags": [],
                "community_actions": self.community_actions(viewer, community),
            }
        )

    def custom_emoji_view(self, e: CustomEmoji) -> dict:
        """A `CustomEmojiView` (`GET /custom_emoji/list`; 0.19 sent them in `/site`)."""
        return {
            "custom_emoji": {
                "id": e.id,
                "shortcode": e.shortcode,
                "image_url": e.image_url,
                "alt_text": e.alt_text,
                "category": e.category,
                "published_at": iso(e.published),
            },
            "keywords": [{"custom_emoji_id": e.id, "keyword": k} for k in e.keywords],
        }

    def person_view(self, p: Person) -> dict:
        return _clean(
            {
                "person": self.person(p),
                "is_admin": p.admin,
                "banned": local_home_banned(p),
                "ban_expires_at": _ts(local_home_ban_expires(p)),
            }
        )

    def community_view(self, c: Community, viewer: Person | None) -> dict:
        return _clean(
            {
                "community": self.community(c),
                "can_mod": self.can_mod(viewer, c),
                "tags": [],
                "community_actions": self.community_actions(viewer, c),
            }
        )

    def moderator_views(self, c: Community) -> list[dict]:
        return [
            {"community": self.community(c), "moderator": self.person(self.state.persons[m])}
            for m in c.moderators
            if m in self.state.persons
        ]

    def local_image_view(self, u: Upload) -> dict:
        post = (
            self.state.posts.get(u.thumbnail_for_post_id)
            if u.thumbnail_for_post_id is not None
            else None
        )
        uploader = self.state.persons[u.person_id] if u.person_id is not None else None
        return _clean(
            {
                "local_image": _clean(
                    {
                        "pictrs_alias": u.alias,
                        "published_at": iso(u.published),
                        "person_id": u.person_id,
                        "thumbnail_for_post_id": u.thumbnail_for_post_id,
                    }
                ),
                "person": self.person(uploader) if uploader is not None else None,
                "post": self.post(post) if post is not None and not post.purged else None,
            }
        )

    def _report_row(self, r: Report) -> dict:
        common = {
            "id": r.id,
            "creator_id": r.creator_id,
            "reason": r.reason,
            "resolved": r.resolved,
            "resolver_id": r.resolver_id,
            "published_at": iso(r.published),
            "updated_at": _ts(r.updated),
            "violates_instance_rules": r.violates_instance_rules,
            "conclusion": r.conclusion,
        }
        if r.kind == "post":
            return _clean(
                {
                    **common,
                    "post_id": r.target_id,
                    "original_post_name": r.original_name,
                    "original_post_url": r.original_url,
                    "original_post_body": r.original_body,
                }
            )
        return _clean(
            {**common, "comment_id": r.target_id, "original_comment_text": r.original_name}
        )

    def post_report_view(self, r: Report, viewer: Person | None) -> dict:
        s = self.state
        post = s.posts[r.target_id]
        creator, community = s.persons[post.creator_id], s.communities[post.community_id]
        return _clean(
            {
                "post_report": self._report_row(r),
                "post": self.post(post),
                "community": self.community(community),
                "creator": self.person(s.persons[r.creator_id]),
                "post_creator": self.person(creator),
                **self._creator_flags(creator, community),
                "resolver": self.person(s.persons[r.resolver_id]) if r.resolver_id else None,
                "tags": [],
                "post_actions": self.post_actions(viewer, post),
                "community_actions": self.community_actions(viewer, community),
            }
        )

    def comment_report_view(self, r: Report, viewer: Person | None) -> dict:
        s = self.state
        comment = s.comments[r.target_id]
        post = s.posts[comment.post_id]
        creator, community = s.persons[comment.creator_id], s.communities[post.community_id]
        return _clean(
            {
                "comment_report": self._report_row(r),
                "comment": self.comment(comment),
                "post": self.post(post),
                "community": self.community(community),
                "creator": self.person(s.persons[r.creator_id]),
                "comment_creator": self.person(creator),
                **self._creator_flags(creator, community),
                "resolver": self.person(s.persons[r.resolver_id]) if r.resolver_id else None,
                "tags": [],
                "community_actions": self.community_actions(viewer, community),
            }
        )

    def report_combined_view(self, r: Report, viewer: Person | None) -> dict:
        if r.kind == "post":
            return {**self.post_report_view(r, viewer), "type_": "post"}
        return {**self.comment_report_view(r, viewer), "type_": "comment"}

    def private_message(self, m: PrivateMessage) -> dict:
        return {
            "id": m.id,
            "creator_id": m.creator_id,
            "recipient_id": m.recipient_id,
            "content": m.content,
            "deleted": m.deleted,
            "published_at": iso(m.published),
            "ap_id": m.ap_id,
            "local": True,
            "removed": m.removed,
            "deleted_by_recipient": False,
        }

    def private_message_view(self, m: PrivateMessage) -> dict:
        s = self.state
        return {
            "private_message": self.private_message(m),
            "creator": self.person(s.persons[m.creator_id]),
            "recipient": self.person(s.persons[m.recipient_id]),
        }

    # ---- modlog, notifications ----
    def modlog_row(self, index: int, a: ModAction) -> dict:
        kind, revert = MODLOG_KIND[a.action]
        expires = a.detail.get("expires")
        parent = a.detail.get("bulk_parent")
        return _clean(
            {
                "id": index + 1,
                "kind": kind,
                "is_revert": revert,
                "reason": a.reason,
                "expires_at": _ts(expires) if isinstance(expires, datetime) else None,
                "published_at": iso(a.when),
                "bulk_action_parent_id": parent + 1 if parent is not None else None,
                "child_count": sum(
                    1 for x in self.state.modlog if x.detail.get("bulk_parent") == index
                ),
            }
        )

    def modlog_targets(self, a: ModAction) -> tuple:
        """(post, comment, community, person) a modlog row names, as Lemmy 1.0's
        `ModlogInsertForm` of its kind sets the target columns (db_schema/src/impls/modlog.rs)."""
        s = self.state
        kind = MODLOG_KIND[a.action][0]
        post = comment = community = person = None
        if kind == "mod_remove_post":
            post = s.posts[a.target_id]
        elif kind == "mod_remove_comment":
            comment = s.comments[a.target_id]
            post = s.posts[comment.post_id]
        elif kind in ("admin_ban", "mod_ban_from_community"):
            person = s.persons[a.target_id]
            community_id = a.detail.get("community_id")
            community = s.communities.get(community_id) if community_id is not None else None
        elif kind == "admin_remove_community":
            community = s.communities[a.target_id]
        elif kind == "admin_purge_post":  # the post's community only
            community = s.communities[s.posts[a.target_id].community_id]
        elif kind == "admin_purge_comment":  # the comment's post, creator, community
            purged = s.comments[a.target_id]
            post = s.posts[purged.post_id]
            person = s.persons[purged.creator_id]
            community = s.communities[post.community_id]
        if post is not None and kind != "admin_purge_comment":
            person = s.persons[(comment or post).creator_id]
            community = s.communities[post.community_id]
        return post, comment, community, person

    def modlog_gone(self, index: int) -> bool:
        """Whether Lemmy 1.0 has deleted the row: its target columns reference post,
        comment and community ON DELETE CASCADE (migrations/2026-03-08-202630-0000_add_
        modlog_foreign_keys), as does a bulk row's parent, so a purge of what a row
        names, or of its parent's, takes the row (and its notices) with it."""
        a = self.state.modlog[index]
        post, comment, community, _ = self.modlog_targets(a)
        if any(t is not None and t.purged for t in (post, comment, community)):
            return True
        parent = a.detail.get("bulk_parent")
        return parent is not None and self.modlog_gone(parent)

    def modlog_view(self, index: int, a: ModAction, show_moderator: bool = True) -> dict:
        """A modlog row with its targets (a row whose target was purged is gone)."""
        post, comment, community, person = self.modlog_targets(a)
        target = {
            "target_comment": self.comment(comment) if comment else None,
            "target_post": self.post(post) if post else None,
            "target_person": self.person(person) if person else None,
            "target_community": self.community(community) if community else None,
        }
        moderator = self.state.persons.get(a.mod_id)
        # `ModlogInsertForm::admin_ban`, `::admin_remove_community`: the acting admin's
        # instance (a home instance's ban: theirs), shown even where the admin is hidden
        on_instance = MODLOG_KIND[a.action][0] in ("admin_ban", "admin_remove_community")
        return _clean(
            {
                "modlog": self.modlog_row(index, a),
                "moderator": self.person(moderator) if moderator and show_moderator else None,
                **target,
                "target_instance": self.instance(moderator.instance_id)
                if moderator and on_instance
                else None,
            }
        )

    def instance(self, instance_id: int) -> dict:
        """An `Instance` row; the local one says its software, as the site's does."""
        domain = next(d for d, i in self.state.instances.items() if i == instance_id)
        local = instance_id == 1
        return _clean(
            {
                "id": instance_id,
                "domain": domain,
                "published_at": iso(self.state.instance_published[instance_id]),
                "software": "lemmy" if local else None,
                "version": self.version if local else None,
            }
        )

    def notification_view(self, n: Notification, hide_names: bool = False) -> dict:
        """`hide_names` (a reader who is no admin): Lemmy's map_to_enum sets every row's
        `creator_id` to 0 and drops a mod action's `moderator`."""
        s = self.state
        row = _clean(
            {
                "id": n.id,
                "recipient_id": n.recipient_id,
                "creator_id": 0 if hide_names else n.creator_id,
                "kind": n.kind,
                "read": n.read,
                "published_at": iso(n.published),
                "private_message_id": n.private_message_id,
                "modlog_id": n.modlog_index + 1 if n.modlog_index is not None else None,
            }
        )
        if n.kind == "private_message":
            message = next(m for m in s.private_messages if m.id == n.private_message_id)
            data = {"type_": "private_message", **self.private_message_view(message)}
        else:
            index = n.modlog_index if n.modlog_index is not None else 0
            view = self.modlog_view(index, s.modlog[index], show_moderator=not hide_names)
            data = {"type_": "mod_action", **view}
        return {"notification": row, "data": data}

    # ---- own account, site ----
    def local_user(self, p: Person) -> dict:
        return _clean(
            {
                "id": p.local_user_id,
                "person_id": p.id,
                "show_nsfw": p.show_nsfw,
                "theme": "browser",
                "default_post_sort_type": snake_enum(p.default_sort_type),
                "default_comment_sort_type": snake_enum(p.default_comment_sort_type),
                "default_listing_type": snake_enum(p.default_listing_type),
                "interface_language": "browser",
                "show_avatars": True,
                "send_notifications_to_email": False,
                "show_bot_accounts": p.show_bot_accounts,
                "show_read_posts": p.show_read_posts,
                "email_verified": False,
                "accepted_application": True,
                "open_links_in_new_tab": False,
                "blur_nsfw": True,
                "infinite_scroll_enabled": False,
                "admin": p.admin,
                "post_listing_mode": "list",
                "totp_2fa_enabled": False,
                "collapse_bot_comments": False,
                "last_donation_notification_at": iso(p.published),
                "show_upvotes": True,
                "show_downvotes": "show",
                "show_upvote_percentage": False,
                "show_score": False,
                "show_person_votes": True,
                "default_post_time_range_seconds": p.default_post_time_range_seconds,
                "default_items_per_page": p.default_items_per_page,
                "hide_posts_with_media": p.hide_posts_with_media,
                "auto_mark_fetched_posts_as_read": p.auto_mark_fetched_posts_as_read,
                "private_messages_enabled": p.private_messages_enabled,
                "animated_images_enabled": True,
                "show_media": True,
            }
        )

    def my_user(self, p: Person) -> dict:
        s = self.state
        languages = p.discussion_languages
        return {
            "local_user_view": _clean(
                {
                    "local_user": self.local_user(p),
                    "person": self.person(p),
                    "banned": banned_now(p),
                    "ban_expires_at": _ts(p.ban_expires) if banned_now(p) else None,
                }
            ),
            # CommunityFollowerView::for_person: no follow awaiting approval, no removed
            # or deleted community, by name
            "follows": [
                {"community": self.community(c), "follower": self.person(p)}
                for c in sorted(s.communities.values(), key=lambda c: c.name.lower())
                if c.followers.get(p.id) in ("accepted", "pending")
                and not (c.purged or c.removed or c.deleted)
            ],
            "moderates": [
                {"community": self.community(c), "moderator": self.person(p)}
                for c in s.communities.values()
                if p.id in c.moderators and not c.purged
            ],
            "multi_community_follows": [],
            "community_blocks": [],
            "instance_communities_blocks": [],
            "instance_persons_blocks": [],
            "person_blocks": [],
            "keyword_blocks": [],
            "discussion_languages": (
                [lang["id"] for lang in LANGUAGES] if languages is None else list(languages)
            ),
        }

    def site_response(self, published: datetime) -> dict:
        s, site = self.state, self.state.site
        ts = iso(published)
        domain = self.base_url.split("//", 1)[1]
        local = [p for p in s.persons.values() if p.local and not p.purged]
        return {
            "site_view": {
                "site": _clean(
                    {
                        "id": 1,
                        "name": "Fake Lemmy",
                        "published_at": ts,
                        "ap_id": f"{self.base_url}/",
                        "last_refreshed_at": ts,
                        "inbox_url": f"{self.base_url}/inbox",
                        "instance_id": 1,
                        "content_warning": site.content_warning,
                        "icon": site.icon,
                        "banner": site.banner,
                        "sidebar": site.sidebar,
                    }
                ),
                "local_site": _clean(
                    {
                        "id": 1,
                        "site_id": 1,
                        "site_setup": True,
                        "community_creation_admin_only": False,
                        "email_verification_required": False,
                        "private_instance": site.private_instance,
                        "default_theme": "browser",
                        "default_post_listing_type": snake_enum(site.default_post_listing_type),
                        "default_post_listing_mode": "list",
                        "default_post_sort_type": snake_enum(site.default_post_sort_type),
                        "default_comment_sort_type": snake_enum(site.default_comment_sort_type),
                        "default_post_time_range_seconds": site.default_post_time_range_seconds,
                        "default_items_per_page": site.default_items_per_page,
                        "application_email_admins": False,
                        "federation_enabled": site.federation_enabled,
                        "federation_signed_fetch": False,
                        "published_at": ts,
                        "registration_mode": "require_application",
                        "reports_email_admins": False,
                        "oauth_registration": False,
                        "post_upvotes": "all",
                        "post_downvotes": "all",
                        "comment_upvotes": "all",
                        "comment_downvotes": "all",
                        "users": len(local),
                        "posts": sum(1 for p in s.posts.values() if p.local and not p.purged),
                        "comments": sum(1 for c in s.comments.values() if c.local and not c.purged),
                        "communities": sum(
                            1 for c in s.communities.values() if c.local and not c.purged
                        ),
                        "users_active_day": 0,
                        "users_active_week": 0,
                        "users_active_month": 0,
                        "users_active_half_year": 0,
                        "image_mode": site.image_mode,
                        "image_proxy_bypass_domains": ",".join(site.image_proxy_bypass_domains)
                        or None,
                        "image_upload_timeout_seconds": 30,
                        "image_max_thumbnail_size": site.image_max_thumbnail_size,
                        "image_max_avatar_size": 512,
                        "image_max_banner_size": 1024,
                        "image_max_upload_size": 10 * 1024 * 1024,
                        "image_allow_video_uploads": True,
                        "image_upload_disabled": False,
                        "nsfw_content_disallowed": False,
                        "max_invites_per_user_allowed": 0,
                        "email_notifications_disabled": False,
                    }
                ),
                "local_site_rate_limit": self.rate_limit_row(ts),
                "instance": {
                    "id": 1,
                    "domain": domain,
                    "published_at": ts,
                    "software": "lemmy",
                    "version": self.version,
                },
            },
            "admins": [self.person_view(p) for p in local if p.admin],
            "version": self.version,
            "all_languages": LANGUAGES,
            "discussion_languages": [lang["id"] for lang in LANGUAGES],
            "oauth_providers": [],
            "admin_oauth_providers": [],
            "blocked_urls": [],
            "active_plugins": [],
            "captcha_enabled": False,
        }

    def rate_limit_row(self, ts: str) -> dict:
        def bucket(name: str, default: tuple[int, float]) -> tuple[int, int]:
            limit = self.rate_limits.get(name, default) or (999999, 1)
            return int(limit[0]), int(limit[1])

        rows = {"local_site_id": 1, "published_at": ts}
        for name, default in (
            ("message", (180, 60)),
            ("post", (6, 600)),
            ("register", (10, 3600)),
            ("image", (6, 3600)),
            ("comment", (6, 600)),
            ("search", (60, 600)),
            ("import_user_settings", (3, 86400)),
        ):
            rows[f"{name}_max_requests"], rows[f"{name}_interval_seconds"] = bucket(name, default)
        return rows
