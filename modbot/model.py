"""The records that flow between the stages: typed, frozen, and free of Lemmy's JSON.

    lemmy/  ──Item, SiteInfo, Person, Page──▶ source ──Item──▶ images ──ImageRef──▶ fetch …

Only ``modbot.lemmy`` reads Lemmy's answers; it hands out these records, whatever the API
version. A field Lemmy did not send (or sent as null) is None, and a rule never matches
on an unknown fact. An item Lemmy sent malformed is still an ``Item``: ``problem`` says
what was wrong and nothing else about it is known (no author, no community, no content).

Every record that crosses a stage lives here, so what a stage takes and gives reads in
one file; each record is small.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ALREADY_DONE",
    "FILE_KINDS",
    "HIDDEN_COMMUNITY",
    "PROFILE_KINDS",
    "REPEAT",
    "SIGNIFICANCE",
    "TEXT_IMAGE_KINDS",
    "VIDEO_EXTENSIONS",
    "VIDEO_STILL_QUERY",
    "Account",
    "ActionOutcome",
    "CheckedCopy",
    "Community",
    "CycleStats",
    "Decision",
    "ImageRef",
    "Item",
    "ItemImage",
    "ItemKind",
    "Location",
    "Message",
    "Page",
    "Person",
    "PlannedAction",
    "RecordedImage",
    "RecordedItem",
    "SiteInfo",
    "StorePage",
    "StoredFile",
    "Target",
    "Upload",
    "action_outcome",
    "extension",
    "parse_time",
    "post_version",
    "utc_iso",
    "version_before_thumbnails",
]

ItemKind = Literal[
    "post",
    "comment",
    "upload",
    "file",  # one in pict-rs' whole store
    # a profile or community image (the item is the image; its id the person's, the
    # community's, or "site"; its `updated` the image's URL, so a new URL is a new item)
    "avatar",
    "banner",
    "community_icon",
    "community_banner",
    "site_icon",
    "site_banner",
    # an image written (Markdown) into a person's bio, a community's description (1.0:
    # its sidebar) or the site's sidebar: one item per image, its id the owner's id (or
    # "site") and a digest of the URL, its `updated` the URL
    "bio",
    "community_description",
    "site_sidebar",
]
Location = Literal["post_url", "thumbnail", "body", "comment", "upload", "store", "profile"]

#: The item kinds that are a file themselves: an upload, or a file of pict-rs' store.
FILE_KINDS: tuple[str, ...] = ("upload", "file")

#: The item kinds that are an image in a person's, a community's or the site's text.
TEXT_IMAGE_KINDS: tuple[str, ...] = ("bio", "community_description", "site_sidebar")

#: The item kinds that are a person's, a community's or the site's own image (one of
#: their texts' images too).
PROFILE_KINDS: tuple[str, ...] = (
    "avatar",
    "banner",
    "community_icon",
    "community_banner",
    "site_icon",
    "site_banner",
    *TEXT_IMAGE_KINDS,
)

#: When one image turns up in several places of an item, the first of these wins.
SIGNIFICANCE: tuple[str, ...] = (
    "post_url",
    "body",
    "comment",
    "thumbnail",
    "upload",
    "store",
    "profile",
)

VIDEO_EXTENSIONS = frozenset([".mp4", ".m4v", ".webm", ".mov", ".mkv", ".avi", ".ogv"])
#: pict-rs renders a JPEG still of a video (and a resized copy of an image) this way
VIDEO_STILL_QUERY = "format=jpg&thumbnail=1024"

T = TypeVar("T")


# --- times --------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """Lemmy's timestamps (``2026-11-21T10:00:00.123456Z``; some have no zone) as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# A post's "seen" mark (``Item.updated``) holds its thumbnail beside its time: Lemmy
# fetches a federated post's link metadata in a background task after storing the post
# (0.19's and 1.0's ``generate_post_link_metadata``), and sets ``thumbnail_url`` without
# touching ``updated``. A post read in between is looked at again when its thumbnail comes.
THUMBNAIL_MARK = " thumbnail:"


