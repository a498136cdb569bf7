"""The fake instance's live state: persons, communities, posts, comments, uploads.

Plain dataclasses guarded by one lock (`State.lock`): tests mutate them from their own
thread while the server thread reads them. Objects are never deleted, only flagged
(`purged`, `deleted`), so a test can still inspect what the bot did to them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """Lemmy 0.19's timestamp format: `2026-11-21T10:00:00.123456Z`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Person:
    id: int
    name: str
    local: bool
    instance: str
    published: datetime
    admin: bool = False
    bot_account: bool = False
    password: str | None = None
    local_user_id: int | None = None
    display_name: str | None = None
    avatar: str | None = None
    banner: str | None = None
    bio: str | None = None
    banned: bool = False  # by this instance (0.19: by either, one column)
    ban_expires: datetime | None = None
    ban_reason: str | None = None
    # 1.0: a remote person's ban by their home instance, an `instance_actions` row of its
    # own (`FakeLemmy.ban_at_home`); views show it with this one's (`creator_local_home_banned`)
    home_banned: bool = False
    home_ban_expires: datetime | None = None
    # 1.0: bans by a third instance (a remote community's, `FakeLemmy.ban_by_instance`):
    # its domain -> the ban's end; post and comment views show it for that instance's
    # communities alone (`creator_community_instance_banned`)
    instance_bans: dict[str, datetime | None] = field(default_factory=dict)
    deleted: bool = False
    purged: bool = False
    updated: datetime | None = None
    # local-user settings (what /site shows in my_user and what filters listings)
    show_nsfw: bool = False
    show_bot_accounts: bool = True
    show_read_posts: bool = True
    default_listing_type: str = "Local"
    default_sort_type: str = "Active"
    discussion_languages: list[int] | None = None  # None: every language
    instance_id: int = 1
    # settings Lemmy 1.0 added (read by the v4 API only; 0.19's defaults otherwise)
    default_comment_sort_type: str = "Hot"
    default_post_time_range_seconds: int | None = None  # None: the site's (0: no limit)
    default_items_per_page: int = 20
    hide_posts_with_media: bool = False
    auto_mark_fetched_posts_as_read: bool = False
    private_messages_enabled: bool = True


@dataclass
class Community:
    id: int
    name: str
    title: str
    nsfw: bool
    local: bool
    instance: str
    published: datetime
    moderators: list[int] = field(default_factory=list)
    description: str | None = None
    icon: str | None = None
    banner: str | None = None
    removed: bool = False
    deleted: bool = False
    purged: bool = False
    instance_id: int = 1
    visibility: str = "public"  # 1.0: public, unlisted, local_only_public/_private, private
    hidden: bool = False  # 0.19's `community.hidden` (an admin hid it): its followers' only
    # person id -> follow state ("accepted", "pending", "approval_required": a private
    # community's follow a moderator has not approved yet, 1.0); 0.19: a
    # `community_follower` row, `pending` unless "accepted"
    followers: dict[int, str] = field(default_factory=dict)


@dataclass
class Report:
    id: int
    kind: str  # "post" | "comment"
    target_id: int
    creator_id: int
    reason: str
    published: datetime
    original_name: str = ""  # post name or comment text at report time
    original_url: str | None = None
    original_body: str | None = None
    resolved: bool = False
    resolver_id: int | None = None
    updated: datetime | None = None
    violates_instance_rules: bool = False  # 1.0: for the admins only, not the mods
    conclusion: str | None = None  # 1.0: the resolver's note


