"""JSON shapes of Lemmy 0.19 responses, exactly as lemmy-js-client 0.19.9 types them.

Lemmy omits `None` fields (`skip_serializing_none`), so `_clean` drops them: the
client's optional fields are absent, never `null`. `tests/test_schemas.py` checks every
shape here against JSON Schemas generated from the client's TypeScript types.
"""

from __future__ import annotations

from datetime import datetime

from fakelemmy.state import (
    Comment,
    Community,
    CustomEmoji,
    Person,
    Post,
    PrivateMessage,
    Report,
    State,
    Upload,
    iso,
    now,
)

LANGUAGES = [
    {"id": 0, "code": "und", "name": "Undetermined"},
    {"id": 37, "code": "en", "name": "English"},
    {"id": 32, "code": "de", "name": "Deutsch"},
    {"id": 39, "code": "es", "name": "Español"},
    {"id": 52, "code": "fr", "name": "Français"},
]


def _clean(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if v is not None}


def _ts(dt: datetime | None) -> str | None:
    return iso(dt) if dt is not None else None


class Views:
    """Builds response JSON from `State`; `base_url` is the instance's own URL."""

    def __init__(self, state: State, base_url: str, version: str, rate_limits: dict) -> None:
        self.state = state
        self.base_url = base_url
        self.version = version
        self.rate_limits = rate_limits  # bucket -> (requests, per seconds) or None

    # ---- plain rows ----
    def person(self, p: Person) -> dict:
        return _clean(
            {
                "id": p.id,
                "name": p.name,
                "display_name": p.display_name,
                "avatar": p.avatar,
                "banned": p.banned,
                "published": iso(p.published),
                "updated": _ts(p.updated),
                "actor_id": self.actor_id(p),
                "bio": p.bio,
                "local": p.local,
                "banner": p.banner,
                "deleted": p.deleted,
                "bot_account": p.bot_account,
                "ban_expires": _ts(p.ban_expires) if p.banned else None,
                "instance_id": p.instance_id,
            }
        )

    def actor_id(self, p: Person) -> str:
        return f"{self.base_url}/u/{p.name}" if p.local else f"https://{p.instance}/u/{p.name}"

    def community(self, c: Community) -> dict:
        actor = f"{self.base_url}/c/{c.name}" if c.local else f"https://{c.instance}/c/{c.name}"
        return _clean(
            {
                "id": c.id,
                "name": c.name,
                "title": c.title,
                "description": c.description,
                "removed": c.removed,
                "published": iso(c.published),
                "deleted": c.deleted,
                "nsfw": c.nsfw,
                "actor_id": actor,
                "local": c.local,
                "icon": c.icon,
                "banner": c.banner,
                "hidden": c.hidden,
                "posting_restricted_to_mods": False,
                "instance_id": c.instance_id,
                "visibility": "Public",
            }
        )

    def post(self, p: Post) -> dict:
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
                "published": iso(p.published),
                "updated": _ts(p.updated),
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
            }
        )

    def comment(self, c: Comment) -> dict:
        return _clean(
            {
                "id": c.id,
                "creator_id": c.creator_id,
                "post_id": c.post_id,
                "content": c.content,
                "removed": c.removed,
                "published": iso(c.published),
                "updated": _ts(c.updated),
                "deleted": c.deleted,
                "ap_id": c.ap_id,
                "local": c.local,
                "path": c.path,
                "distinguished": c.distinguished,
                "language_id": c.language_id,
            }
        )

    # ---- aggregates ----
    def person_counts(self, p: Person) -> dict:
        s = self.state
        return {
            "person_id": p.id,
            "post_count": sum(1 for x in s.posts.values() if x.creator_id == p.id and not x.purged),
            "comment_count": sum(
                1 for x in s.comments.values() if x.creator_id == p.id and not x.purged
            ),
        }

    def post_counts(self, p: Post) -> dict:
        # as Lemmy's triggers keep them: the count leaves out deleted and removed comments
        # (`r.is_counted`), the newest comment's time never moves back (`GREATEST`), so
        # it still names a comment deleted, removed or purged since; `published` if none
        comments = [c for c in self.state.comments.values() if c.post_id == p.id]
        newest = max((c.published for c in comments), default=p.published)
        return {
            "post_id": p.id,
            "comments": sum(1 for c in comments if not (c.purged or c.deleted or c.removed)),
            "score": p.score,
            "upvotes": max(p.score, 0),
            "downvotes": 0,
            "published": iso(p.published),
            "newest_comment_time": iso(newest),
        }

    def comment_counts(self, c: Comment) -> dict:
        children = sum(
            1
            for x in self.state.comments.values()
            if x.path.startswith(c.path + ".") and not x.purged
        )
        return {
            "comment_id": c.id,
            "score": c.score,
            "upvotes": max(c.score, 0),
            "downvotes": 0,
            "published": iso(c.published),
            "child_count": children,
        }

    def community_counts(self, c: Community) -> dict:
        s = self.state
        posts = [p for p in s.posts.values() if p.community_id == c.id and not p.purged]
        ids = {p.id for p in posts}
        return {
            "community_id": c.id,
            "subscribers": 0,
            "posts": len(posts),
            "comments": sum(1 for x in s.comments.values() if x.post_id in ids and not x.purged),
            "published": iso(c.published),
            "users_active_day": 0,
            "users_active_week": 0,
            "users_active_month": 0,
            "users_active_half_year": 0,
            "subscribers_local": 0,
        }

    # ---- views ----
    @staticmethod
    def subscribed(community: Community, viewer: Person | None) -> str:
        """`CommunityFollower::select_subscribed_type` (0.19): the viewer's follower
        row's `pending` -> Pending, else Subscribed; no row: NotSubscribed. 1.0's v3
        layer maps its follow states the same (`convert_subscribed_type`)."""
        state = community.followers.get(viewer.id) if viewer is not None else None
        if state is None:
            return "NotSubscribed"
        return "Subscribed" if state == "accepted" else "Pending"

    def _creator_flags(self, creator: Person, community: Community) -> dict:
        banned_here = (community.id, creator.id) in self.state.community_bans
        return {
            "creator_banned_from_community": banned_here,
            "creator_is_moderator": creator.id in community.moderators,
            "creator_is_admin": creator.admin,
        }

    def post_view(self, p: Post, viewer: Person | None) -> dict:
        s = self.state
        creator, community = s.persons[p.creator_id], s.communities[p.community_id]
        view = {
            "post": self.post(p),
            "creator": self.person(creator),
            "community": self.community(community),
            **self._creator_flags(creator, community),
            "banned_from_community": viewer is not None
            and (community.id, viewer.id) in s.community_bans,
            "counts": self.post_counts(p),
            "subscribed": self.subscribed(community, viewer),
            "saved": False,
            "read": viewer is not None and viewer.id in p.read_by,
            "hidden": False,
            "creator_blocked": False,
            "unread_comments": 0,
        }
        return view

    def _blanks_text(self, viewer: Person | None) -> bool:
        """Whether a removed or deleted comment's text is blanked for `viewer`
        (db_views/src/comment_view.rs, list and read): 0.19.0-0.19.3 never (the front
        end did it), 0.19.4-0.19.7 for every reader, admins too, 0.19.8 on for all but
        admins (`handle_deleted`). 1.0's v3 layer (these views too) as 0.19.9."""
        admin = viewer is not None and viewer.admin
        release = self.version.split("-", 1)[0].split(".")
        if release[:2] != ["0", "19"] or len(release) < 3 or not release[2].isdigit():
            return not admin
        patch = int(release[2])
        return False if patch <= 3 else True if patch <= 7 else not admin

    def comment_view(self, c: Comment, viewer: Person | None) -> dict:
        s = self.state
        post = s.posts[c.post_id]
        creator, community = s.persons[c.creator_id], s.communities[post.community_id]
        comment = self.comment(c)
        if (c.removed or c.deleted) and self._blanks_text(viewer):
            comment["content"] = ""
        return {
            "comment": comment,
            "creator": self.person(creator),
            "post": self.post(post),
            "community": self.community(community),
            "counts": self.comment_counts(c),
            **self._creator_flags(creator, community),
            "banned_from_community": viewer is not None
            and (community.id, viewer.id) in s.community_bans,
            "subscribed": self.subscribed(community, viewer),
            "saved": False,
            "creator_blocked": False,
        }

    def person_view(self, p: Person) -> dict:
        return {"person": self.person(p), "counts": self.person_counts(p), "is_admin": p.admin}

    def community_view(self, c: Community, viewer: Person | None) -> dict:
        return {
            "community": self.community(c),
            "subscribed": self.subscribed(c, viewer),
            "blocked": False,
            "counts": self.community_counts(c),
            "banned_from_community": viewer is not None
            and (c.id, viewer.id) in self.state.community_bans,
        }

    def moderator_views(self, c: Community) -> list[dict]:
        return [
            {"community": self.community(c), "moderator": self.person(self.state.persons[m])}
            for m in c.moderators
            if m in self.state.persons
        ]

    def local_image_view(self, u: Upload) -> dict:
        assert u.person_id is not None  # a listed upload has its uploader
        person = self.state.persons[u.person_id]
        return {
            "local_image": _clean(
                {
                    "local_user_id": person.local_user_id,
                    "pictrs_alias": u.alias,
                    "pictrs_delete_token": u.delete_token,
                    "published": iso(u.published),
                }
            ),
            "person": self.person(person),
        }

    def post_report_view(self, r: Report, viewer: Person | None) -> dict:
        s = self.state
        post = s.posts[r.target_id]
        creator, community = s.persons[post.creator_id], s.communities[post.community_id]
        flags = self._creator_flags(creator, community)
        return _clean(
            {
                "post_report": self._report_row(r, "post"),
                "post": self.post(post),
                "community": self.community(community),
                "creator": self.person(s.persons[r.creator_id]),
                "post_creator": self.person(creator),
                **flags,
                "subscribed": "NotSubscribed",
                "saved": False,
                "read": viewer is not None and viewer.id in post.read_by,
                "hidden": False,
                "creator_blocked": False,
                "unread_comments": 0,
                "counts": self.post_counts(post),
                "resolver": self.person(s.persons[r.resolver_id]) if r.resolver_id else None,
            }
        )

    def comment_report_view(self, r: Report) -> dict:
        s = self.state
        comment = s.comments[r.target_id]
        post = s.posts[comment.post_id]
        creator, community = s.persons[comment.creator_id], s.communities[post.community_id]
        flags = self._creator_flags(creator, community)
        return _clean(
            {
                "comment_report": self._report_row(r, "comment"),
                "comment": self.comment(comment),
                "post": self.post(post),
                "community": self.community(community),
                "creator": self.person(s.persons[r.creator_id]),
                "comment_creator": self.person(creator),
                "counts": self.comment_counts(comment),
                **flags,
                "creator_blocked": False,
                "subscribed": "NotSubscribed",
                "saved": False,
                "resolver": self.person(s.persons[r.resolver_id]) if r.resolver_id else None,
            }
        )

    def _report_row(self, r: Report, kind: str) -> dict:
        common = {
            "id": r.id,
            "creator_id": r.creator_id,
            "reason": r.reason,
            "resolved": r.resolved,
            "resolver_id": r.resolver_id,
            "published": iso(r.published),
            "updated": _ts(r.updated),
        }
        if kind == "post":
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
            {
                **common,
                "comment_id": r.target_id,
                "original_comment_text": r.original_name,
            }
        )

    def private_message_view(self, m: PrivateMessage) -> dict:
        s = self.state
        return {
            "private_message": {
                "id": m.id,
                "creator_id": m.creator_id,
                "recipient_id": m.recipient_id,
                "content": m.content,
                "deleted": m.deleted,
                "read": False,
                "published": iso(m.published),
                "ap_id": m.ap_id,
                "local": True,
            },
            "creator": self.person(s.persons[m.creator_id]),
            "recipient": self.person(s.persons[m.recipient_id]),
        }

    # ---- /site ----
    def local_user(self, p: Person) -> dict:
        return {
            "id": p.local_user_id,
            "person_id": p.id,
            "show_nsfw": p.show_nsfw,
            "theme": "browser",
            "default_sort_type": p.default_sort_type,
            "default_listing_type": p.default_listing_type,
            "interface_language": "browser",
            "show_avatars": True,
            "send_notifications_to_email": False,
            "show_scores": True,
            "show_bot_accounts": p.show_bot_accounts,
            "show_read_posts": p.show_read_posts,
            "email_verified": False,
            "accepted_application": True,
            "open_links_in_new_tab": False,
            "blur_nsfw": True,
            "auto_expand": False,
            "infinite_scroll_enabled": False,
            "admin": p.admin,
            "post_listing_mode": "List",
            "totp_2fa_enabled": False,
            "enable_keyboard_navigation": False,
            "enable_animated_images": True,
            "collapse_bot_comments": False,
        }

    def my_user(self, p: Person) -> dict:
        s = self.state
        languages = p.discussion_languages
        return {
            "local_user_view": {
                "local_user": self.local_user(p),
                "local_user_vote_display_mode": {
                    "local_user_id": p.local_user_id,
                    "score": False,
                    "upvotes": True,
                    "downvotes": True,
                    "upvote_percentage": False,
                },
                "person": self.person(p),
                "counts": self.person_counts(p),
            },
            # `CommunityFollowerView::for_person`: every follower row (pending too) of a
            # community neither deleted nor removed, by title
            "follows": [
                {"community": self.community(c), "follower": self.person(p)}
                for c in sorted(s.communities.values(), key=lambda c: c.title)
                if p.id in c.followers and not (c.deleted or c.removed or c.purged)
            ],
            "moderates": [
                {"community": self.community(c), "moderator": self.person(p)}
                for c in s.communities.values()
                if p.id in c.moderators and not c.purged
            ],
            "community_blocks": [],
            "instance_blocks": [],
            "person_blocks": [],
            "discussion_languages": (
                [lang["id"] for lang in LANGUAGES] if languages is None else list(languages)
            ),
        }

    def site_response(self, viewer: Person | None, published: datetime) -> dict:
        s = self.state
        ts = iso(published)
        local_posts = [p for p in s.posts.values() if p.local and not p.purged]
        response = {
            "site_view": {
                "site": {
                    "id": 1,
                    "name": "Fake Lemmy",
                    "published": ts,
                    "actor_id": f"{self.base_url}/",
                    "last_refreshed_at": ts,
                    "inbox_url": f"{self.base_url}/site_inbox",
                    "public_key": "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
                    "instance_id": 1,
                    **_clean(
                        {
                            "icon": s.site.icon,
                            "banner": s.site.banner,
                            "sidebar": s.site.sidebar,
                            "content_warning": s.site.content_warning,  # on Site in 0.19
                        }
                    ),
                },
                "local_site": {
                    "id": 1,
                    "site_id": 1,
                    "site_setup": True,
                    "enable_downvotes": True,
                    "enable_nsfw": True,
                    "community_creation_admin_only": False,
                    "require_email_verification": False,
                    "private_instance": s.site.private_instance,
                    "default_theme": "browser",
                    "default_post_listing_type": "Local",
                    "hide_modlog_mod_names": True,
                    "application_email_admins": False,
                    "actor_name_max_length": 20,
                    "federation_enabled": s.site.federation_enabled,
                    "captcha_enabled": False,
                    "captcha_difficulty": "medium",
                    "published": ts,
                    "registration_mode": "RequireApplication",
                    "reports_email_admins": False,
                    "federation_signed_fetch": False,
                    "default_post_listing_mode": "List",
                    "default_sort_type": "Active",
                },
                "local_site_rate_limit": self.rate_limit_row(ts),
                "counts": {
                    "site_id": 1,
                    "users": sum(1 for p in s.persons.values() if p.local and not p.purged),
                    "posts": len(local_posts),
                    "comments": sum(1 for c in s.comments.values() if c.local and not c.purged),
                    "communities": sum(
                        1 for c in s.communities.values() if c.local and not c.purged
                    ),
                    "users_active_day": 0,
                    "users_active_week": 0,
                    "users_active_month": 0,
                    "users_active_half_year": 0,
                },
            },
            "admins": [
                self.person_view(p)
                for p in s.persons.values()
                if p.admin and p.local and not p.purged
            ],
            "version": self.version,
            "all_languages": LANGUAGES,
            "discussion_languages": [lang["id"] for lang in LANGUAGES],
            "taglines": [],
            # `CustomEmojiView::get_all`: the site's emojis, by category then id
            "custom_emojis": [
                self.custom_emoji_view(e)
                for e in sorted(s.custom_emojis, key=lambda e: (e.category, e.id))
            ],
            "blocked_urls": [],
        }
        if viewer is not None:
            response["my_user"] = self.my_user(viewer)
        return response

    @staticmethod
    def custom_emoji_view(e: CustomEmoji) -> dict:
        """0.19's `CustomEmojiView`, as `GET /site` lists it."""
        return {
            "custom_emoji": {
                "id": e.id,
                "local_site_id": 1,
                "shortcode": e.shortcode,
                "image_url": e.image_url,
                "alt_text": e.alt_text,
                "category": e.category,
                "published": iso(e.published),
            },
            "keywords": [{"custom_emoji_id": e.id, "keyword": k} for k in e.keywords],
        }

    def rate_limit_row(self, ts: str) -> dict:
        message = self.rate_limits.get("message") or (999999, 1)
        register = self.rate_limits.get("register") or (999999, 1)
        return {
            "local_site_id": 1,
            "message": message[0],
            "message_per_second": message[1],
            "post": 6,
            "post_per_second": 600,
            "register": register[0],
            "register_per_second": register[1],
            "image": 6,
            "image_per_second": 3600,
            "comment": 6,
            "comment_per_second": 600,
            "search": 60,
            "search_per_second": 600,
            "published": ts,
            "import_user_settings": 1,
            "import_user_settings_per_second": 86400,
        }