def post_version(stamp: str, thumbnail: str | None) -> str:
    """A post's ``Item.updated``: Lemmy's ``updated`` (else ``published``), as sent, and a
    digest of its thumbnail's URL (a URL may be long; "none" without one)."""
    digest = hashlib.sha256(thumbnail.encode()).hexdigest()[:16] if thumbnail else "none"
    return f"{stamp}{THUMBNAIL_MARK}{digest}"


def version_before_thumbnails(updated: str) -> str | None:
    """The mark a modbot before ``post_version`` kept for the post whose mark is now
    ``updated`` (its time alone); None for a mark that never held a thumbnail's."""
    stamp, mark, _ = updated.partition(THUMBNAIL_MARK)
    return stamp if mark else None


def utc_iso(moment: datetime | None = None) -> str:
    """``2026-11-21T10:00:00Z``: the one timestamp format of the audit records."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- people, communities, items ------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A Lemmy account: the author of an item, or a person read by id."""

    id: int
    name: str | None = None
    actor_id: str | None = None  # "https://lemmy.example/u/someone"
    local: bool | None = None
    bot_account: bool | None = None
    published: datetime | None = None  # when the account was made
    banned: bool = False
    ban_expires: datetime | None = None  # None: permanent (when banned)
    avatar: str | None = None  # the profile images' URLs, as Lemmy sends them
    banner: str | None = None
    bio: str | None = None  # Markdown: its images are items of their own


# 0.19: a community an admin hid (``community/hide``) that the bot does not follow:
# ``post/list`` and ``comment/list`` list its posts and comments to its followers only,
# admins included (0.19.9-0.19.20 ``post_view.rs``, ``comment_view.rs``)
HIDDEN_COMMUNITY = "hidden"


@dataclass(frozen=True)
class Community:
    id: int
    name: str | None = None
    actor_id: str | None = None  # "https://lemmy.example/c/pics"
    nsfw: bool | None = None
    local: bool | None = None
    icon: str | None = None  # the community's images' URLs, as Lemmy sends them
    banner: str | None = None
    description: str | None = None  # Markdown (1.0: its sidebar): images are items
    # 1.0's CommunityVisibility, snake_case ("public", "unlisted", "local_only_public",
    # "local_only_private", "private"); 0.19: ``HIDDEN_COMMUNITY`` in a community/list
    # page, else None (not said)
    visibility: str | None = None

    @property
    def ref(self) -> str:
        """``name@host`` (the host of its actor id), or the bare name."""
        host = urlsplit(self.actor_id or "").hostname or ""
        name = self.name or ""
        return f"{name}@{host}" if host else name


@dataclass(frozen=True)
class Upload:
    """A file in this instance's pict-rs, uploaded by a local user."""

    alias: str  # pict-rs' name of it: <uuid>.<ext>
    delete_token: str | None = field(default=None, repr=False)
    # where the instance serves it; None: /pictrs/image/<alias> (0.19; 1.0: /api/v4/image/)
    path: str | None = None


@dataclass(frozen=True)
class StoredFile:
    """One original file in the instance's pict-rs (``GET /internal/hashes``): an upload,
    a thumbnail Lemmy made, an avatar, or a remote image pict-rs cached; nothing says
    which but Lemmy's own records."""

    hex: str  # pict-rs' hash: sha256 of the stored bytes, then size and a format byte
    aliases: tuple[str, ...]  # every name of it (none: deleted while being listed)
    content_type: str | None = None  # as stored: image/jpeg, video/webm, ...
    media: str | None = None  # "Image" | "Animation" | "Video" (pict-rs' format)
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    created_at: datetime | None = None  # when pict-rs made its details (~ stored)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes pict-rs stores and serves (what modbot downloads)."""
        return self.hex[:64]

    @property
    def size(self) -> int | None:
        return int(self.hex[64:76], 16) if len(self.hex) >= 76 else None