@dataclass
class Post:
    id: int
    community_id: int
    creator_id: int
    name: str
    published: datetime
    url: str | None = None
    thumbnail_url: str | None = None
    body: str | None = None
    nsfw: bool = False
    language_id: int = 0
    url_content_type: str | None = None
    embed_title: str | None = None
    embed_description: str | None = None
    embed_video_url: str | None = None
    alt_text: str | None = None
    local: bool = True
    ap_id: str = ""
    updated: datetime | None = None
    removed: bool = False
    deleted: bool = False
    locked: bool = False
    purged: bool = False
    featured_local: bool = False
    featured_community: bool = False
    score: int = 1
    # 1.0: `scheduled_publish_time_at`, until Lemmy's 10-minute task publishes it (unset)
    scheduled: datetime | None = None
    read_by: set[int] = field(default_factory=set)  # person ids that have read it
    read_at: dict[int, datetime] = field(default_factory=dict)  # when (the v4 API marks it)
    hidden_by: set[int] = field(default_factory=set)  # person ids that hid it (1.0)
    reports: list[Report] = field(default_factory=list)


@dataclass
class Comment:
    id: int
    post_id: int
    creator_id: int
    content: str
    published: datetime
    parent_id: int | None = None
    path: str = "0"
    language_id: int = 0
    local: bool = True
    ap_id: str = ""
    updated: datetime | None = None
    removed: bool = False
    deleted: bool = False
    purged: bool = False
    distinguished: bool = False
    score: int = 1
    reports: list[Report] = field(default_factory=list)


@dataclass
class Upload:
    """A pict-rs alias. `person_id` None: a thumbnail Lemmy generated (not listed)."""

    alias: str
    sha256: str
    content_type: str
    delete_token: str
    published: datetime
    person_id: int | None
    url: str
    listed: bool = True  # has a row in Lemmy's local_image table (list_all_media)
    deleted: bool = False  # gone from pict-rs (deleted or purged)
    thumbnail_for_post_id: int | None = None  # 1.0: a thumbnail Lemmy stored for this post
    proxy: str | None = None  # the remote URL pict-rs cached under this alias (?proxy=)


@dataclass
class PrivateMessage:
    id: int
    creator_id: int
    recipient_id: int
    content: str
    published: datetime
    ap_id: str = ""
    removed: bool = False  # 1.0: a ban with remove_or_restore_data removes the sender's
    deleted: bool = False  # its sender deleted it (0.19's list leaves it out)


@dataclass
class CommunityBan:
    community_id: int
    person_id: int
    expires: datetime | None
    reason: str | None


@dataclass
class ModAction:
    """One modlog line: what a moderator or admin did, to what, why."""

    action: str  # remove_post, purge_person, ban, ...
    mod_id: int
    target_id: int
    reason: str | None
    when: datetime
    detail: dict = field(default_factory=dict)


@dataclass
class Notification:
    """A Lemmy 1.0 inbox entry: a private message, or a moderator's action on the person."""

    id: int
    recipient_id: int
    kind: str  # "private_message" | "mod_action" (1.0's NotificationType)
    creator_id: int
    published: datetime
    private_message_id: int | None = None
    modlog_index: int | None = None  # index into State.modlog
    read: bool = False


@dataclass
class CustomEmoji:
    """A site's custom emoji (an admin adds it): an image, shown where `:shortcode:` is
    written as the markdown image `![alt](image_url "emoji shortcode")`."""

    id: int
    shortcode: str
    image_url: str
    published: datetime
    alt_text: str = ""
    category: str = ""
    keywords: list[str] = field(default_factory=list)


@dataclass
class SiteSettings:
    """Instance settings that change what the API shows (1.0's `local_site`, live)."""

    content_warning: str | None = None  # set: anonymous visitors see NSFW, thumbnails kept
    image_mode: str = "proxy_all_images"  # 1.0's default; or store_link_previews, none
    image_max_thumbnail_size: int = 512
    image_proxy_bypass_domains: list[str] = field(default_factory=list)
    default_post_listing_type: str = "Local"
    default_post_sort_type: str = "Active"
    default_comment_sort_type: str = "Hot"
    default_post_time_range_seconds: int | None = None
    default_items_per_page: int = 20
    private_instance: bool = False
    # 1.0 serves images to no one without a login only when the instance is private and
    # does not federate (``is_auth_required``); 0.19 whenever it is private
    federation_enabled: bool = True
    icon: str | None = None  # the site's own images (an admin sets them)
    banner: str | None = None
    sidebar: str | None = None  # Markdown (`FakeLemmy.set_sidebar`: 1.0 rewrites its images)


