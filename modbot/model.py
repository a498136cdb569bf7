"""The records that flow between the stages: typed, frozen, and free of Lemmy's JSON.

    lemmy/  ──Item, SiteInfo, Person, Page──▶ source ──Item──▶ images ──ImageRef──▶ fetch …

Only ``modbot.lemmy`` reads Lemmy's answers; it hands out these records, whatever the API
version. A field Lemmy did not send (or sent as null) is None, and a rule never matches
on an unknown fact. An item Lemmy sent malformed is still an ``Item``: ``problem`` says
what was wrong and nothing else about it is known (no author, no community, no content).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SIGNIFICANCE",
    "VIDEO_EXTENSIONS",
    "VIDEO_STILL_QUERY",
    "Account",
    "Community",
    "ImageRef",
    "Item",
    "ItemKind",
    "Location",
    "Message",
    "Page",
    "Person",
    "SiteInfo",
    "Upload",
    "extension",
    "parse_time",
    "utc_iso",
]

ItemKind = Literal["post", "comment", "upload"]
Location = Literal["post_url", "thumbnail", "body", "comment", "upload"]

#: When one image turns up in several places of an item, the first of these wins.
SIGNIFICANCE: tuple[str, ...] = ("post_url", "body", "comment", "thumbnail", "upload")

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


@dataclass(frozen=True)
class Community:
    id: int
    name: str | None = None
    actor_id: str | None = None  # "https://lemmy.example/c/pics"
    nsfw: bool | None = None
    local: bool | None = None

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
    updated: str  # Lemmy's `updated`, else `published`, as sent: what "seen" compares
    problem: str | None = None  # what is wrong with a malformed item, in words
    author: Person | None = None
    community: Community | None = None  # posts and comments
    author_is_moderator: bool = False  # moderates the item's community
    author_is_admin: bool = False
    author_banned_from_community: bool = False
    local: bool | None = None  # created on this instance
    featured: bool = False  # pinned: listed first, whatever its age
    removed: bool = False
    comment_count: int | None = None  # a post's
    # what images.py looks at
    link: str | None = None  # a post's URL
    link_type: str | None = None  # its content type, as Lemmy saw it
    thumbnail: str | None = None  # a post's thumbnail
    text: str = ""  # a post's body, a comment's content (Markdown)
    upload: Upload | None = None

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


@dataclass(frozen=True)
class Message:
    """A private message, as far as modbot reads its own sent ones."""

    content: str
    published: datetime | None


@dataclass(frozen=True)
class Account:
    """The bot's own account, from the session."""

    person_id: int | None
    admin: bool
    show_nsfw: bool
    show_bot_accounts: bool
    show_read_posts: bool
    discussion_languages: tuple[int, ...] = ()


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
    ``original_url``: the remote original when ``url`` is an ``image_proxy`` URL.
    ``alias``: the pict-rs alias when the image is a local upload.
    """

    url: str
    location: Location
    alias: str | None = None
    original_url: str | None = None

    @property
    def fetch_urls(self) -> tuple[str, ...]:
        """URLs to try in order: the original first, then the proxy as a fallback
        (the instance may still serve a copy the remote has taken down). A local video
        upload is fetched as the still pict-rs renders of it: videos are not images."""
        if self.alias and extension(self.alias) in VIDEO_EXTENSIONS:
            parts = urlsplit(self.original_url or self.url)
            return (urlunsplit(parts._replace(query=VIDEO_STILL_QUERY, fragment="")),)
        if self.original_url:
            return (self.original_url, self.url)
        return (self.url,)