@dataclass(frozen=True)
class StorePage:
    """One page of ``/internal/hashes``, newest first. ``current``: the slug the page
    starts at (pict-rs restarts at the newest page when asked for a slug it no longer
    has: then it is not the slug asked for); ``next``: the next page's slug."""

    files: list[StoredFile]
    current: str | None = None
    next: str | None = None


@dataclass(frozen=True)
class Item:
    """One post, comment or upload, as the stages after the source see it.

    A malformed item (``problem`` set) holds nothing but what identifies it: its ``id`` is
    Lemmy's when that could be read, else ``malformed-<hash>`` of what Lemmy sent, and
    ``updated`` is that hash, so the same broken answer is recorded once and a repaired
    one is looked at.
    """

    kind: ItemKind
    id: int | str  # an upload's id is its pict-rs alias
    published: datetime | None
    # Lemmy's `updated`, else `published`, as sent (a post's with its thumbnail's digest:
    # ``post_version``): what "seen" compares. A federated edit sent without `updated`
    # changes nothing Lemmy keeps unless its `published` is later (0.19 and 1.0's
    # insert_apub update only when updated-or-published is later than the row's), and
    # then this changes with it: no edit Lemmy applies goes unseen.
    updated: str
    problem: str | None = None  # what is wrong with a malformed item, in words
    author: Person | None = None
    community: Community | None = None  # posts and comments
    author_is_moderator: bool = False  # moderates the item's community
    author_is_admin: bool = False
    author_banned_from_community: bool = False
    local: bool | None = None  # created on this instance
    featured: bool = False  # pinned: listed first, whatever its age
    removed: bool = False
    # its author deleted it: Lemmy keeps it (admins still see its content); 0.19.4+ and
    # 1.0 refuse to remove a deleted comment (its text would show in the mod log)
    deleted: bool = False
    comment_count: int | None = None  # a post's
    # when a post's newest comment was posted, None when it never had one. Lemmy's count
    # leaves out deleted and removed comments, this time keeps them: a post counting 0
    # may still hold comments (and their images), and one never commented holds none
    newest_comment: datetime | None = None
    # what images.py looks at
    link: str | None = None  # a post's URL
    link_type: str | None = None  # its content type, as Lemmy saw it
    thumbnail: str | None = None  # a post's thumbnail
    text: str = ""  # a post's body, a comment's content (Markdown)
    upload: Upload | None = None
    # a stored file (kind "file"): the posts and comments the bot saw showing it, as
    # (kind, id, author id), and who ``author`` is ("uploader", or the creator of the
    # first item showing it when the file has no known uploader)
    shown_by: tuple[tuple[str, int, int | None], ...] = ()
    author_role: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing. ``sent``: how many entries Lemmy sent (a page of fewer than
    asked for is the last; ``items`` may hold fewer, a repeated entry counted once)."""

    items: list[T]
    sent: int
    next: str | None = None  # the cursor of the next page, where the listing has one
    # The oldest time (featured posts left out) of every entry Lemmy sent, where ``items``
    # keep fewer (0.19's ModeratorView page kept to one community): where paging stands.
    oldest: datetime | None = None


@dataclass(frozen=True)
class Message:
    """A private message, as far as modbot reads its own sent ones."""

    content: str
    published: datetime | None
    recipient_id: int | None = None  # whom it went to: each admin has a copy of a notice


@dataclass(frozen=True)
class Account:
    """The bot's own account, from the session."""

    person_id: int | None
    admin: bool
    show_nsfw: bool
    show_bot_accounts: bool
    show_read_posts: bool
    discussion_languages: tuple[int, ...] = ()
    # banned on the site: 1.0 lets a banned account log in and read, and refuses each
    # action (site_ban); 0.19 refuses its login
    banned: bool = False
    # marked a bot account: 1.0 leaves its private messages out of the inbox of a
    # reader who hides bot accounts (an admin reading the notices)
    bot_account: bool = False