class State:
    """Every table of the fake instance. Hold `lock` while reading several objects."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.persons: dict[int, Person] = {}
        self.communities: dict[int, Community] = {}
        self.posts: dict[int, Post] = {}
        self.comments: dict[int, Comment] = {}
        self.uploads: dict[str, Upload] = {}  # alias -> upload
        self.files: dict[str, bytes] = {}  # sha256 -> bytes (pict-rs dedups by hash)
        self.proxied: dict[str, str | None] = {}  # remote url Lemmy knows -> cached sha256
        # sha256 -> when pict-rs stored the file: /internal/hashes lists newest first
        self.file_created: dict[str, datetime] = {}
        self.reports: list[Report] = []
        self.private_messages: list[PrivateMessage] = []
        self.community_bans: dict[tuple[int, int], CommunityBan] = {}
        self.modlog: list[ModAction] = []
        self.purged_images: list[str] = []
        self.tokens: dict[str, int] = {}  # jwt -> person id
        self.token_expires: dict[str, datetime] = {}  # jwt -> expiry (1.0; absent: never)
        self.notifications: list[Notification] = []
        self.site = SiteSettings()
        self.custom_emojis: list[CustomEmoji] = []  # 0.19: GET /site; 1.0: /custom_emoji/list
        self.instances: dict[str, int] = {}
        self.instance_published: dict[int, datetime] = {}  # id -> when first known
        self._ids: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        with self.lock:
            self._ids[table] = self._ids.get(table, 0) + 1
            return self._ids[table]

    def instance_id(self, domain: str) -> int:
        with self.lock:
            if domain not in self.instances:
                self.instances[domain] = len(self.instances) + 1
                self.instance_published[self.instances[domain]] = now()
            return self.instances[domain]

    def issue_token(self, person_id: int, expires: datetime | None = None) -> str:
        token = "eyJ" + secrets.token_urlsafe(24)  # shaped like a JWT, opaque like one
        with self.lock:
            self.tokens[token] = person_id
            if expires is not None:
                self.token_expires[token] = expires
        return token

    def store_file(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with self.lock:
            self.files[digest] = data
            self.file_created.setdefault(digest, now())
        return digest

    def drop_file(self, sha256: str) -> None:
        """The stored bytes go (the last alias of them was purged or deleted)."""
        with self.lock:
            self.files.pop(sha256, None)
            self.file_created.pop(sha256, None)
            for url, digest in self.proxied.items():
                if digest == sha256:
                    self.proxied[url] = None

    def aliases_of(self, sha256: str) -> list[str]:
        return [u.alias for u in self.uploads.values() if u.sha256 == sha256 and not u.deleted]

    def purge_file(self, sha256: str) -> list[str]:
        """pict-rs purge: the bytes and every alias pointing at them go."""
        with self.lock:
            aliases = self.aliases_of(sha256)
            for alias in aliases:
                self.uploads[alias].deleted = True
                self.purged_images.append(alias)
            self.drop_file(sha256)
            return aliases

    def delete_alias(self, alias: str) -> bool:
        """pict-rs delete: one alias goes; the bytes stay while another alias has them."""
        with self.lock:
            upload = self.uploads.get(alias)
            if upload is None or upload.deleted:
                return False
            upload.deleted = True
            if not self.aliases_of(upload.sha256):
                self.drop_file(upload.sha256)
            return True

    def alias_of_proxy(self, url: str) -> str | None:
        """The alias pict-rs cached the remote ``url`` under, while it has it."""
        with self.lock:
            for upload in self.uploads.values():
                if upload.proxy == url and not upload.deleted:
                    return upload.alias
        return None

    def person_by_name(self, name: str) -> Person | None:
        with self.lock:
            for person in self.persons.values():
                if person.name == name and person.local and not person.purged:
                    return person
            for person in self.persons.values():
                if person.name == name and not person.purged:
                    return person
        return None
