"""Where items come from: polling new posts, comments and uploads, and the backlog sweep.

Polling reads ``post/list`` and ``comment/list`` (``sort=New``, ``type_=All``,
``limit=50``) page by page until it reaches what it has seen (the newest ``published``
of the last poll): an idle poll costs these two requests. Lemmy sorts by ``published``,
and a federated item can arrive late with an older ``published``; so every
``deep_every`` (and on ``run --once``) a poll pages further, down to ``lookback`` before
that watermark. An item is looked at again when its ``updated`` changes (an edit), a
post also when its thumbnail does (Lemmy sets it after the post: ``post_version``), by
the file it points at, not the URL's form (``viewcheck.thumbnail_key``).
Uploads come from ``admin/list_all_media`` (admins only, newest first), every
``uploads_every`` and on each deep poll: an upload that is posted is seen at once as
the post's image; one never posted waits a few minutes at most. An upload whose action
failed for a passing reason is read again, down to ``lookback`` below the watermark.
A watermark never goes past the poll's start: a federated item dated ahead (another
instance's clock, or a forged date) is decided like any other, but would otherwise stop
every later poll after its first page. (Were Lemmy's clock ahead of this machine's, a
poll reads again what it saw in that gap: a request more, never an item less.)

Lemmy 1.0 leaves an *unlisted* community's posts out of the listing of every post (even
for admins) and lists them only in the community's own; its comments only to its
followers and, in ``ModeratorView``, its moderators. The communities a sweep or a deep
poll reads (``community/list``) say which are unlisted (at most ``MAX_UNLISTED``, kept
in the store). A deep poll reads the newest posts of ``POLL_UNLISTED`` of them in turn
(each down to ``lookback`` below the posts' watermark, ``POLL_UNLISTED_PAGES`` pages at
most), then the comments listed to the bot as a moderator: ``min(n, 10) + 1`` requests
more, every ``deep_every``. A sweep reads every one's posts, with their comments, as
the posts' walk does. Lemmy 0.19 lists the posts and comments of a community an admin
hid (``community/hide``) only to its followers, admins included, in every listing: a
sweep's communities walk names each one the bot does not follow (a warning, once a
walk); nothing of it is read.

The backlog iterator walks posts by ``page_cursor`` (at most ``MAX_SWEEP_PAGES``
pages) and each post's comments (``comment/list?post_id=``, skipped when the post has
none), then the posts a moderator removed, which ``post/list`` leaves out (0.19: for
everyone; 1.0: for all but admins), with their comments: named by the modlog, read by
id as Lemmy shows them to admins and the community's moderators; then the posts a
0.19 site ban with ``remove_data`` removed, which the modlog does not name one by one
(the people its bans name, their removed posts as ``GET /user`` lists them to an
admin), with their comments; then uploads, then
every community (``community/list``: the icons and banners
of communities nobody posted in), then the posts of the unlisted communities among
them (``MAX_UNLISTED_PAGES`` each at most), then the site's icon and banner; its
position is kept in the store after each page, so an interrupted sweep resumes there.
A deep poll also reads the newest page of communities. A post's comments in an
unlisted community are read as its moderator (then as any comment, for a follower);
where neither lists them, the run's summary names the post (``NOT_LISTED_WHY``).

Both hand out, beside the items read, the avatars and banners of their people and the
icons and banners of their communities (``modbot.profiles``): new ones, or changed
since the bot last looked (the "seen" mark keeps the image's URL). So are the images
written into their bios and descriptions (1.0: a community's sidebar), and, with the
site's icon, into the site's sidebar: one item per image (``text_images``), at most
``MAX_TEXT_IMAGES`` new ones of a text each time it is read (the next ones the next
time, in turn round the text: one never marked seen holds back none after it).

The source reads Lemmy through ``LemmyApi`` and hands out ``Item`` records (a malformed
one, whose ``problem`` says what Lemmy sent wrong, goes on like the rest: the pipeline
records it as skipped). Every paging loop stops, with a warning, when Lemmy hands out a
cursor or a page it handed out before.

Polling, sweeping and the paging guards they share are one state machine over the
store's cursors: kept in one module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from modbot.errors import LemmyError, LemmyUnavailable
from modbot.images import data_image_reference, image_refs, is_data_reference, known_key
from modbot.lemmy.api import MAX_PAGE, PAGE, LemmyApi
from modbot.lemmy.transport import STOPPING
from modbot.model import (
    HIDDEN_COMMUNITY,
    PROFILE_KINDS,
    Community,
    Item,
    ItemKind,
    Page,
    Person,
    parse_time,
    post_version,
    version_before_thumbnails,
)
from modbot.profiles import community_images, person_images, profile_items, site_images
from modbot.store import Store

__all__ = [
    "HandedOut",
    "Item",
    "KeptWarnings",
    "RepeatCheck",
    "Source",
    "kept_warnings",
    "parse_time",
]

log = logging.getLogger(__name__)

MAX_POST_PAGES = 400  # a bound on one poll's paging, in case a watermark is bogus
# A bound on one sweep's post pages (50 million posts): what ends a walk through a Lemmy
# that keeps inventing new pages (a loop back to an old page is noticed at once).
MAX_SWEEP_PAGES = 1_000_000
MAX_COMMUNITY_PAGES = 20_000  # a million communities: far more than any instance knows
MAX_REMOVAL_PAGES = 20_000  # a million post removals in the modlog
MAX_UPLOAD_PAGES = 100_000  # a sweep's pages of the media list (5 million uploads)
# A bound on the comments of one post a walk reads (they are one batch, held at once):
# 20,000, beyond the longest Lemmy threads. 0.19 lists no more than the newest 5,000.
MAX_POST_COMMENT_PAGES = 400
SHOWN_NOT_READ = 10  # posts named (and warned about) whose comments were not read
# A sweep's warnings kept with its position for the run that resumes it (a failing Lemmy
# says one a post): the first ones, and a count of the rest
MAX_KEPT_WARNINGS = 200
# Lemmy 1.0 leaves an unlisted community's posts out of every listing but the community's
# own, even for admins (db_views/post/src/impls.rs, `filter_unlisted_or_followed`), and
# its comments out of every comment listing but ModeratorView. (Its other visibilities
# hide nothing from an admin, nor from a moderator in what it moderates.) The communities
# walk notes them; a sweep then reads each one's posts, a deep poll some of them in turn.
UNLISTED = "unlisted"
MAX_UNLISTED = 1000  # the unlisted communities noted (a sweep walks, polls take turns on)
MAX_UNLISTED_PAGES = 2000  # a sweep's pages of one unlisted community's posts (100,000)
POLL_UNLISTED = 10  # unlisted communities one deep poll reads, in turn
POLL_UNLISTED_PAGES = 4  # pages of one such community's newest posts a deep poll reads
NOT_LISTED_WHY = (
    "unlisted community: Lemmy 1.0 lists its comments only to its followers and "
    "moderators; make the bot a moderator of it to have them checked"
)
# Lemmy's answers that a post or person is gone (purged since; 0.19 also hides a post of a
# deleted community so): nothing left to read, said at INFO only. Any other refusal
# leaves what the modlog named unread, and is a warning.
GONE = frozenset({"couldnt_find_post", "couldnt_find_person", "not_found"})
REMOVED_FIRST = {"phase": "removed_posts"}  # the sweep's position after the posts
BANNED_FIRST = {"phase": "banned_posts"}  # after the removed posts
UPLOADS_FIRST = {"phase": "uploads"}  # after the posts bans removed
# The images written into one text (a bio, a community's description, the site's
# sidebar): at most MAX_TEXT_IMAGES new ones are handed out each time the text is read
# (the next ones, in turn, the next time), and only its first MAX_TEXT_READ are
# looked at at all.
MAX_TEXT_IMAGES = 20
MAX_TEXT_READ = 1000
# What a text's relative URL is read against, then taken off: a host no text can know
# (a fixed one, written in a bio as an absolute URL, would be taken for the instance's)
_TEXT_BASE = f"https://{secrets.token_hex(12)}.modbot.invalid"


class HandedOut:
    """What a sweep's walk handed out already (a person's avatar with its URL, a text
    read: ``Source._profiles``), each once a walk: a set of marks bounded in memory. A
    large federated instance's walk meets millions of people, and a set of the marks
    held ~18 MB per 100,000 (``benchmarks/sweep_marks.py``). Here each is a 64-bit
    digest, keyed afresh each walk (no URL can be made to stand for another's): the
    first ``IN_MEMORY`` in a set (~8 MB), the rest in a private temporary SQLite
    database whose page cache (``CACHE_KIB``) is the memory it holds, SQLite spilling it
    to a file in the temporary directory, deleted when it is closed. Nothing of it
    outlives the walk: a resumed walk (a slice, a run after a kill) starts it afresh,
    the store's seen marks answering for what was recorded. Where that file cannot be
    written, the marks go on in memory (said once)."""

    IN_MEMORY = 100_000
    CACHE_KIB = 4096

    def __init__(self) -> None:
        self._key = secrets.token_bytes(16)
        self._memory: set[int] = set()
        self._db: sqlite3.Connection | None = None
        self._failed = False  # the database could not be written: memory it is

    def _digest(self, mark: str) -> int:
        digest = hashlib.blake2b(mark.encode(), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "big", signed=True)

    def __contains__(self, mark: object) -> bool:
        digest = self._digest(str(mark))
        if digest in self._memory:
            return True
        if self._db is None:
            return False
        try:
            query = "SELECT 1 FROM marks WHERE digest = ?"
            return self._db.execute(query, (digest,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def add(self, mark: str) -> None:
        digest = self._digest(mark)
        if self._db is not None and not self._failed:
            try:
                self._db.execute("INSERT OR IGNORE INTO marks VALUES (?)", (digest,))
                return
            except sqlite3.Error as exc:
                self._fail(exc)
        self._memory.add(digest)
        if len(self._memory) >= self.IN_MEMORY and self._db is None and not self._failed:
            self._spill()

    def _spill(self) -> None:
        try:
            self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._db.execute(f"PRAGMA cache_size = -{self.CACHE_KIB}")
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("CREATE TABLE marks (digest INTEGER PRIMARY KEY)")
            with self._db:
                self._db.execute("BEGIN")
                rows = ((d,) for d in self._memory)
                self._db.executemany("INSERT OR IGNORE INTO marks VALUES (?)", rows)
            self._memory = set()
        except sqlite3.Error as exc:
            self._fail(exc)

    def _fail(self, exc: sqlite3.Error) -> None:
        # a full or read-only temporary directory: the walk goes on, in memory
        log.warning(
            "the sweep's marks of the profile images it handed out could not be written "
            "to a temporary file (%s); kept in memory for this walk",
            exc,
        )
        self._failed = True

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


# what a walk handed out (``HandedOut``; a poll's few, or a text's images: a set)
Marks = set[str] | HandedOut


class KeptWarnings:
    """A walk's warnings kept beside its position for the run that resumes it to say
    again (``Source.walk``, ``StoreSource``): the first ``MAX_KEPT_WARNINGS``, each
    once, and a count of the rest. ``state`` is the JSON kept (``said``, ``more``)."""

    def __init__(self, kept: str | None = None) -> None:
        found = json.loads(kept or "{}")
        self.said: list[str] = list(found.get("said", []))
        self.more = int(found.get("more", 0))

    def add(self, message: str) -> bool:
        """Keep ``message``; False when it was kept already (nothing changed)."""
        if message in self.said:
            return False
        if len(self.said) < MAX_KEPT_WARNINGS:
            self.said.append(message)
        else:
            self.more += 1
        return True

    def state(self) -> str:
        return json.dumps({"said": self.said, "more": self.more})


class _Walked:
    """How far a sweep went in all its parts (``Source.walk``): pages walked past (a
    listing's page, with its posts' comments; the site), parts, since when. ``before``:
    parts before ``started`` went uncounted (a position an older modbot kept)."""

    def __init__(
        self, pages: int = 0, parts: int = 0, started: str | None = None, before: bool = False
    ) -> None:
        self.pages, self.parts, self.before = pages, parts, before
        self.started = started or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    @classmethod
    def read(cls, kept: str | None, *, resuming: bool) -> _Walked:
        if kept is None:
            return cls(before=resuming)
        try:
            state = json.loads(kept)
            pages, parts = int(state.get("pages", 0)), int(state.get("parts", 0))
            return cls(pages, parts, state.get("started"), bool(state.get("before")))
        except (ValueError, TypeError, AttributeError):
            return cls(before=resuming)  # not ours to fail a sweep over: only said

    def state(self) -> str:
        kept = {"pages": self.pages, "parts": self.parts, "started": self.started}
        return json.dumps({**kept, "before": True} if self.before else kept)

    def said(self, when: str) -> str:
        parts = f"{self.parts} part{'s' if self.parts != 1 else ''}"
        said = f"{self.pages} pages walked {when}, in {parts}, since {self.started}"
        if self.before:
            said += " (its parts before then were not counted: an older modbot's)"
        return said


class RepeatCheck:
    """Notices a value handed out before: a paging cursor, a page. Brent's cycle test:
    each value is compared with one kept value, which moves on at steps 1, 2, 4, 8...;
    a loop of any length is caught within about twice its start plus its length, in
    constant memory (so the state fits in the sweep's stored position)."""

    def __init__(self, state: dict | None = None) -> None:
        state = state or {}
        self.mark: str | None = state.get("mark")
        self.power: int = int(state.get("power", 1))
        self.steps: int = int(state.get("steps", 0))

    def seen_before(self, value: str) -> bool:
        if value == self.mark:
            return True
        self.steps += 1
        if self.steps >= self.power:
            self.mark, self.power, self.steps = value, self.power * 2, 0
        return False

    def state(self) -> dict:
        return {"mark": self.mark, "power": self.power, "steps": self.steps}


def page_signature(items: list[Item]) -> str:
    """A page's identity: the items it holds, in order."""
    return hashlib.sha256("\n".join(i.key for i in items).encode()).hexdigest()[:16]


def _unique(page: list[Item]) -> list[Item]:
    """A page's items, one per key: an item repeated on a page (a broken copy of a post
    beside the real one) is one item, the readable copy when there is one."""
    items: dict[str, Item] = {}
    for item in page:
        if item.key not in items or (items[item.key].problem and not item.problem):
            items[item.key] = item
    return list(items.values())


def text_urls(text: str, *, instance_url: str = _TEXT_BASE) -> list[str]:
    """The image URLs of a Markdown text (``modbot.images``' reading of a comment), as
    written, each once: a relative one stays relative (read against the instance when
    the image is checked). A ``data:`` image, written as itself or wrapped in the
    image proxy of the instance at ``instance_url`` (Lemmy's ``ProxyAllImages``), is
    its reference (``data_reference``): the URL holds its bytes."""
    urls: list[str] = []
    for ref in image_refs(Item("comment", 0, None, "", text=text), instance_url=_TEXT_BASE):
        url = ref.url
        if url.startswith(_TEXT_BASE + "/"):
            url = url[len(_TEXT_BASE) :]
        elif not is_data_reference(url):
            url = data_image_reference(url, instance_url=instance_url) or url
        if url not in urls:
            urls.append(url)
    return urls


def text_images(
    kind: ItemKind,
    owner: int | str,
    urls: list[str],
    *,
    author: Person | None = None,
    author_is_admin: bool = False,
    community: Community | None = None,
    local: bool | None = None,
    text: str = "",
) -> list[Item]:
    """The images of a person's, a community's or the site's text as items, as avatars
    are (``modbot.profiles``): one item per image, whose id is the owner's id and a
    digest of the URL (an image stays seen while the text keeps it; one added is a new
    item) and whose ``updated`` is the URL. A ``data:`` image's URL is its reference
    (``modbot.images``): its item holds the ``text`` it is in, where its bytes are."""
    return [
        Item(
            kind,
            f"{owner}:{hashlib.sha256(url.encode()).hexdigest()[:16]}",
            None,
            url,
            author=author,
            author_is_admin=author_is_admin,
            community=community,
            local=local,
            link=url,
            text=text if is_data_reference(url) else "",
        )
        for url in urls
    ]


def _post_ids(items: list[Item]) -> list[int]:
    return [i.id for i in items if isinstance(i.id, int)]


def _oldest(items: list[Item], *, skip_featured: bool = False) -> datetime | None:
    # Featured posts come first whatever their age: they say nothing about paging.
    times = [i.published for i in items if i.published and not (skip_featured and i.featured)]
    return min(times) if times else None


class _Paging:
    """Where the paging of one listing by cursor stands: the next page's cursor, the ids
    of the page before (``LemmyApi.posts(resume_after=)``), the pages read and the loop
    checks. ``state`` is what a sweep's position keeps of it, in that order (positions
    stored by older versions read the same)."""

    def __init__(self, state: dict | None = None) -> None:
        state = state or {}
        self.cursor: str | None = state.get("cursor")
        self.page_ids: list[int] = state.get("page_ids", [])
        self.read = int(state.get("pages", 0))
        self.cursors = RepeatCheck(state.get("cursors"))
        self.pages = RepeatCheck(state.get("pages_seen"))

    def state(self) -> dict:
        return {
            "cursor": self.cursor,
            "page_ids": self.page_ids,
            "pages": self.read,
            "cursors": self.cursors.state(),
            "pages_seen": self.pages.state(),
        }


class Source:
    """New and backlog items for one bot; ``scope`` keeps dry-run and live state apart."""

    def __init__(
        self,
        client: LemmyApi,
        store: Store,
        *,
        scope: str,
        lookback: timedelta = timedelta(hours=6),
        deep_every: timedelta = timedelta(minutes=10),
        uploads: bool = True,
        uploads_every: timedelta = timedelta(minutes=5),
        remember_seen: bool = True,
        clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.client, self.store, self.scope = client, store, scope
        # The instance's URL as its content writes it: a data: image in a text wrapped
        # in its image proxy is read as the data: image (``text_urls``). The client's
        # URL (LEMMY_URL) until the pipeline or the site says its own (``_site_images``).
        client_url = getattr(client, "url", None)
        default = client_url if isinstance(client_url, str) and client_url else _TEXT_BASE
        self.public_url = default.rstrip("/")
        self.warn = warn  # where paging problems are told (logged, and kept for reports)
        self.lookback, self.deep_every = lookback, deep_every
        self.uploads = uploads
        self.uploads_every = uploads_every
        self.remember_seen = remember_seen
        self._clock = clock
        # what a backlog walk hands out: "local" items (created on this instance; a
        # profile image, its person's or community's), "federated" ones, or "all"
        self.origin = "all"
        # posts whose comments Lemmy did not hand out, by why: (how many, the first
        # ``SHOWN_NOT_READ`` ids); the run's summary says so (``take_comments_not_read``)
        self._comments_not_read: dict[str, tuple[int, list[int]]] = {}
        # the same for the whole backlog walk, its earlier parts' included (``walk``
        # keeps them with its position), and as they stood at the position's last move
        self._walk_not_read: dict[str, tuple[int, list[int]]] | None = None
        self._settled_not_read: dict[str, tuple[int, list[int]]] = {}
        self._unlisted_capped = False  # more than MAX_UNLISTED unlisted communities: said
        # the warnings said while a backlog walk reads on (``walk`` keeps them)
        self._heard: list[str] | None = None
        # how far the walk this client ended last went in all its parts (``sweep_walked``)
        self._walked_in_all: str | None = None

    def _cursor(self, name: str) -> str:
        return f"{self.scope}:{name}"

    def _is_new(self, item: Item) -> bool:
        if not self.remember_seen:
            return True
        if self.store.is_seen(self.scope, item.kind, item.id, item.updated):
            return False
        # Lemmy sets `updated` on each post and comment a ban with remove_data removes
        # (update_removed_for_creator), and a banned person can edit nothing (its API's
        # check_user_valid, check_community_ban; federation's checks alike): a removed
        # item of a banned author looked at before is no edit, whatever its time says.
        banned = item.author_banned_from_community or (item.author and item.author.banned)
        if item.removed and banned and self.store.seen_before(self.scope, item.kind, item.id):
            return False
        stamp = version_before_thumbnails(item.updated)
        if stamp is None:
            return True
        # Marks an earlier modbot kept, so that an upgrade does not decide every post of
        # the lookback and of the next sweep again: a digest of the thumbnail's URL as
        # sent (not what it points at: ``thumbnail_key``)...
        if item.thumbnail and self.store.is_seen(
            self.scope, item.kind, item.id, post_version(stamp, item.thumbnail)
        ):
            return False
        # ...or the time alone: seen, unless the post shows a thumbnail whose file modbot
        # never fetched (Lemmy stored it after that modbot read the post).
        if not self.store.is_seen(self.scope, item.kind, item.id, stamp):
            return True
        return self._thumbnail_never_fetched(item)

    def _thumbnail_never_fetched(self, post: Item) -> bool:
        """Whether the post shows a thumbnail whose file is not in the store's known files
        (every file downloaded is, by its ``images.known_key``)."""
        if not post.thumbnail:
            return False
        for ref in image_refs(post, instance_url=self.public_url):
            if ref.location == "thumbnail":
                return self.store.known_file(known_key(ref)) is None
        return False  # the link's own image (one file): looked at with the link

    def _watermark(self, name: str) -> datetime | None:
        mark = parse_time(self.store.get_cursor(self._cursor(f"watermark:{name}")))
        # A mark ahead of the clock (kept before marks were capped) counts as now.
        return min(mark, datetime.now(UTC)) if mark else None

    def _set_watermark(self, name: str, newest: datetime | None, limit: datetime) -> None:
        # Lemmy takes a federated item's ``published`` as sent: one dated a year ahead
        # must not become the mark every later poll stops at.
        if newest and newest > limit:
            newest = limit
        key = self._cursor(f"watermark:{name}")
        kept = parse_time(self.store.get_cursor(key))
        # one kept ahead (by an older modbot) is replaced: left, it would read as "now"
        # after any downtime, and a poll would stop short of what came meanwhile
        if newest and (kept is None or newest > kept or kept > limit):
            self.store.set_cursor(key, newest.isoformat())

    # ------------------------------------------------------------------ polling
    def _due(self, name: str, every: timedelta) -> bool:
        last = self.store.get_cursor(self._cursor(name))
        if last is None:
            return True
        since = self._clock() - float(last)
        # a time stored while the clock was ahead (corrected since): not a reason to
        # wait until the clock catches up with it
        return since < 0 or since >= every.total_seconds()

    def deep_due(self) -> bool:
        return self._due("last_deep_poll", self.deep_every)

    def poll(self, *, deep: bool | None = None) -> Generator[list[Item], None, None]:
        """Batches (one per page) of items not seen yet; watermarks move at the end."""
        deep = self.deep_due() if deep is None else deep
        started = self._clock()
        latest = datetime.now(UTC)  # where a watermark stops
        newest: dict[str, datetime | None] = {}
        # Uploads are read first: an admin-only read, so a dropped login answers 401 (and
        # the client logs in again) before the listings below are read as anonymous. They
        # are handed out last: a post using an upload is decided (and removed) before the
        # upload's image is purged, which would leave the post with nothing to check.
        uploads: list[list[Item]] = []
        read_uploads = self.uploads and (deep or self._due("last_uploads_poll", self.uploads_every))
        if read_uploads:
            uploads, newest["uploads"] = self._read_uploads()
        profiles: set[str] = set()
        for name, pages in (("posts", self._post_pages), ("comments", self._comment_pages)):
            stop_at = self._stop_at(name, deep)
            batch_newest = None
            for items in pages(stop_at):
                times = [i.published for i in items if i.published]
                if times:
                    batch_newest = max([*times, batch_newest] if batch_newest else times)
                fresh = [i for i in items if self._is_new(i)] + self._profiles(items, profiles)
                if fresh:
                    yield fresh
            newest[name] = batch_newest
        for batch in uploads:
            yield batch + self._profiles(batch, profiles)
        if deep:
            communities, unlisted = self._new_communities(profiles)
            if communities:
                yield communities
            yield from self._poll_unlisted(unlisted, self._stop_at("posts", True), profiles)
        # Only now, everything read having been handed out: a poll cut short repeats.
        for name, moment in newest.items():
            self._set_watermark(name, moment, latest)
        if read_uploads:
            self.store.set_cursor(self._cursor("last_uploads_poll"), repr(started))
        if deep:
            self.store.set_cursor(self._cursor("last_deep_poll"), repr(started))

    def _stop_at(self, name: str, deep: bool) -> datetime:
        mark = self._watermark(name)
        if mark is None:
            # First poll: the lookback window; anything older is the sweep's job.
            return datetime.now(UTC) - self.lookback
        return mark - self.lookback if deep else mark

    def _post_pages(self, stop_at: datetime) -> Generator[list[Item], None, None]:
        cursor: str | None = None
        page_ids: list[int] = []
        cursors, pages = RepeatCheck(), RepeatCheck()
        for _ in range(MAX_POST_PAGES):
            page = self.client.posts(cursor, resume_after=page_ids)
            cursor = page.next
            items = _unique(page.items)
            page_ids = _post_ids(items)
            if self._page_again("posts", items, pages):
                return
            if items:
                yield items
            oldest = _oldest(items, skip_featured=True)
            if not cursor or page.sent < PAGE or oldest is None or oldest < stop_at:
                return
            if self._cursor_again("posts", cursor, cursors):
                return
        self._warn(
            f"posts: stopped after {MAX_POST_PAGES} pages in one poll; the sweep covers older ones"
        )

    def _comment_pages(self, stop_at: datetime) -> Generator[list[Item], None, None]:
        pages = RepeatCheck()
        for number in range(1, MAX_PAGE + 1):
            page = self.client.comments(number)
            items = _unique(page.items)
            if self._page_again("comments", items, pages):
                return
            if items:
                yield items
            oldest = _oldest(items)
            if page.sent < PAGE or oldest is None or oldest < stop_at:
                return
            if not page.next:  # a full page, and the last this Lemmy serves (0.19.14: 10)
                said = (
                    f"comments: Lemmy lists no further than page {number} "
                    f"({number * PAGE} comments); those before {oldest:%Y-%m-%d %H:%M} UTC "
                    "were not read by this poll: a sweep (`modbot sweep`) reads them"
                )
                # A deep poll's cut below the last poll's mark is of comments that poll
                # read already (a busy instance fills 10 pages within the lookback every
                # deep poll): no warning an admin would learn to ignore.
                mark = self._watermark("comments")
                if mark is not None and oldest <= mark:
                    log.info("%s (the newer ones were read by the polls before)", said)
                else:
                    self._warn(said)
                return
        log.warning(
            "comments: reached Lemmy's page limit (%d pages); the sweep covers older ones",
            MAX_PAGE,
        )

    # Lemmy handing out a page or a cursor again: its paging loops, and reading on would
    # never end. A page seen before is not handed out again; a cursor seen before ends
    # the listing after the page that brought it.
    def _page_again(self, what: str, items: list[Item], pages: RepeatCheck) -> bool:
        if items and pages.seen_before(page_signature(items)):
            self._warn(
                f"{what}: Lemmy sent a page it sent before (the same items); its "
                "paging loops, so this listing stops here"
            )
            return True
        return False

    def _cursor_again(self, what: str, cursor: str, cursors: RepeatCheck) -> bool:
        if cursors.seen_before(cursor):
            self._warn(
                f"{what}: Lemmy sent a next_page cursor it sent before "
                f"({cursor[:40]!r}); its paging loops, so this listing stops here"
            )
            return True
        return False

    def _warn(self, message: str) -> None:
        if self._heard is not None:  # a sweep's: kept with its position (``walk``)
            self._heard.append(message)
        if self.warn is not None:
            self.warn(message)
        else:
            log.warning("%s", message)

    def _read_uploads(self) -> tuple[list[list[Item]], datetime | None]:
        """New uploads (batches) and the newest ``published`` read, for the watermark.

        An upload whose action failed for a passing reason (``set_retry``) is handed out
        again though newer ones moved the watermark past it: the listing is read on down
        to it, but never more than ``lookback`` below the watermark (the bound on the
        requests, and on the list: it holds only uploads above that floor). One not
        found by then leaves the list, with a warning: not marked seen, the next sweep
        looks at it again."""
        # First poll: the lookback window, like posts; older uploads are the sweep's job.
        mark = self._watermark("uploads") or datetime.now(UTC) - self.lookback
        retry = self._retry_ids("upload")
        waiting = set(retry)
        floor = mark - self.lookback
        newest = None
        batches: list[list[Item]] = []
        pages = RepeatCheck()
        ended = True  # read down to the floor, or to the listing's end
        cut = ""  # where Lemmy's own limit ended the listing, in words
        done: set = set()  # on the list, but seen since (decided by a sweep)
        for number in range(1, MAX_PAGE + 1):
            page = self.client.uploads(number)
            items = _unique(page.items)
            if self._page_again("uploads", items, pages):
                ended = False
                break
            self._remember_uploaders(items)
            times = [i.published for i in items if i.published]
            if times:
                newest = max([*times, newest] if newest else times)
            fresh = []
            for i in items:
                if i.published and i.published < floor:
                    continue  # below the bound: a waiting one is left to the sweep
                again = i.id in waiting
                waiting.discard(i.id)
                if not self._is_new(i):
                    if again:
                        done.add(i.id)
                elif again or i.published is None or i.published >= mark:
                    fresh.append(i)
            if fresh:
                batches.append(fresh)
            oldest = _oldest(items)
            # Uploads are local: they never arrive late, the watermark is exact.
            if page.sent < PAGE or oldest is None:
                break
            if oldest < mark and (not waiting or oldest < floor):
                break
            if not page.next:  # a full page, the last this Lemmy lists (0.19.14: 10)
                cut = f"past page {number} of Lemmy's media list ({number * PAGE} uploads)"
                if oldest >= mark:
                    # the uploads between this page and the last poll's are not read: an
                    # upload flood (the poll's own watermark moves past them)
                    self._warn(
                        f"uploads: Lemmy lists no further than page {number} "
                        f"({number * PAGE} uploads); those before {oldest:%Y-%m-%d %H:%M} "
                        "UTC were not read by this poll: `modbot sweep --store` (pict-rs' "
                        "own list) reads them"
                    )
                break
        gone = waiting if ended else set()
        for alias in sorted(gone, key=str):
            # past Lemmy's last page, a sweep's media list does not reach it either
            where, who = (
                (cut, "`modbot sweep --store` (pict-rs' own list)")
                if cut
                else (
                    f"now more than lemmy.lookback ({self.lookback}) below the newest upload",
                    "the next sweep",
                )
            )
            self._warn(
                f"upload {alias}: an action on it failed for a passing reason, and it is "
                f"{where}, or gone; no longer looked at each poll: {who} looks at it again"
            )
        if done or gone:
            # one write: the pipeline holds a listing's cursor writes, unread till applied
            kept = [i for i in retry if i not in done | gone]
            self.store.set_cursor(self._cursor("retry_uploads"), json.dumps(kept) if kept else None)
        return batches, newest

    def _remember_uploaders(self, items: list[Item]) -> None:
        with self.store.transaction():
            for item in items:
                if item.problem or item.upload is None or item.author is None:
                    continue
                self.store.remember_uploader(
                    item.upload.alias, item.author.id, item.author.actor_id, item.updated
                )

    # ------------------------------------------------------------------ backlog
    def _sweep_cursor(self, name: str) -> str:
        # a walk limited to local or federated items keeps a position of its own
        suffix = "" if self.origin == "all" else f":{self.origin}"
        return self._cursor(f"{name}{suffix}")

    @property
    def _sweep_position(self) -> str:
        return self._sweep_cursor("sweep_position")

    @property
    def _sweep_gaps(self) -> str:
        # what Lemmy's listings kept from the sweep at ``_sweep_position`` (``walk``)
        return self._sweep_cursor("sweep_not_reached")

    @property
    def _sweep_warned(self) -> str:
        # what the sweep at ``_sweep_position`` warned of so far (``walk``)
        return self._sweep_cursor("sweep_warnings")

    @property
    def _sweep_not_read(self) -> str:
        # the posts whose comments the sweep at ``_sweep_position`` did not read (``walk``)
        return self._sweep_cursor("sweep_comments_not_read")

    @property
    def _sweep_walked(self) -> str:
        # how far the sweep at ``_sweep_position`` went in all its parts (``walk``)
        return self._sweep_cursor("sweep_walked")

    def _place(self, name: str, position: str | None) -> None:
        """Move the walk's position (held with the batch's cursor writes). The posts
        counted as not read so far are those of the pages before it: a page read again
        on resuming counts its own again (``walk``'s ``keep`` writes these)."""
        self.store.set_cursor(name, position)
        if self._walk_not_read is not None:
            self._settled_not_read = {
                why: (count, list(ids)) for why, (count, ids) in self._walk_not_read.items()
            }

    def _in_origin(self, item: Item) -> bool:
        if self.origin == "all":
            return True
        local = item.local
        if local is None and item.author is not None:
            local = item.author.local
        if local is None and item.problem:
            # malformed: nothing says where it came from, and left out of both it would
            # be said by neither; either records it as skipped, and the summary counts it
            return True
        return local is not None and local == (self.origin == "local")

    def backlog(self, since: datetime | None = None) -> Generator[list[Item], None, None]:
        """``walk``, limited to ``origin`` (local or federated items; a malformed one
        whose origin cannot be read goes to either, to be recorded as skipped)."""
        for batch in self.walk(since):
            yield [i for i in batch if self._in_origin(i)]  # an empty one too: see walk

    def walk(self, since: datetime | None = None) -> Generator[list[Item], None, None]:
        """Batches of every post (with its comments), every post a moderator removed
        (with its comments: ``_walk_removed``) and every upload back to ``since``.

        Resumes from the stored position of an interrupted sweep; the position is
        cleared when the walk completes. Items already seen are left out. The walk
        through the posts stops, with a warning, when Lemmy's paging loops back to a
        cursor or page it sent before, or after ``MAX_SWEEP_PAGES`` pages.

        Every page read hands out a batch, an empty one when nothing on it is new: the
        pipeline looks at its stop (a sweep slice's time budget, SIGTERM) between
        batches, and a backlog already seen is read for minutes. Before an empty batch
        the position moves on to the next page (nothing of this one is to be recorded),
        so a slice stopped there resumes after it: each slice reads a page at least.

        What Lemmy's own limits kept from the walk (``LemmyApi.listing_cuts``: 0.19's
        page limits, its ``GET /user`` with show_nsfw off) is kept beside the position,
        written with its moves (the pipeline applies a batch's cursor writes in one
        transaction), so that the process resuming the sweep says it too
        (``not_reached``); it is forgotten with the position. So are the walk's own
        warnings (a listing that could not be read, a paging loop: said through
        ``warn`` as they come), at most ``MAX_KEPT_WARNINGS`` of them and a count of
        the rest, for the sweep that resumes it to say again (``sweep_warnings``). A
        position stored without them (before they were kept) resumes as before.

        So is how far the whole walk went (``sweep_walked``): the pages walked past in
        all its parts, how many parts, since when. A walk in parts (the daemon's slices,
        runs stopped or killed) logs it as each part starts and as the walk ends: a
        total of the pages to come is not known (Lemmy counts its own posts only).
        """
        name, gaps, warned = self._sweep_position, self._sweep_gaps, self._sweep_warned
        not_read, progress = self._sweep_not_read, self._sweep_walked
        kept = self.store.get_cursor(gaps)
        written: dict[str, str] = {}
        said = KeptWarnings()  # the walk's warnings, its earlier parts' first
        if self.store.get_cursor(name) is None:
            # of a sweep whose position is gone: not this one's
            for stale in (gaps, warned, not_read, progress):
                if self.store.get_cursor(stale) is not None:
                    self.store.set_cursor(stale, None)
        else:
            written = json.loads(kept or "{}")
            said = KeptWarnings(self.store.get_cursor(warned))
        resuming = self.store.get_cursor(name) is not None
        walked = _Walked.read(self.store.get_cursor(progress), resuming=resuming)
        self._walked_in_all = None
        if resuming:
            phase = json.loads(self.store.get_cursor(name) or "{}").get("phase")
            log.info("resuming the interrupted sweep (%s): %s", phase, walked.said("so far"))
        walked.parts += 1
        # The pages walked past are those before the position the batch's cursor writes
        # move to: the page of a batch that has items counts with the next batch (it is
        # recorded first), that of an empty one at once (the position moves past it).
        pending = 0
        counted = self.sweep_comments_not_read()
        self._walk_not_read, self._settled_not_read = dict(counted), dict(counted)
        # this walk's own: not those of a walk this client read before (the daemon's)
        self.client.restore_listing_cuts(written)
        heard: list[str] = []
        self._heard = heard

        def keep(batch: list[Item] | None = None) -> None:
            # with the position's moves since the last batch (held)
            nonlocal written, counted, pending
            walked.pages += pending
            pending = 0 if batch is None else 1 if batch else 0
            walked.pages += 1 if batch == [] else 0
            self.store.set_cursor(progress, walked.state())
            cuts = self.client.listing_cuts()
            if cuts != written:
                self.store.set_cursor(gaps, json.dumps(cuts))
                written = cuts
            if heard:
                for message in heard:
                    said.add(message)
                heard.clear()
                self.store.set_cursor(warned, said.state())
            if self._settled_not_read != counted:
                counted = self._settled_not_read
                self.store.set_cursor(not_read, json.dumps(counted))

        handed_out = HandedOut()  # the profile images handed out in this walk
        try:
            for batch in self._walk(name, since, handed_out):
                keep(batch)
                yield batch
        except Exception:
            keep()  # a failed walk resumes after what it warned of: kept with its position
            raise
        finally:
            self._heard = None
            self._walk_not_read = None
            handed_out.close()
        walked.pages += pending
        self._walked_in_all = walked.said("in all")
        log.info("the sweep is complete: %s", self._walked_in_all)
        self.store.set_cursor(gaps, None)
        self.store.set_cursor(warned, None)
        self.store.set_cursor(not_read, None)
        self.store.set_cursor(progress, None)

    def sweep_warnings(self) -> list[str]:
        """What the interrupted sweep at the stored position warned of in its earlier
        parts (other runs, or a daemon's earlier slices: ``walk`` keeps it with the
        position), once each; the sweep that resumes it says them with its own."""
        if not self.sweep_in_progress():
            return []
        return kept_warnings(self.store.get_cursor(self._sweep_warned), "sweep")

    def sweep_comments_not_read(self) -> dict[str, tuple[int, list[int]]]:
        """The posts whose comments the interrupted sweep at the stored position could
        not read in its earlier parts, by why: (how many, the first ids), as
        ``take_comments_not_read`` counts a run's; the run that resumes it says them."""
        if not self.sweep_in_progress():
            return {}
        try:
            kept = json.loads(self.store.get_cursor(self._sweep_not_read) or "{}")
            return {
                str(why): (int(count), [int(i) for i in ids]) for why, (count, ids) in kept.items()
            }
        except (ValueError, TypeError, AttributeError):
            return {}  # not ours to fail a sweep over: the count is only said

    def _walk(
        self, name: str, since: datetime | None, profiles: HandedOut
    ) -> Generator[list[Item], None, None]:
        """``walk``'s phases, from the position stored under ``name``; ``profiles``: the
        profile images handed out in this walk."""
        position = json.loads(self.store.get_cursor(name) or "{}")
        if position.get("phase", "posts") == "posts":
            cursor = position.get("page_cursor")
            page_ids = position.get("page_ids", [])
            read = int(position.get("pages", 0))
            # The loop checks live in the stored position: a sweep in slices (the
            # daemon's) or resumed after a stop still notices a loop.
            cursors = RepeatCheck(position.get("cursors"))
            pages = RepeatCheck(position.get("pages_seen"))

            def at() -> str:  # the position: the page about to be read
                return json.dumps(
                    {
                        "phase": "posts",
                        "page_cursor": cursor,
                        "page_ids": page_ids,
                        "pages": read,
                        "cursors": cursors.state(),
                        "pages_seen": pages.state(),
                    }
                )

            while True:
                if read >= MAX_SWEEP_PAGES:
                    self._warn(
                        f"posts: the sweep stopped after {MAX_SWEEP_PAGES} pages "
                        f"({MAX_SWEEP_PAGES * PAGE} posts); older posts were not read"
                    )
                    break
                self._place(name, at())
                page = self.client.posts(cursor, resume_after=page_ids)
                next_cursor = page.next
                read += 1
                posts = _unique(page.items)
                page_ids = _post_ids(posts)
                if self._page_again("posts", posts, pages):
                    break
                batch = self._posts_batch(posts, since, profiles)
                oldest = _oldest(posts, skip_featured=True)
                last = (
                    not next_cursor
                    or not page.sent
                    or bool(since and oldest and oldest < since)
                    or self._cursor_again("posts", next_cursor, cursors)
                )
                if not last:
                    cursor = next_cursor
                if not batch:
                    self._place(name, json.dumps(REMOVED_FIRST) if last else at())
                yield batch
                if last:
                    break
            position = REMOVED_FIRST
        if position.get("phase") == "removed_posts":
            yield from self._walk_removed(name, position, since, profiles)
            position = BANNED_FIRST
        if position.get("phase") == "banned_posts":
            yield from self._walk_banned(name, position, since, profiles)
            position = UPLOADS_FIRST
        if position.get("phase") == "uploads" and self.uploads and self.origin != "federated":
            yield from self._walk_uploads(name, position, since, profiles)
        if position.get("phase") not in ("communities", UNLISTED, "site"):
            position = {"phase": "communities"}
        if position["phase"] == "communities":
            unlisted = yield from self._walk_communities(name, position, profiles)
            position = {"phase": UNLISTED, "ids": unlisted}
        if position["phase"] == UNLISTED:
            yield from self._walk_unlisted(name, position, since, profiles)
        site = self._site_images() if self.origin != "federated" else []
        if site:
            yield site
        self._place(name, None)

    def _walk_uploads(
        self, name: str, position: dict, since: datetime | None, handed_out: Marks
    ) -> Generator[list[Item], None, None]:
        """Every upload, a batch a page in the media list's own order (``upload_pages``),
        its place (cursor, pages read, loop checks) kept in the position as the posts'
        is. 0.19 lists the newest first: the walk ends at a page reaching before
        ``since``, or at its page limit (``LemmyApi.not_reached`` says so). 1.0's
        list has no order: it is read to its end, each upload before ``since`` left out
        (a poll's newest-first ``uploads`` keeps only the newest ``MAX_PAGE`` pages)."""
        newest_first = self.client.uploads_newest_first
        cursor = position.get("cursor")
        page_number = int(position.get("page", 1))  # a position kept with page numbers
        if cursor is None and page_number > 1 and newest_first:
            cursor = str(page_number)
        read = int(position.get("pages", 0))
        cursors = RepeatCheck(position.get("cursors"))
        pages = RepeatCheck(position.get("pages_seen"))

        def at() -> str:  # the position: the page about to be read
            return json.dumps(
                {
                    "phase": "uploads",
                    "cursor": cursor,
                    "pages": read,
                    "cursors": cursors.state(),
                    "pages_seen": pages.state(),
                }
            )

        while True:
            if read >= MAX_UPLOAD_PAGES:
                self._warn(
                    f"uploads: the sweep stopped after {MAX_UPLOAD_PAGES} pages of the media "
                    f"list ({MAX_UPLOAD_PAGES * PAGE} uploads); the rest were not looked at"
                )
                break
            self._place(name, at())
            page = self.client.upload_pages(cursor)
            read += 1
            items = _unique(page.items)
            if self._page_again("uploads", items, pages):
                break
            self._remember_uploaders(items)
            fresh = [
                i
                for i in items
                if self._is_new(i) and not (since and i.published and i.published < since)
            ] + self._profiles(items, handed_out)
            oldest = _oldest(items)
            last = (
                not page.next
                or not page.sent
                or (newest_first and bool(since and oldest and oldest < since))
                or self._cursor_again("uploads", page.next, cursors)
            )
            if not last:
                cursor = page.next
            if not fresh:
                self._place(name, json.dumps({"phase": "communities"}) if last else at())
            yield fresh
            if last:
                break

    def _posts_batch(
        self, posts: list[Item], since: datetime | None, handed_out: Marks
    ) -> list[Item]:
        """A page of posts read by a walk: those not seen, with their comments not seen
        and their profile images (posts before ``since`` left out, featured ones kept)."""
        batch: list[Item] = []
        for post in posts:
            if since and post.published and post.published < since and not post.featured:
                continue
            if self._is_new(post):
                batch.append(post)
            comments = self._comments_of(post, since)
            batch.extend(c for c in comments if self._is_new(c))
            batch.extend(self._profiles([post, *comments], handed_out))
        return batch

    def _walk_unlisted(
        self, name: str, position: dict, since: datetime | None, handed_out: Marks
    ) -> Generator[list[Item], None, None]:
        """The posts (with their comments) of the unlisted communities the communities
        walk noted (``ids``): 1.0 lists them in the community's own listing only. One
        community after another, each down to ``since`` or ``MAX_UNLISTED_PAGES`` pages;
        the position (the communities left, the page) kept as the posts' is."""
        ids: list[int] = [int(i) for i in position.get("ids") or []]
        paging = _Paging(position)

        def at() -> str:
            if not ids:
                return json.dumps({"phase": "site"})
            return json.dumps({"phase": UNLISTED, "ids": ids, **paging.state()})

        while ids:
            community = ids[0]
            self._place(name, at())
            posts, last = self._unlisted_page(community, paging, since)
            batch = self._posts_batch(posts, since, handed_out)
            if not last and paging.read >= MAX_UNLISTED_PAGES:
                self._warn(
                    f"posts of unlisted community {community}: the sweep stopped after "
                    f"{MAX_UNLISTED_PAGES} pages; older posts were not read"
                )
                last = True
            if last:  # the next community, from its newest post
                ids.pop(0)
                paging = _Paging()
            if not batch:  # as in ``walk``: the position moves past an empty page first
                self._place(name, at())
            yield batch

    def _unlisted_page(
        self, community: int, at: _Paging, floor: datetime | None
    ) -> tuple[list[Item], bool]:
        """One page of the posts of unlisted community ``community``, from its own
        listing (1.0 lists them nowhere else), at ``at``, which moves on to the next
        page; and whether it is the last to read: the listing's end, a post older than
        ``floor``, a page or a cursor Lemmy sent before, or an error (said). The sweep
        (``_walk_unlisted``) and the deep poll (``_poll_unlisted``) page alike."""
        what = f"posts of unlisted community {community}"
        try:
            page = self.client.posts(at.cursor, resume_after=at.page_ids, community_id=community)
        except LemmyUnavailable:
            raise
        except LemmyError as exc:  # gone since the list was read, say
            self._warn(f"{what}: {exc}; not read")
            return [], True
        at.read += 1
        posts = _unique(page.items)
        at.page_ids = _post_ids(posts)
        if self._page_again(what, posts, at.pages):
            return [], True
        oldest = page.oldest or _oldest(posts, skip_featured=True)
        last = (
            not page.next
            or not page.sent
            or bool(floor and oldest and oldest < floor)
            or self._cursor_again(what, page.next, at.cursors)
        )
        if not last:
            at.cursor = page.next
        return posts, last

    def _walk_removed(
        self, name: str, position: dict, since: datetime | None, handed_out: Marks
    ) -> Generator[list[Item], None, None]:
        """The posts a moderator removed, with their comments: ``post/list`` leaves them
        out (0.19: for everyone; 1.0: for all but admins), so the walk through the posts
        never reaches them, yet an image in one of their comments is still on the
        instance. The modlog names them (``removed_posts``, newest first, down to
        ``since``); each is read by id, as Lemmy shows it to admins and the community's
        moderators, and handed out with its comments while it stays removed."""
        yield from self._walk_modlog(
            name,
            position,
            since,
            phase="removed_posts",
            following=BANNED_FIRST,
            reader=self.client.removed_posts,
            expand=lambda post_id: self._removed_post(post_id, since, handed_out),
            what="removed posts",
            lost="the posts moderators removed and their comments were not read",
            older="the comments of posts removed before were not read",
        )

    def _walk_banned(
        self, name: str, position: dict, since: datetime | None, handed_out: Marks
    ) -> Generator[list[Item], None, None]:
        """The posts a site ban removed, with their comments: 0.19's ban with
        ``remove_data`` removes every post of the person without naming one in the
        modlog, and ``post/list`` hides them from admins too. The modlog's bans name the
        people (``banned_people``, newest first, down to ``since``; 1.0 names none: each
        removal has its row there); their removed posts are read as ``GET /user`` lists
        them to an admin (``removed_posts_of``). 0.19 lists to no one, admins included,
        the posts their authors deleted and those of deleted communities: read by id
        only, and nothing names them."""
        yield from self._walk_modlog(
            name,
            position,
            since,
            phase="banned_posts",
            following=UPLOADS_FIRST,
            reader=self.client.banned_people,
            expand=lambda person_id: self._banned_posts(person_id, since, handed_out),
            what="posts removed with a ban",
            lost="the posts site bans removed and their comments were not read",
            older="the posts of people banned before were not read",
        )

    def _walk_modlog(
        self,
        name: str,
        position: dict,
        since: datetime | None,
        *,
        phase: str,
        following: dict,
        reader: Callable[..., Page[int]],
        expand: Callable[[int], list[Item]],
        what: str,
        lost: str,
        older: str,
    ) -> Generator[list[Item], None, None]:
        """A walk through ids the modlog names (``reader``: a page of them, newest first,
        down to ``since``), each handed out as ``expand`` reads it (once a walk: an id
        named twice is read once), a batch a page; the position (``phase``) kept after
        each page as the posts' is, ``following`` when the list is done."""
        cursor = position.get("cursor")
        read = int(position.get("pages", 0))
        cursors = RepeatCheck(position.get("cursors"))
        pages = RepeatCheck(position.get("pages_seen"))
        done: set[int] = set()  # read in this walk: a post removed twice is named twice

        def at() -> str:
            return json.dumps(
                {
                    "phase": phase,
                    "cursor": cursor,
                    "pages": read,
                    "cursors": cursors.state(),
                    "pages_seen": pages.state(),
                }
            )

        while True:
            if read >= MAX_REMOVAL_PAGES:
                self._warn(
                    f"{what}: the sweep stopped after {MAX_REMOVAL_PAGES} pages of the "
                    f"modlog; {older}"
                )
                return
            self._place(name, at())
            try:
                page = reader(cursor, since=since)
            except LemmyUnavailable:
                raise
            except LemmyError as exc:
                self._warn(f"{what}: the modlog could not be read ({exc}); {lost}")
                return
            read += 1
            ids = ",".join(str(i) for i in page.items)
            if ids and pages.seen_before(ids):
                self._warn(
                    f"{what}: Lemmy sent a page of its modlog it sent before; its "
                    "paging loops, so this listing stops here"
                )
                return
            batch: list[Item] = []
            for named in page.items:
                if named not in done:
                    done.add(named)
                    batch.extend(expand(named))
            last = not page.next or self._cursor_again(what, page.next, cursors)
            if not last:
                cursor = page.next
            if not batch:  # as in ``walk``: the position moves past an empty page first
                self._place(name, json.dumps(following) if last else at())
            yield batch
            if last:
                return

    def _banned_posts(
        self, person_id: int, since: datetime | None, handed_out: Marks
    ) -> list[Item]:
        """A banned person's removed posts not seen yet, with their comments, newest
        first down to ``since``: nothing when Lemmy no longer has the person (purged)."""
        out: list[Item] = []
        for number in range(1, MAX_PAGE + 1):
            try:
                page = self.client.removed_posts_of(person_id, number)
            except LemmyUnavailable:
                raise
            except LemmyError as exc:
                self._unread(f"posts of banned person {person_id}", exc, "their comments")
                break
            for post in page.items:
                if since and post.published and post.published < since and not post.featured:
                    continue
                comments = self._comments_of(post, since)
                out.extend(i for i in (post, *comments) if self._is_new(i))
                out.extend(self._profiles([post, *comments], handed_out))
            oldest = _oldest(page.items)
            if not page.next or (since and oldest and oldest < since):
                break
        return out

    def _unread(self, what: str, exc: LemmyError, too: str) -> None:
        if exc.error in GONE or exc.status == 404:
            log.info("%s: %s; not read", what, exc)
        else:
            self._warn(f"{what}: {exc}; not read, nor {too}")

    def _removed_post(self, post_id: int, since: datetime | None, handed_out: Marks) -> list[Item]:
        """A removed post and its comments not seen yet; nothing when it cannot be read
        (purged since, or in a community this account does not moderate) or was
        restored (then the walk through the posts read it)."""
        try:
            post = self.client.post(post_id)
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            self._unread(f"removed post {post_id}", exc, "its comments")
            return []
        if post.problem:  # recorded as skipped, as a malformed post of a listing is
            return [post] if self._is_new(post) else []
        if not post.removed:
            return []
        if since and post.published and post.published < since and not post.featured:
            return []
        comments = self._comments_of(post, since)
        out = [post] if self._is_new(post) else []
        out.extend(c for c in comments if self._is_new(c))
        out.extend(self._profiles([post, *comments], handed_out))
        return out

    def _walk_communities(
        self, name: str, position: dict, handed_out: Marks
    ) -> Generator[list[Item], None, list[int]]:
        """The icon and banner of every community the instance knows, not seen yet with
        this URL: a community nobody posted in is found only here. Every sweep reads
        the whole list (``N / 50`` requests); only new or changed images are fetched.
        Returns the unlisted communities met (``_walk_unlisted`` reads their posts),
        kept for the polls too (``_note_unlisted``)."""
        cursor = position.get("cursor")
        read = int(position.get("pages", 0))
        cursors = RepeatCheck(position.get("cursors"))
        pages = RepeatCheck(position.get("pages_seen"))
        unlisted: list[int] = [int(i) for i in position.get("unlisted") or []]

        def at() -> str:
            return json.dumps(
                {
                    "phase": "communities",
                    "cursor": cursor,
                    "pages": read,
                    "cursors": cursors.state(),
                    "pages_seen": pages.state(),
                    "unlisted": unlisted,
                }
            )

        while True:
            if read >= MAX_COMMUNITY_PAGES:
                self._warn(
                    f"communities: the sweep stopped after {MAX_COMMUNITY_PAGES} pages "
                    f"({MAX_COMMUNITY_PAGES * PAGE} communities); the rest were not read"
                )
                self._note_unlisted(unlisted, [], whole=False)
                return unlisted
            self._place(name, at())
            page = self.client.communities(cursor)
            read += 1
            ids = ",".join(str(c.id) for c in page.items)
            if ids and pages.seen_before(ids):
                self._warn(
                    "communities: Lemmy sent a page it sent before (the same communities); "
                    "its paging loops, so this listing stops here"
                )
                self._note_unlisted(unlisted, [], whole=False)
                return unlisted
            unlisted = self._unlisted_of(page.items, unlisted)
            self._say_hidden(page.items, handed_out)
            fresh = self._community_images(page.items, handed_out)
            last = (
                not page.next
                or page.sent < PAGE
                or self._cursor_again("communities", page.next, cursors)
            )
            if not last:
                cursor = page.next
            if not fresh:  # as in ``walk``: the position moves past an empty page first
                following = {"phase": UNLISTED, "ids": unlisted}
                self._place(name, json.dumps(following) if last else at())
            yield fresh
            if last:
                self._note_unlisted(unlisted, [], whole=True)
                return unlisted

    # ------------------------------------------------------------------ unlisted communities
    def _unlisted_of(self, communities: list[Community], noted: list[int]) -> list[int]:
        """``noted`` with the unlisted ones of ``communities``, at most ``MAX_UNLISTED``."""
        out = list(noted)
        for community in communities:
            if community.visibility != UNLISTED or community.id in out:
                continue
            if len(out) >= MAX_UNLISTED:
                if not self._unlisted_capped:  # said once: every page after would say it
                    self._unlisted_capped = True
                    self._warn(
                        f"communities: more than {MAX_UNLISTED} unlisted; the posts of "
                        f"community {community.id} and those after it are not read"
                    )
                break
            out.append(community.id)
        return out

    def _say_hidden(self, communities: list[Community], handed_out: Marks) -> None:
        """Name (once a walk) each community 0.19 lists nothing of to the bot: one an admin
        hid that the bot does not follow (``HIDDEN_COMMUNITY``; one it moderates the
        client gives as unlisted, read as 1.0's are)."""
        for community in communities:
            mark = f"hidden community {community.id}"
            if community.visibility != HIDDEN_COMMUNITY or mark in handed_out:
                continue
            handed_out.add(mark)
            name = f" ({community.ref})" if community.ref else ""
            self._warn(
                f"community {community.id}{name}: hidden by an admin, and Lemmy 0.19 lists "
                "the posts and comments of a hidden community only to its followers and "
                "its moderators (not to admins as such): none of them were checked; have "
                "the bot's account follow it (or moderate it)"
            )

    def _known_unlisted(self) -> list[int]:
        try:
            known = json.loads(self.store.get_cursor(self._cursor("unlisted")) or "[]")
        except ValueError:
            return []
        return [int(i) for i in known if isinstance(i, int)]

    def _note_unlisted(
        self, found: list[int], listed: list[Community], *, whole: bool
    ) -> list[int]:
        """Keep the unlisted communities for the polls: ``found`` replaces what was kept
        when read from the ``whole`` list; else it is added, less those of ``listed``
        (a page read) that are no longer unlisted. Returns what is kept."""
        if whole:
            kept = list(found)
        else:
            public = {c.id for c in listed if c.visibility != UNLISTED}
            kept = [i for i in self._known_unlisted() if i not in public]
            kept = (kept + [i for i in found if i not in kept])[:MAX_UNLISTED]
        self.store.set_cursor(self._cursor("unlisted"), json.dumps(kept) if kept else None)
        return kept

    def _new_communities(self, handed_out: Marks) -> tuple[list[Item], list[int]]:
        """A deep poll's look at the newest communities (one page): a community made,
        or arrived by federation, since the last one, before anyone posts in it. With
        the unlisted communities known: the last sweep's, and the new ones here."""
        try:
            page = self.client.communities(None)
        except LemmyUnavailable:
            raise
        except LemmyError as exc:
            self._warn(f"communities: the list could not be read ({exc}); not checked")
            return [], self._known_unlisted()
        known = self._note_unlisted(self._unlisted_of(page.items, []), page.items, whole=False)
        return self._community_images(page.items, handed_out), known

    def _poll_unlisted(
        self, known: list[int], stop_at: datetime, handed_out: Marks
    ) -> Generator[list[Item], None, None]:
        """A deep poll's read of the unlisted communities (``post/list`` leaves their
        posts out): the newest posts of ``POLL_UNLISTED`` of them, in turn round the
        list, each down to ``stop_at`` (the deep poll's: ``lookback`` below the posts'
        watermark) or ``POLL_UNLISTED_PAGES`` pages; then, once, the comments listed as
        their moderator (``ModeratorView``, the only listing with theirs), down to
        ``stop_at``. Older ones, and those of a community not reached in time, are the
        sweep's. Nothing when none is known: an idle deep poll costs
        ``min(n, POLL_UNLISTED) + 1`` requests more, with ``n`` unlisted communities."""
        if not known:
            return
        turn_name = self._cursor("unlisted_turn")
        turn = (self.store.get_cursor(turn_name) or "0").strip()
        start = int(turn) % len(known) if turn.isdigit() else 0
        chosen = (known[start:] + known[:start])[:POLL_UNLISTED]
        self.store.set_cursor(turn_name, str((start + len(chosen)) % len(known)))
        for community in chosen:
            paging = _Paging()
            for _ in range(POLL_UNLISTED_PAGES):
                items, last = self._unlisted_page(community, paging, stop_at)
                fresh = [i for i in items if self._is_new(i)] + self._profiles(items, handed_out)
                if fresh:
                    yield fresh
                if last:
                    break
        pages = RepeatCheck()
        for number in range(1, POLL_UNLISTED_PAGES + 1):
            page = self.client.comments(number, as_moderator=True)
            items = _unique(page.items)
            if self._page_again("comments (as moderator)", items, pages):
                break
            fresh = [i for i in items if self._is_new(i)] + self._profiles(items, handed_out)
            if fresh:
                yield fresh
            oldest = _oldest(items)
            if page.sent < PAGE or oldest is None or oldest < stop_at:
                break

    def _community_images(self, communities: list[Community], handed_out: Marks) -> list[Item]:
        images = [image for c in communities for image in community_images(c)]
        fresh = self._not_seen(images, handed_out)
        for community in communities:
            fresh += self._description_images(community, handed_out)
        return fresh

    # ------------------------------------------------------------------ profile images
    def _profiles(self, items: list[Item], handed_out: Marks) -> list[Item]:
        """The avatars, banners, bios' images and community images of ``items``' people
        and communities not seen yet with this URL (modbot.profiles), each once a walk."""
        fresh = self._not_seen(profile_items(items), handed_out)
        for item in items:
            if item.problem or item.kind in PROFILE_KINDS:
                continue
            person = item.author
            if person is not None and person.bio:
                fresh += self._text_images(
                    "bio",
                    person.id,
                    person.bio,
                    handed_out,
                    f"the bio of person {person.id}",
                    author=person,
                    author_is_admin=item.author_is_admin,
                    local=person.local,
                )
            if item.community is not None:
                fresh += self._description_images(item.community, handed_out)
        return fresh

    def _description_images(self, community: Community, handed_out: Marks) -> list[Item]:
        if not community.description:
            return []
        return self._text_images(
            "community_description",
            community.id,
            community.description,
            handed_out,
            f"the description of community {community.id}",
            community=community,
            local=community.local,
        )

    def _text_images(
        self,
        kind: ItemKind,
        owner: int | str,
        text: str,
        handed_out: Marks,
        what: str,
        **fields: Any,
    ) -> list[Item]:
        """The images of a text not seen yet, once a walk: at most ``MAX_TEXT_IMAGES``
        (the next ones the next time the text is read, ``_in_turn``), of its first
        ``MAX_TEXT_READ``."""
        mark = f"text {kind}:{owner} {hashlib.sha256(text.encode()).hexdigest()[:16]}"
        if mark in handed_out:
            return []
        handed_out.add(mark)
        urls = text_urls(text, instance_url=self.public_url)
        images = text_images(kind, owner, urls[:MAX_TEXT_READ], text=text, **fields)
        fresh = self._not_seen(images, set())
        if fresh and len(urls) > MAX_TEXT_READ:
            self._warn(f"{what}: {len(urls)} images; only the first {MAX_TEXT_READ} are checked")
        if len(fresh) > MAX_TEXT_IMAGES:
            self._warn(
                f"{what}: {len(fresh)} images not checked yet; {MAX_TEXT_IMAGES} are "
                "checked now, the rest the next time it is read"
            )
            fresh = self._in_turn(f"text_turn:{kind}:{owner}", images, fresh)
        return fresh

    def _in_turn(self, name: str, images: list[Item], fresh: list[Item]) -> list[Item]:
        """``MAX_TEXT_IMAGES`` of a text's ``fresh`` images, from where the read before
        stopped (round the text, kept in the store): one never marked seen (its action
        keeps failing for a passing reason; a report marks nothing seen) would otherwise
        come first at every read, and the images after it never."""
        place = {image.id: n for n, image in enumerate(images)}
        start = self.store.get_cursor(self._cursor(name))
        start_at = int(start) if start and start.isdigit() else 0
        ordered = sorted(fresh, key=lambda i: (place[i.id] < start_at, place[i.id]))
        turn = ordered[:MAX_TEXT_IMAGES]
        self.store.set_cursor(self._cursor(name), str(place[turn[-1].id] + 1))
        return turn

    def _not_seen(self, images: list[Item], handed_out: Marks) -> list[Item]:
        """The profile images not handed out in this walk yet, nor seen with this URL."""
        out = []
        for image in images:
            mark = f"{image.key} {image.updated}"
            if mark not in handed_out:
                handed_out.add(mark)
                if self._is_new(image):
                    out.append(image)
        return out

    def _site_images(self) -> list[Item]:
        """The site's icon, banner and sidebar's images, when new or changed (read once a
        sweep). Only an admin writes the sidebar: its images are an admin's, recorded
        and never acted on."""
        try:
            site = self.client.site_info()
        except LemmyError as exc:
            if exc.error == STOPPING:  # the sweep is stopping: not done, read next time
                raise
            self._warn(f"the site's icon and banner could not be read ({exc}); not checked")
            return []
        if site.public_url:
            self.public_url = site.public_url.rstrip("/")
        fresh = [i for i in site_images(site) if self._is_new(i)]
        if site.sidebar:
            fresh += self._text_images(
                "site_sidebar",
                "site",
                site.sidebar,
                set(),
                "the site's sidebar",
                author_is_admin=True,
                local=True,
            )
        return fresh

    def _comments_of(self, post: Item, since: datetime | None) -> list[Item]:
        if not isinstance(post.id, int):
            return []  # a malformed post without an id: nothing to ask its comments by
        if post.comment_count == 0 and post.newest_comment is None:
            # it never had a comment: no request. A count of 0 alone is not enough:
            # Lemmy leaves deleted and removed comments out of it, not out of the listing
            return []
        if post.community is not None and post.community.visibility == UNLISTED:
            # 1.0 lists them as the community's moderator, or to a follower (then in
            # the listing of every comment), never to an admin as such
            # (it had comments, above: all of them removed or deleted counts 0, yet
            # they are listed, blanked, their images still on the instance)
            out, failed = self._read_comments(post.id, as_moderator=True)
            if not out and not failed:
                out, failed = self._read_comments(post.id)
            if not out and not failed:
                self._not_read(NOT_LISTED_WHY, post.id, None)
        else:
            out, _ = self._read_comments(post.id)
        return [c for c in out.values() if not (since and c.published and c.published < since)]

    def _read_comments(
        self, post_id: int, *, as_moderator: bool = False
    ) -> tuple[dict[str, Item], bool]:
        """A post's comments, by key: a comment posted while the pages are read pushes
        one read already onto the next page (0.19 pages by number, newest first); it is
        handed out once. And whether Lemmy failed to answer (said, and counted)."""
        out: dict[str, Item] = {}
        failed = False
        pages = RepeatCheck()
        for number in range(1, MAX_POST_COMMENT_PAGES + 1):
            try:
                page = self.client.comments(number, post_id=post_id, as_moderator=as_moderator)
            except LemmyError as exc:
                if exc.error == STOPPING:  # the sweep is stopping: the page is read again
                    raise
                self._comment_skipped(post_id, exc)
                failed = True
                break
            items = _unique(page.items)
            if self._page_again(f"comments of post {post_id}", items, pages):
                break
            for item in items:
                out.setdefault(item.key, item)
            if page.sent < PAGE:
                break
            if not page.next:  # a full page, and Lemmy serves no further one
                self._warn(
                    f"comments of post {post_id}: Lemmy lists no more than its newest "
                    f"{number * PAGE}; the older ones were not read"
                )
                break
        else:
            self._warn(
                f"comments of post {post_id}: more than {MAX_POST_COMMENT_PAGES * PAGE}; "
                "only the newest were read"
            )
        return out, failed

    def _comment_skipped(self, post_id: int, exc: LemmyError) -> None:
        why = "Lemmy unavailable" if isinstance(exc, LemmyUnavailable) else "Lemmy error"
        self._not_read(why, post_id, exc)

    def _not_read(self, why: str, post_id: int, exc: LemmyError | None) -> None:
        if self._walk_not_read is not None:  # the whole walk's, kept with its position
            total, first = self._walk_not_read.get(why, (0, []))
            first = [*first, post_id] if len(first) < SHOWN_NOT_READ else first
            self._walk_not_read[why] = (total + 1, first)
        count, shown = self._comments_not_read.get(why, (0, []))
        self._comments_not_read[why] = (count + 1, shown)
        said = why if exc is None else str(exc)
        if len(shown) < SHOWN_NOT_READ:
            shown.append(post_id)
            self._warn(f"comments of post {post_id}: {said}; not read")
        else:  # bounded: a long sweep through a failing Lemmy keeps a count only
            log.warning("comments of post %s: %s; not read", post_id, said)

    def take_comments_not_read(self) -> dict[str, tuple[int, list[int]]]:
        """The posts whose comments could not be read since the last call, by why:
        (how many, the first ids). Not retried within the walk: the next sweep reads
        every post's comments again."""
        taken, self._comments_not_read = self._comments_not_read, {}
        return taken

    def sweep_walked(self) -> str | None:
        """How far the sweep went in all its parts, for a status line: the interrupted
        one's, as its position keeps it ("40 pages walked so far, in 3 parts, since
        ..."), else the total of the walk this client ended last ("... in all ...");
        None when there is neither."""
        if self.sweep_in_progress():
            kept = self.store.get_cursor(self._sweep_walked)
            return _Walked.read(kept, resuming=True).said("so far")
        return self._walked_in_all

    def sweep_in_progress(self) -> bool:
        return self.store.get_cursor(self._sweep_position) is not None

    def forget_sweep(self) -> None:
        """Start the next backlog walk afresh, not where an interrupted one stopped."""
        self.store.set_cursor(self._sweep_position, None)
        self.store.set_cursor(self._sweep_gaps, None)
        self.store.set_cursor(self._sweep_warned, None)
        self.store.set_cursor(self._sweep_not_read, None)
        self.store.set_cursor(self._sweep_walked, None)

    # ------------------------------------------------------------------ seen, and again
    def mark_seen(self, item: Item) -> None:
        """The item was decided and recorded: not handed out again until it changes."""
        if self.remember_seen:
            self.store.mark_seen(self.scope, item.kind, item.id, item.updated)

    def _retry_ids(self, kind: str) -> list:
        return json.loads(self.store.get_cursor(self._cursor(f"retry_{kind}s")) or "[]")

    def posts_to_retry(self) -> list[Item]:
        """Posts with an action that failed for a passing reason. Read by id: once removed
        (often by the bot itself, just before) a post is hidden from the listings."""
        items = []
        for post_id in self._retry_ids("post"):
            try:
                item = self.client.post(post_id)
                if item.problem:  # recorded as skipped; its id may not be readable
                    self.set_retry("post", post_id, False)
                items.append(item)
            except LemmyUnavailable as exc:
                log.warning("post %s, to look at again: %s; next cycle", post_id, exc)
            except LemmyError as exc:  # purged since: nothing left to do
                log.warning("post %s, to look at again: %s; dropped", post_id, exc)
                self.set_retry("post", post_id, False)
        return items

    def profiles_to_retry(self) -> list[Item]:
        """A person's avatar, banner and bio images with an action that failed for a
        passing reason, read again by the person's id: one who never posts again would
        otherwise keep them (they are read with the person's posts and comments). An
        image changed since is read as it is now; one gone since is dropped."""
        keys = self._retry_ids("profile")
        if not keys:
            return []
        try:
            admins = self.client.admin_ids()
        except LemmyUnavailable as exc:
            log.warning("profile images to look at again: %s; next cycle", exc)
            return []
        items: list[Item] = []
        for person_id in sorted({_retry_owner(k) for k in keys}):
            wanted = {k for k in keys if _retry_owner(k) == person_id}
            try:
                person = self.client.person(person_id)
            except LemmyUnavailable as exc:
                log.warning("person %s's images, to look at again: %s; next cycle", person_id, exc)
                continue
            except LemmyError as exc:  # purged since: nothing left to do
                log.warning("person %s's images, to look at again: %s; dropped", person_id, exc)
                person = None
            images = []
            if person is not None:
                is_admin = person_id in admins  # never acted on: as when read with a post
                images = person_images(person, is_admin=is_admin)
                if person.bio:
                    urls = text_urls(person.bio, instance_url=self.public_url)[:MAX_TEXT_READ]
                    images += text_images(
                        "bio",
                        person_id,
                        urls,
                        text=person.bio,
                        author=person,
                        author_is_admin=is_admin,
                        local=person.local,
                    )
            again = [i for i in images if i.key in wanted]
            for key in wanted - {i.key for i in again}:
                kind, _, item_id = key.partition(":")
                self.set_retry(kind, item_id, False)
            items += again
        return items

    def retry_count(self) -> int:
        """How many items wait to be looked at again (``posts_to_retry``,
        ``profiles_to_retry``)."""
        return len(self._retry_ids("post")) + len(self._retry_ids("profile"))

    def set_retry(self, kind: str, item_id: int | str, retry: bool) -> None:
        """Whether to look at the item again: a post next cycle (``posts_to_retry``), a
        person's profile image too (``profiles_to_retry``), an upload at the next read
        of the uploads (``_read_uploads``). Comments, removed ones too, are listed again;
        communities' images are read again with the communities (a deep poll)."""
        if kind in PERSON_IMAGE_KINDS:
            entry: int | str = f"{kind}:{item_id}"
            kind = "profile"
        elif kind in ("post", "upload"):
            entry = item_id
        else:
            return
        name = self._cursor(f"retry_{kind}s")
        ids = self._retry_ids(kind)
        wanted = sorted(set(ids) | {entry}) if retry else [i for i in ids if i != entry]
        if wanted != ids:
            self.store.set_cursor(name, json.dumps(wanted) if wanted else None)


# A person's images, looked at again by the person's id (``Source.profiles_to_retry``).
PERSON_IMAGE_KINDS = ("avatar", "banner", "bio")


def _retry_owner(key: str) -> int:
    """The person of a ``profiles_to_retry`` entry: ``avatar:12``, ``bio:12:<digest>``."""
    return int(key.split(":")[1])


def kept_warnings(kept: str | None, walk: str) -> list[str]:
    """The warnings an interrupted ``walk`` ("sweep", "store sweep") kept beside its
    position (JSON: the first ``MAX_KEPT_WARNINGS``, then a count), once each, for the
    run that resumes it to say with its own."""
    found = KeptWarnings(kept)
    said, more = found.said, found.more
    if more:
        said.append(
            f"{more} more warnings of this {walk}'s earlier part: in the log of the runs "
            "that met them"
        )
    return said