@dataclass(frozen=True)
class SiteInfo:
    """What the bot needs to know of the instance and of its own session."""

    version: str = ""
    public_url: str | None = None  # the site's actor id: links in content use it
    admin_ids: frozenset[int] = frozenset()
    account: Account | None = None  # None: Lemmy answers as to an anonymous visitor
    all_languages: tuple[int, ...] = ()
    custom_emoji_urls: frozenset[str] = frozenset()
    posts: int = 0
    comments: int = 0
    icon: str | None = None  # the site's own images' URLs
    banner: str | None = None
    sidebar: str | None = None  # Markdown: its images are items of their own


# --- images ----------------------------------------------------------------------------------


def extension(path: str) -> str:
    """``.jpg`` of ``/a/b.JPG``; empty when the last segment has no dot."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


@dataclass(frozen=True)
class ImageRef:
    """One image of an item.

    ``url``: as written in the item (what the audit records and a moderator clicks).
    ``original_url``: the remote original when ``url`` is the instance's own
    ``image_proxy`` URL (another host's proxy-looking URL is fetched as written).
    ``alias``: the pict-rs alias when the image is a local upload.
    ``cached_url``: the instance's own copy of a post link's image, when it has one: the
    post's thumbnail in its pict-rs (``cached_alias``) or behind its image proxy.
    """

    url: str
    location: Location
    alias: str | None = None
    original_url: str | None = None
    cached_url: str | None = None
    cached_alias: str | None = None

    @property
    def video_still(self) -> bool:
        """A local video: fetched and classified as the one still pict-rs renders of it
        (its first frame)."""
        return bool(self.alias) and extension(self.alias or "") in VIDEO_EXTENSIONS

    @property
    def fetch_urls(self) -> tuple[str, ...]:
        """URLs to try in order: the original first, then the instance's copies as a
        fallback (the proxy, the cached thumbnail: the instance may still serve what
        the remote has taken down, or shows the bot something else than people). A
        local video upload is fetched as the still pict-rs renders of it: videos are
        not images."""
        if self.video_still:
            parts = urlsplit(self.original_url or self.url)
            return (urlunsplit(parts._replace(query=VIDEO_STILL_QUERY, fragment="")),)
        urls: tuple[str, ...] = (self.original_url, self.url) if self.original_url else (self.url,)
        if self.cached_url and self.cached_url not in urls:
            urls += (self.cached_url,)
        return urls


@dataclass(frozen=True)
class CheckedCopy:
    """The instance's copy of an image that was checked because the original failed:
    where it came from, and why the original was not used (``FetchSkipped.reason`` and
    its words)."""

    url: str
    original_failed: str
    detail: str = ""

    def note(self) -> str:
        """What the decision record says about it."""
        why = f"{self.original_failed}: {self.detail}" if self.detail else self.original_failed
        return f"checked the instance's cached copy: {self.url} (the original failed: {why})"


@dataclass
class ItemImage:
    """One image of an item on its way through the cycle (``ref`` None: no image, the
    item itself could not be read; ``skipped`` says why)."""

    ref: ImageRef | None
    sha256: str | None = None
    data: bytes | None = None
    verdict: dict[str, Any] | None = None  # Verdict.to_dict(), as cached
    hashes: dict[str, str] = field(default_factory=dict)  # those the hash lists need
    # kind -> why: a kind the lists need whose hash could not be taken of this image
    hashes_not_taken: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None  # reason code
    skipped_detail: str = ""
    copy: CheckedCopy | None = None  # the original failed: the instance's copy was checked
    # the server announced more bytes than it sent, and what came is a whole image
    # (modbot.fetch.Fetched.ended_early): judged, and said
    ended_early: str | None = None


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedAction:
    """One action a rule decided. `kind` is a key of the action table
    (``modbot.actions.kinds.ACTIONS``); `reason` has its placeholders filled; `params`
    (ban only): scope ("site" | "community"), duration_seconds (None = permanent),
    remove_data, community."""

    kind: str
    reason: str | None
    params: dict[str, Any]
    rule: str


@dataclass(frozen=True)
class Target:
    """What an item's actions act on."""

    kind: str  # post | comment | upload
    id: int | str
    url: str | None = ""
    author_id: int | None = None
    author_name: str = ""
    author_is_admin: bool = False
    community_id: int | None = None
    image_alias: str | None = None  # local pict-rs alias of the image
    image_url: str = ""
    image_original_url: str | None = None  # behind an image_proxy URL
    image_sha256: str | None = None
    delete_token: str | None = None  # an upload's pict-rs delete token
    file_exempt: str | None = None  # why the file must be spared: an exempt item shows it
    # why the image's uploader must be spared (a `ban: {uploader: true}`): exempt.users
    uploader_exempt: str | None = None
    # a stored file: the items showing it, (kind, id, author id); who the author is
    shown_by: tuple[tuple[str, int, int | None], ...] = ()
    author_role: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class ActionOutcome:
    """One action of a decision as the audit records it."""

    action: str
    status: str  # planned | done | failed | skipped | covered | not_possible | queued
    detail: str = ""
    retry: bool = False  # failed for a passing reason: look at the item again next cycle
    valve: bool = False  # held back by the safety valve
    done_at: float | None = None  # when it was sent (done), as the store recorded it

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "status": self.status, "detail": self.detail}
        if self.done_at is not None:
            out["done_at"] = utc_iso(datetime.fromtimestamp(self.done_at, UTC))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionOutcome:
        done_at = parse_time(data.get("done_at"))
        return cls(
            data["action"],
            data["status"],
            data.get("detail", ""),
            done_at=None if done_at is None else done_at.timestamp(),
        )