class CompatViews(Views):
    """0.19's shapes as Lemmy 1.0's v3 layer fills them (api/routes_v3/src/convert.rs,
    1.0.0-beta.1): what 1.0 no longer holds, or chose to hide, is a default, not the
    instance's value. Persons: `banned` false, no `ban_expires`, `instance_id` 0
    (`convert_person`); `is_admin` false in every `PersonView`, the site's admins too
    ("explicitly set to false to hide all admin options from ui": `convert_person_view`);
    `my_user`'s `local_user.admin` false, its follows, moderates and discussion
    languages empty (`convert_local_user`, `convert_my_user`); a comment's
    `banned_from_community` false (`convert_comment_view`); a community's `subscribed`
    from 1.0's follow state (`convert_subscribed_type`); a report's own row all
    defaults and its flags false (handlers.rs `create_*_report_v3`); no custom emojis,
    rate limits all 0 (`get_site_v3`, `dummy_local_site_rate_limit`)."""

    EPOCH = "1970-01-01T00:00:00Z"  # chrono's `DateTime::<Utc>::default()`, serialized

    def person(self, p: Person) -> dict:
        shown = super().person(p)
        shown.pop("ban_expires", None)
        return {**shown, "banned": False, "instance_id": 0}

    def person_view(self, p: Person) -> dict:
        return {**super().person_view(p), "is_admin": False}

    def comment_view(self, c: Comment, viewer: Person | None) -> dict:
        view = super().comment_view(c, viewer)
        return {**view, "banned_from_community": False, "subscribed": "NotSubscribed"}

    def post_view(self, p: Post, viewer: Person | None) -> dict:
        # `convert_post_view`: `hidden` from 1.0's post_actions.hidden_at (0.19's views
        # here never hide), `subscribed` always NotSubscribed
        hidden = viewer is not None and viewer.id in p.hidden_by
        return {**super().post_view(p, viewer), "subscribed": "NotSubscribed", "hidden": hidden}

    def local_user(self, p: Person) -> dict:
        return {
            **super().local_user(p),
            "admin": False,
            "default_sort_type": "Active",
            "default_listing_type": "Local",
            "show_scores": False,
            "auto_expand": False,
            "post_listing_mode": "List",
            "enable_keyboard_navigation": False,
        }

    def my_user(self, p: Person) -> dict:
        return {**super().my_user(p), "moderates": [], "follows": [], "discussion_languages": []}

    def site_response(self, viewer: Person | None, published: datetime) -> dict:
        response = super().site_response(viewer, published)
        site_view = response["site_view"]
        site_view["site"]["instance_id"] = 0
        site_view["local_site"].update(
            id=0, captcha_difficulty="", default_post_listing_type="Local"
        )
        row = site_view["local_site_rate_limit"]
        for name in row:
            if name not in ("published", "updated"):
                row[name] = 0
        row["published"] = iso(now())  # `Utc::now()`
        response["custom_emojis"] = []
        return response

    def _report_flags(self, view: dict) -> dict:
        flags = ("creator_banned_from_community", "creator_is_moderator", "creator_is_admin")
        view.update({name: False for name in flags}, subscribed="NotSubscribed", saved=False)
        view["creator_blocked"] = False
        view.pop("resolver", None)
        return view

    def post_report_view(self, r: Report, viewer: Person | None) -> dict:
        view = self._report_flags(super().post_report_view(r, viewer))
        view.update(read=False, hidden=False, unread_comments=0)
        view["post_report"] = {
            "id": 0,
            "creator_id": 0,
            "post_id": 0,
            "original_post_name": "",
            "reason": "",
            "resolved": False,
            "published": self.EPOCH,
        }
        return view

    def comment_report_view(self, r: Report) -> dict:
        view = self._report_flags(super().comment_report_view(r))
        view["comment_report"] = {
            "id": 0,
            "creator_id": 0,
            "comment_id": 0,
            "original_comment_text": "",
            "reason": "",
            "resolved": False,
            "published": self.EPOCH,
        }
        return view