ALREADY_DONE = "already_done"
REPEAT = "repeat"
# what the record's `skipped` detail starts with: the report's status for it
_SKIPPED_AS = (
    ("already done", ALREADY_DONE),
    # the same action as another decision of the run, counted (planned, done...) there
    ("already planned", REPEAT),  # a dry run's, for another item
    ("already decided for another image", REPEAT),  # for another image of the item
)


def action_outcome(action: Mapping[str, Any]) -> str:
    """An action's status as a report counts and shows it, and a run's summary line, so
    that no admin reads as an action the bot did not take: ``already_done`` for one not
    sent because it was done before (the person banned already, the post removed: the
    record's ``skipped`` "already done: ..."), ``repeat`` for the same action as another
    decision of the run ("already planned: ...", "already decided for another image of
    this item"), counted there; else the recorded status."""
    status = str(action.get("status"))
    if status == "skipped":
        detail = str(action.get("detail") or "")
        for start, outcome in _SKIPPED_AS:
            if detail.startswith(start):
                return outcome
    return status


# --- a cycle ----------------------------------------------------------------------------------


@dataclass
class CycleStats:
    """What one poll or sweep did (the daemon logs ``summary()`` once a cycle)."""

    items_seen: int = 0
    images_found: int = 0
    images_classified: int = 0
    cache_hits: int = 0
    not_downloaded: int = 0  # of those, known files not downloaded again
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    actions: Counter[str] = field(default_factory=Counter)  # by "kind:status" (as recorded)
    # the same by "kind:outcome" as a report says it (``action_outcome``): the summary's
    outcomes: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)  # images a label fired on, by label
    decisions: int = 0
    requests: int = 0  # Lemmy API requests (logins and retries included)
    # posts whose comments a sweep could not read, by why: (how many, the first ids)
    comments_not_read: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    # the most memory held at once during the cycle, and the budget: (peak, total) bytes
    decode_memory: tuple[int, int] = (0, 0)  # decoding images (classifier.decode_memory)
    download_memory: tuple[int, int] = (0, 0)  # downloaded bodies (fetch.max_bytes_held)

    def not_read_lines(self) -> list[str]:
        """ "comments of N posts not read (why): posts ...", one a reason."""
        lines = []
        for why, (count, ids) in sorted(self.comments_not_read.items()):
            named = ", ".join(map(str, ids)) + (", ..." if count > len(ids) else "")
            lines.append(
                f"comments of {count} post{'s' if count != 1 else ''} not read ({why}): "
                f"post{'s' if len(ids) != 1 else ''} {named}"
            )
        return lines

    def summary(self) -> str:
        parts = [
            f"{self.items_seen} items",
            f"{self.images_found} images",
            f"{self.images_classified} classified",
            f"{self.cache_hits} from cache",
        ]
        if self.not_downloaded:
            parts[-1] += f" ({self.not_downloaded} not downloaded: known files)"
        if self.skipped:
            parts.append(
                "skipped " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
            )
        parts += self.not_read_lines()
        said = self.outcomes or self.actions  # stats counted by hand: as recorded
        if said:
            parts.append("actions " + ", ".join(f"{k} {v}" for k, v in sorted(said.items())))
        parts.append(f"{self.requests} requests")
        memory = [
            f"{what} {_mb(peak)} of {_mb(total)}"
            for what, (peak, total) in (
                ("decoding", self.decode_memory),
                ("downloads", self.download_memory),
            )
            if total
        ]
        if memory:
            parts.append("memory peak: " + ", ".join(memory))
        return "; ".join(parts)


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n < 1e9 else f"{n / 1e9:.1f} GB"


# --- the audit record -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedItem:
    """The item a decision is about, as the audit names it."""

    kind: str
    id: int | str
    url: str | None = None  # the post's or comment's link on the instance
    community: str | None = None  # "pics@lemmy.example"
    community_nsfw: bool | None = None
    author: str | None = None  # the author's actor id
    author_id: int | None = None
    # What the rules read besides the above, so `modbot report` can decide the item again
    # from its record (``modbot.modes.report_record``). Records older than these fields
    # lack them (None: unknown, and a rule that needs them does not match).
    published: str | None = None  # when the item was made (utc_iso)
    local: bool | None = None  # made on this instance
    community_id: int | None = None
    community_local: bool | None = None
    author_local: bool | None = None
    author_bot: bool | None = None
    author_published: str | None = None  # when the author's account was made (utc_iso)
    author_is_moderator: bool | None = None  # moderates the item's community
    author_is_admin: bool | None = None  # as Lemmy said in the item (not the site's list)
    # a stored file (kind "file"): the items showing it, [kind, id, author id], and who
    # the author is (``Item.shown_by``, ``Item.author_role``)
    shown_by: list[list[Any]] | None = None
    author_role: str | None = None
    # the item as the bot looked at it (``Item.updated``: an edit, a new thumbnail
    # changes it): which of an item's decisions one look made (``modbot report``)
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "id": self.id,
            "url": self.url,
            "community": self.community,
            "community_nsfw": self.community_nsfw,
            "author": self.author,
            "author_id": self.author_id,
        }
        for name in _ITEM_FACTS:  # only those known: an upload has no community
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


_ITEM_FACTS = (
    "published",
    "local",
    "community_id",
    "community_local",
    "author_local",
    "author_bot",
    "author_published",
    "author_is_moderator",
    "author_is_admin",
    "shown_by",
    "author_role",
    "version",
)


@dataclass(frozen=True)
class RecordedImage:
    url: str
    location: str
    sha256: str | None = None
    alias: str | None = None
    # Every hash taken of the image, kind -> hex (``modbot.hashes.HASH_KINDS``): those
    # the configured lists and feeds need, what an admin copies into a list or confirms.
    hashes: dict[str, str] = field(default_factory=dict)
    # A kind the lists and feeds need whose hash could not be taken of the image, kind ->
    # why (its code failed on the file, the decode budget refused it): the admin sees
    # why no list of that kind could match it. Only in the record when there is one.
    hashes_not_taken: dict[str, str] = field(default_factory=dict)
    # when the original failed and the instance's copy was checked: that copy's URL, and
    # the record's sentence about it ("checked the instance's cached copy: URL (...)")
    checked_url: str | None = None
    checked_copy: str | None = None
    # and why the original failed, as rules see it (a report from the record decides
    # `fetch_failed:` rules again from these): the reason code and its words
    original_failed: str | None = None
    original_failed_detail: str | None = None
    original_url: str | None = None  # the remote original behind an image_proxy URL
    # What of it was checked when not the whole: "first_frame" for a local video (the
    # one still pict-rs renders of it; pict-rs has no way to ask for another frame)
    checked: str | None = None
    # the server announced more bytes than it sent and what came is a whole image, which
    # was judged (a lying Content-Length hides nothing): the fetcher's words
    ended_early: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url,
            "location": self.location,
            "sha256": self.sha256,
            "alias": self.alias,
            "hashes": dict(self.hashes),
        }
        if self.hashes_not_taken:
            out["hashes_not_taken"] = dict(self.hashes_not_taken)
        if self.checked_url is not None:
            out["checked_url"] = self.checked_url
            out["checked_copy"] = self.checked_copy
            out["original_failed"] = self.original_failed
            out["original_failed_detail"] = self.original_failed_detail
        if self.original_url is not None:
            out["original_url"] = self.original_url
        if self.checked is not None:
            out["checked"] = self.checked
        if self.ended_early is not None:
            out["ended_early"] = self.ended_early
        return out


@dataclass
class Decision:
    """The audit record of one image of one item (the shape is in docs/ARCHITECTURE.md),
    filled in as the image goes through the stages. ``to_dict()`` is the JSON the store
    keeps and reports are made of; ``from_dict()`` reads one back (the journal's)."""

    run_id: str
    decided_at: str
    dry_run: bool
    item: RecordedItem
    image: RecordedImage | None
    scores: dict[str, float] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    model: str | None = None
    random_weights: bool | None = None
    concept_version: str | None = None
    unreadable: str | None = None
    hash_match: dict[str, str] | None = None
    rule: str | None = None
    actions: list[ActionOutcome] = field(default_factory=list)
    skipped: str | None = None
    skipped_detail: str = ""  # in the record when there is one
    decided: bool = False  # the rules ran: `exempt` and `matched` are in the record
    exempt: str | None = None
    matched: list[dict[str, Any]] = field(default_factory=list)
    resumed_by: str | None = None  # in the record when a later run finished its actions

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "decided_at": self.decided_at,
            "dry_run": self.dry_run,
            "item": self.item.to_dict(),
            "image": None if self.image is None else self.image.to_dict(),
            "scores": dict(self.scores),
            "labels": list(self.labels),
            "model": self.model,
            "random_weights": self.random_weights,
            "concept_version": self.concept_version,
            "unreadable": self.unreadable,
            "hash_match": self.hash_match,
            "rule": self.rule,
            "actions": [a.as_dict() for a in self.actions],
            "skipped": self.skipped,
        }
        if self.skipped_detail:
            out["skipped_detail"] = self.skipped_detail
        if self.decided:
            out["exempt"] = self.exempt
            out["matched"] = list(self.matched)
        if self.resumed_by is not None:
            out["resumed_by"] = self.resumed_by
        return out

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Decision:
        item, image = record["item"], record.get("image")
        return cls(
            run_id=record["run_id"],
            decided_at=record["decided_at"],
            dry_run=record["dry_run"],
            item=RecordedItem(**item),
            image=None if image is None else RecordedImage(**image),
            scores=dict(record.get("scores") or {}),
            labels=list(record.get("labels") or []),
            model=record.get("model"),
            random_weights=record.get("random_weights"),
            concept_version=record.get("concept_version"),
            unreadable=record.get("unreadable"),
            hash_match=record.get("hash_match"),
            rule=record.get("rule"),
            actions=[ActionOutcome.from_dict(a) for a in record.get("actions") or []],
            skipped=record.get("skipped"),
            skipped_detail=record.get("skipped_detail") or "",
            decided="matched" in record,
            exempt=record.get("exempt"),
            matched=list(record.get("matched") or []),
            resumed_by=record.get("resumed_by"),
        )
