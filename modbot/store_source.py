"""Every file pict-rs stores, as items: the source of ``modbot sweep --store``.

Lemmy lists posts, comments and (to admins) the newest 5,000 uploads; pict-rs also holds
the thumbnails Lemmy made, avatars and banners, the remote images it cached for viewers
(``ProxyAllImages``), videos, and uploads older than Lemmy's page limit. pict-rs' internal
``GET /internal/hashes`` lists them all, newest first, whatever its storage backend.
Each stored file becomes one ``Item`` of kind ``file`` (its id: the SHA-256 of the stored
bytes, which is what modbot downloads, so the verdict cache answers for a file seen in a
post already), fetched through one of its aliases, decided by the rules like any item
(``type: file``, ``found_in: store``), and acted on through two indexes:

- alias -> uploader (``Store.uploader``, from Lemmy's media list, refreshed when a sweep
  starts or resumes: all of 1.0's, 0.19's newest 5,000): the person a ``ban`` targets; a file without a known uploader (a thumbnail
  Lemmy made, a cached remote image) falls back to the creator of the first post or
  comment the bot saw showing it, and the ban's record says which (``author_role``);
- alias -> item (``Store.items_showing``, from the decisions the bot recorded): the posts
  and comments ``remove``, ``purge_item`` and ``report`` act on.
- alias -> person (``Store.profile_showing``, from the avatars, banners and bios'
  images the bot recorded, ``modbot.profiles``): whom a ban targets when the file has
  no uploader and no post or comment shows it (a remote avatar pict-rs cached).

A file that is an admin's (``Admins``, read when a sweep starts: an alias of it is the
site's icon or banner or an image in the site's sidebar, an admin's avatar, banner or an
image in their bio, or an admin's upload; a remote image shown there counts by the
aliases of the copy pict-rs cached of it, ``GET /internal/aliases?proxy=``) is decided
as an admin's item, so nothing is done to it.

A file is decided once, and again only when an item's purge of the same bytes came
after that (``Store.purge_left``) yet pict-rs still lists it: the daemon's ``purge_image``
deletes its own alias only when another alias has an uploader Lemmy never listed to the
bot (a deleted account's, an old upload: it could be an admin's), and no listing shows
that alias; this walk is the one that reaches it.

The walk is resumable: its position (the slug of the page in hand, the ``created_at`` of
the last file of the page before, files done, the total) is in the store before each
page is read, and each file is marked seen in the transaction that records it; a killed
sweep reads its page again and skips what it finished. pict-rs restarts at the newest
page when a slug's file was purged meanwhile (no error): then the walk goes on by time,
from the files stored up to ``BY_TIME_SLACK`` after the saved ``created_at`` (pict-rs
lists a file by when it stored it, after external validation; its details'
``created_at`` is from before), skipping again those it finished, and counting them
once (the files walked in that margin are kept with the position). The total for the ETA
comes from a first pass that only counts (``limit`` 1000 a page), kept in the position,
as is where the count stands, page by page: a part stopped while counting (a daemon's
slice out of time) leaves the next part to carry the count on.
``files_per_second`` paces the walk (downloads, classification and pict-rs' listing) so
the instance keeps serving.

pict-rs records no origin for a file. ``origin`` ("local" / "federated", ``modbot sweep
--store --local`` / ``--federated``) goes by the uploader index: local are the files
Lemmy's media list names a (local) uploader for; federated every other one (remote
images pict-rs cached, thumbnails Lemmy made of links, and on 0.19 local uploads older
than the media list's newest 5,000). Every file is still counted and listed; only those
of the origin are downloaded and decided.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from modbot.errors import LemmyError
from modbot.images import image_refs
from modbot.lemmy.api import PAGE, LemmyApi
from modbot.lemmy.transport import STOPPING
from modbot.model import ImageRef, Item, Person, StoredFile, StorePage, Upload, parse_time
from modbot.source import (
    MAX_TEXT_READ,
    MAX_UPLOAD_PAGES,
    KeptWarnings,
    RepeatCheck,
    kept_warnings,
)
from modbot.store import Store

__all__ = [
    "COUNT_PAGE",
    "DEFAULT_FILES_PER_SECOND",
    "DEFAULT_PAGE",
    "Admins",
    "StoreSource",
    "file_item",
    "read_admins",
]

log = logging.getLogger(__name__)

COUNT_PAGE = 1000  # files per page of the counting pass (pict-rs has no upper bound)
DEFAULT_PAGE = 100  # files per page of the walk (pict-rs' own paging uses 100)
DEFAULT_FILES_PER_SECOND = 20.0
MAX_STORE_PAGES = 10_000_000  # a bound on one walk, in case pict-rs keeps inventing pages
# The files walked lately that a walk going on by time lists again (``_recent``), kept
# with the position: at most this many, each by the first 16 digits of its hash
MAX_RECENT = 1000


@dataclass(frozen=True)
class Admins:
    """The instance's admins and their images, as ``/site`` lists them when a store sweep
    starts. No listing need link a file to an admin (an avatar of an admin who never
    posted, the site's icon, an upload older than the media list's newest 5,000), and
    purging a file by any alias purges every alias of it: ``file_item`` makes a file an
    admin's when one of its aliases is one of these images or an admin's upload."""

    ids: frozenset[int] = frozenset()
    # alias -> (the admin, or None for the site's own images; what it is, in words)
    images: Mapping[str, tuple[Person | None, str]] = field(default_factory=dict)


def read_admins(
    client: LemmyApi,
    instance_url: str,
    *,
    cached: Callable[[str], list[str]] | None = None,
) -> Admins:
    """The admins (``GET /site``), the site's icon, banner and the images written into
    its sidebar, and each admin's avatar, banner and the images in their bio (``GET`` of
    the person: ``/site`` lists the admins, not their images in every API version). A
    profile that cannot be read fails the sweep's start rather than leave an admin's
    avatar unprotected.

    ``cached`` (``LemmyApi.proxied_aliases``): the aliases of the copy pict-rs cached of
    a remote image (``ProxyAllImages``): the text shows the remote URL or the instance's
    image proxy link, never that alias, yet the file is the site's or the admin's."""
    site = client.site_info()
    images: dict[str, tuple[Person | None, str]] = {}
    asked: set[str] = set()

    def note(refs: list[ImageRef], whose: Person | None, what: str) -> None:
        for ref in refs:
            if ref.alias:
                images.setdefault(ref.alias, (whose, what))
                continue
            remote = ref.original_url or ref.url
            if cached is None or remote in asked or not remote.startswith(("http://", "https://")):
                continue
            asked.add(remote)
            for alias in cached(remote):
                images.setdefault(alias, (whose, what))

    def image(url: str | None) -> list[ImageRef]:
        if not url:
            return []
        return image_refs(Item("avatar", 0, None, "", link=url), instance_url=instance_url)

    def text(markdown: str | None) -> list[ImageRef]:
        # a relative URL (``/pictrs/image/...``) is the instance's, as in any text
        if not markdown:
            return []
        item = Item("comment", 0, None, "", text=markdown)
        return image_refs(item, instance_url=instance_url)[:MAX_TEXT_READ]

    note(image(site.icon), None, "the site's icon")
    note(image(site.banner), None, "the site's banner")
    note(text(site.sidebar), None, "an image in the site's sidebar")
    for admin_id in sorted(site.admin_ids):
        admin = client.person(admin_id)
        note(image(admin.avatar), admin, "avatar")
        note(image(admin.banner), admin, "banner")
        note(text(admin.bio), admin, "an image in the bio")
    return Admins(ids=frozenset(site.admin_ids), images=images)


def file_item(stored: StoredFile, store: Store, admins: Admins | None = None) -> Item:
    """One stored file as an item: fetched by its first alias; its author the uploader
    (alias -> uploader; an admin, when an admin uploaded one of its aliases), else the
    creator of the first item showing it, else the person whose avatar or banner it is
    (or whose bio shows it).
    A file that is an admin's (``Admins``) is decided as an admin's item: never acted on."""
    admins = admins or Admins()
    aliases = stored.aliases
    showing = store.items_showing(stored.sha256, aliases)
    author, role = None, None
    for alias in aliases:
        row = store.uploader(alias)
        if row and row.get("person_id") is not None:
            uploader = int(row["person_id"])
            if author is None or uploader in admins.ids:
                author = Person(id=uploader, actor_id=row.get("actor_id"), local=True)
                role = "uploader"
            if uploader in admins.ids:
                break  # purging alias 1 would purge the admin's alias 2 with it
    if author is None:
        first = next((s for s in showing if s.get("author_id") is not None), None)
        if first is not None:
            author = Person(id=int(first["author_id"]), actor_id=first.get("author"))
            role = f"creator of {first['kind']} {first['id']}, no uploader known"
    if author is None:
        # an avatar or banner (a remote one pict-rs cached has no uploader), or an image
        # in a bio: its person
        profile = store.profile_showing(stored.sha256, aliases)
        if profile is not None:
            author = Person(id=profile["id"], actor_id=profile.get("author"))
            shows = "bio shows it" if profile["kind"] == "bio" else f"{profile['kind']} it is"
            role = f"person whose {shows}, no uploader known"
    local = True if role == "uploader" else None
    admin_image = next((admins.images[a] for a in aliases if a in admins.images), None)
    if admin_image is not None and (author is None or author.id not in admins.ids):
        whose, what = admin_image
        author = whose
        role = f"{what} of an admin" if whose is not None else what
    return Item(
        kind="file",
        id=stored.sha256,
        published=stored.created_at,
        updated=stored.hex,
        author=author,
        author_is_admin=admin_image is not None or (author is not None and author.id in admins.ids),
        local=local,
        upload=Upload(alias=aliases[0]),
        shown_by=tuple((s["kind"], int(s["id"]), s.get("author_id")) for s in showing),
        author_role=role,
    )


class StoreSource:
    """Batches (one per page of ``/internal/hashes``) of the stored files not seen yet."""

    def __init__(
        self,
        client: LemmyApi,
        store: Store,
        *,
        scope: str,
        page_size: int = DEFAULT_PAGE,
        files_per_second: float | None = DEFAULT_FILES_PER_SECOND,
        remember_seen: bool = True,
        dry_run: bool = False,
        origin: str = "all",
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,  # a stop event's wait: stops it
        stopped: Callable[[], bool] = lambda: False,  # a stop event's is_set
    ) -> None:
        self.client, self.store, self.scope = client, store, scope
        self.page_size = page_size
        self.files_per_second = files_per_second or None
        self.remember_seen = remember_seen
        self.dry_run = dry_run  # whose decisions ``purge_left`` reads: the dry runs' or not
        # "local": the files with a local uploader (Lemmy's media list names one);
        # "federated": every other file; pict-rs itself records no origin
        self.origin = origin
        self.warn = warn or (lambda message: log.warning("%s", message))
        self._clock, self._sleep, self._stopped = clock, sleep, stopped
        self.done = 0  # files of the store walked past (this sweep and the one it resumes)
        self.resumed_from = 0  # of which an interrupted sweep had walked past
        self.total: int | None = None
        self.ended = False  # the walk reached the store's end (not stopped, not failed)
        self.uploads = True  # refresh the alias -> uploader index (admins only)
        self.admins = Admins()  # the admins and their images (``read_admins``)
        # the walk's warnings, its earlier parts' first: kept beside the position while
        # ``batches`` walks (``_warn``)
        self._said: KeptWarnings | None = None

    def _cursor(self, name: str) -> str:
        suffix = "" if self.origin == "all" else f":{self.origin}"
        return f"{self.scope}:{name}{suffix}"

    @property
    def _name(self) -> str:
        return self._cursor("store_sweep")

    @property
    def _warned(self) -> str:
        # what the walk at ``_name`` warned of so far (``_warn``)
        return self._cursor("store_sweep_warnings")

    def in_progress(self) -> bool:
        return self.store.get_cursor(self._name) is not None

    def forget(self) -> None:
        """Start the next walk afresh, not where an interrupted one stopped."""
        self.store.set_cursor(self._name, None)
        self.store.set_cursor(self._warned, None)

    def earlier_warnings(self) -> list[str]:
        """What the interrupted walk at the stored position warned of in its earlier parts
        (runs stopped, failed or killed, the daemon's slices), once each: the run that
        resumes it says them with its own (the files walked then were decided so)."""
        if not self.in_progress():
            return []
        return kept_warnings(self.store.get_cursor(self._warned), "store sweep")

    def walked(self) -> str:
        """How far the walk is, for a run's summary ("40 of 100 stored files walked"). A
        run stopped before its walk counted the store (while it read the admins or the
        media list, or counted) says the figures of the position it resumes, and how
        far the count got, or that the store was not counted yet."""
        done, total = self.done, self.total
        counting = None
        if total is None:
            position = json.loads(self.store.get_cursor(self._name) or "{}")
            done, total = int(position.get("done") or 0), position.get("total")
            counting = position.get("counting")
        if total is None and counting:  # a count that spans parts: how far it got
            counted = int(counting.get("total") or 0)
            return f"{done} stored files walked (the store being counted: {counted} files so far)"
        if total is None:
            return f"{done} stored files walked (the store not counted yet)"
        return f"{done} of {total} stored files walked"

    def _warn(self, message: str) -> None:
        """Said through ``warn``, and, while a walk is in hand, kept beside its position
        (written with the position's moves; a stop or failure writes it again)."""
        self.warn(message)
        if self._said is not None and self._said.add(message):
            self.store.set_cursor(self._warned, self._said.state())

    def _save(self, position: dict) -> None:
        self.store.set_cursor(self._name, json.dumps(position, sort_keys=True))

    # ------------------------------------------------------------------ before the walk
    def count(self) -> int:
        """How many files pict-rs holds (a pass that only counts)."""
        counting = self._counting()
        while True:
            try:
                next(counting)
            except StopIteration as end:
                return int(end.value)

    def _counting(
        self, kept: dict | None = None, keep: Callable[[dict], None] | None = None
    ) -> Generator[list[Item], None, int]:
        """``count``, handing an empty batch over between pages: the sweep can stop.
        A page whose first file went meanwhile makes pict-rs start again at its newest
        page: the count goes on by time then, as the walk does, each file counted once.
        Where it stands is handed to ``keep`` before each stop, and ``kept`` goes on from
        there: a count longer than a daemon's slice is carried on by the next slice,
        not started again by each one (and no file ever walked)."""
        kept = kept or {}
        slug: str | None = kept.get("slug")
        after = parse_time(kept.get("after"))  # the last file counted's
        total, slugs = int(kept.get("total") or 0), RepeatCheck(kept.get("slugs"))
        recent: dict[str, float] = dict(kept.get("recent") or {})
        for _ in range(MAX_STORE_PAGES):
            page, by_time = self._page(slug, after, COUNT_PAGE)
            if by_time:
                slugs = RepeatCheck()  # the pages counted come again: their slugs are no loop
            total += sum(1 for f in page.files if f.hex[:16] not in recent)
            after = _oldest(after, page)
            recent = _recent(recent, page.files, after)
            if not page.next or slugs.seen_before(page.next):
                break
            slug = page.next
            if keep is not None:
                at = after.isoformat() if after is not None else None
                state = {"slug": slug, "after": at, "total": total, "slugs": slugs.state()}
                keep({**state, "recent": recent})
            yield []
        return total

    def refresh_uploaders(self) -> int:
        """Read Lemmy's media list into the alias -> uploader index; the number of
        uploads read. Page by page in the list's own order (``upload_pages``), as the
        sweep's uploads phase reads it, and bounded as that is: every upload of 1.0's
        list (the poll's ``uploads`` keeps only its newest ``MEDIA_KEPT``, and an older
        upload's file would have no uploader), 0.19's newest 5,000 (its page limit)."""
        read, cursor = 0, None
        cursors, pages = RepeatCheck(), RepeatCheck()
        for _ in range(MAX_UPLOAD_PAGES):
            if self._stopped():  # a daemon's stop, between pages of a list of millions
                return read
            page = self.client.upload_pages(cursor)
            items = [i for i in page.items if not i.problem]
            signature = ",".join(i.key for i in items)
            if signature and pages.seen_before(signature):
                break
            with self.store.transaction():
                for item in items:
                    if item.upload is not None and item.author is not None:
                        self.store.remember_uploader(
                            item.upload.alias, item.author.id, item.author.actor_id, item.updated
                        )
            read += len(items)
            if not page.next or not page.sent or cursors.seen_before(page.next):
                break
            cursor = page.next
        else:
            self._warn(
                f"store sweep: Lemmy's media list read no further than {MAX_UPLOAD_PAGES} "
                f"pages ({MAX_UPLOAD_PAGES * PAGE} uploads); the uploaders of older ones are "
                "not known (a ban falls back to who posted the file)"
            )
        # 0.19's page limit (its newest 5,000), as its client records it for the sweep's
        # "not reached" line: the files of older uploads have no uploader known
        cut = self.client.listing_cuts().get("uploads")
        if cut:
            local = "; --local leaves their files out" if self.origin == "local" else ""
            self._warn(
                f"store sweep: Lemmy's media list: {cut}; the uploaders of older uploads are "
                f"not known: a ban falls back to who posted the file{local}"
            )
        return read

    # ------------------------------------------------------------------ the walk
    # above pict-rs' external_validation_timeout (30 s unless set): a file's details are
    # made before its validation, its place in the listing after it
    BY_TIME_SLACK = timedelta(minutes=5)

    def _page(self, slug: str | None, after: datetime | None, limit: int) -> tuple[StorePage, bool]:
        """The page at ``slug`` (None: the newest), the walk's and the count's, and
        whether it was read by time. When the slug's file went (purged meanwhile),
        pict-rs answers its newest page, no error: then the files stored before
        ``after`` (the oldest file's details' ``created_at`` so far) + ``BY_TIME_SLACK``,
        every time: pict-rs lists a file by when it stored it, after its validation,
        so a file stored while the last one was validated comes after it. The files in
        that margin, done already, come again (``_recent`` counts them once); the walk
        still ends, each such step being a file gone, and ``after`` never moving back."""
        page = self.client.stored_files(slug, limit=limit)
        if slug is None or page.current == slug:
            return page, False
        log.info("store sweep: the page's first file is gone; going on by time")
        if after is None:  # no file walked had details: the newest page, once more
            return page, True
        return self.client.stored_files(
            None, timestamp=after + self.BY_TIME_SLACK, limit=limit
        ), True

    def batches(self) -> Generator[list[Item], None, None]:
        """The files not seen yet, a page at a time, newest first; resumes an
        interrupted walk; the position is cleared when the walk completes. What the walk
        warns of is kept beside the position until then (``earlier_warnings``)."""
        if self.in_progress():
            said = KeptWarnings(self.store.get_cursor(self._warned))
        else:
            said = KeptWarnings()
            if self.store.get_cursor(self._warned) is not None:  # of a walk that is gone
                self.store.set_cursor(self._warned, None)
        self._said = said
        before = said.state()
        try:
            yield from self._walk()
        finally:
            # stopped or failed: what this run warned of is written again, outside the
            # pipeline's held writes (a batch that failed to land drops those)
            if not self.ended and said.state() != before:
                self.store.set_cursor(self._warned, said.state())
            self._said = None

    def _walk(self) -> Generator[list[Item], None, None]:
        position = json.loads(self.store.get_cursor(self._name) or "{}")
        if position:
            log.info(
                "resuming the interrupted store sweep (%s of %s files done)",
                position.get("done"),
                position.get("total"),
            )
        if self.uploads:
            # a resumed walk too: an upload made while it was stopped (an admin's, of the
            # same bytes as a file still ahead: one file) must be known to be theirs
            try:
                log.info("alias -> uploader: %d uploads read", self.refresh_uploaders())
            except LemmyError as exc:
                if exc.error == STOPPING:  # a stop given a retried page up: read next walk
                    return
                self._warn(
                    f"store sweep: Lemmy's media list could not be read ({exc}); a ban "
                    "falls back to who posted the file"
                )
            if self._stopped():
                # stopped while reading it: no file is walked with half an index, and the
                # next walk (or slice) reads the list again
                return
        if not position:
            position = {"slug": None, "after": None, "done": 0, "total": None}
            self._save(position)  # a sweep stopped while counting resumes, not restarts
        if position.get("total") is None:

            def counted(state: dict) -> None:  # saved with the walk's position
                position["counting"] = state
                self._save(position)

            position["total"] = yield from self._counting(position.get("counting"), counted)
            position.pop("counting", None)
            self._save(position)
        self.total = position.get("total")
        self.done = self.resumed_from = int(position.get("done") or 0)
        slugs = RepeatCheck(position.get("slugs"))
        recent: dict[str, float] = dict(position.get("recent") or {})
        started, walked = self._clock(), 0
        for _ in range(MAX_STORE_PAGES):
            after = parse_time(position.get("after"))
            page, by_time = self._page(position.get("slug"), after, self.page_size)
            if by_time:
                # the pages done come again (Postgres' pict-rs answers the newest page
                # when nothing is older): their slugs are no loop
                slugs = RepeatCheck()
            files = [f for f in page.files if f.aliases]  # none left: being deleted
            # a file decided before is not looked up again (its uploader, the items
            # showing it: several queries a file, on every file of a store walked anew)
            items = [file_item(f, self.store, self.admins) for f in files if self._is_new(f)]
            fresh = [i for i in items if self._in_origin(i)]
            # handed over even when empty: the sweep stops between pages, and the
            # position it holds while a page is read is saved page by page
            yield fresh
            # a page read by time lists again the files walked in its margin: counted
            # once, so that "done of total" and the ETA stay true
            self.done += sum(1 for f in page.files if f.hex[:16] not in recent)
            if self.total is not None and self.done > self.total:
                # files stored while the count went on (behind it, newest first) are
                # walked from the newest page, not counted: the total is at least these
                self.total = self.done
            walked += len(fresh)
            after = _oldest(after, page)
            recent = _recent(recent, page.files, after)
            if not page.next or slugs.seen_before(page.next):
                break
            position = {
                "slug": page.next,
                "after": after.isoformat() if after is not None else None,
                "done": self.done,
                "total": self.total,
                "slugs": slugs.state(),
                "recent": recent,
            }
            self._save(position)
            self._pace(started, walked)
        else:
            self._warn(f"store sweep: stopped after {MAX_STORE_PAGES} pages")
        self.forget()
        self.ended = True

    def _in_origin(self, item: Item) -> bool:
        if self.origin == "all":
            return True
        return (item.author_role == "uploader") == (self.origin == "local")

    def _is_new(self, stored: StoredFile) -> bool:
        """Not decided yet (the store's "seen" mark of its item: ``file_item``'s kind,
        id and ``updated``), or to be decided again."""
        if not self.remember_seen:
            return True
        if not self.store.is_seen(self.scope, "file", stored.sha256, stored.hex):
            return True
        # decided before, but a post's (an upload's ...) purge of these bytes since left
        # the file stored: an alias of it no listing shows is this walk's to finish
        return self.store.purge_left(stored.sha256, dry_run=self.dry_run)

    def _pace(self, started: float, walked: int) -> None:
        """At most ``files_per_second`` on average since the walk started."""
        if self.files_per_second is None:
            return
        ahead = walked / self.files_per_second - (self._clock() - started)
        if ahead > 0:
            self._sleep(ahead)


def _oldest(after: datetime | None, page: StorePage) -> datetime | None:
    """Where a read by time goes on from after ``page``: its last file's ``created_at``,
    unless a file done before is older (a page read by time lists again files newer than
    ``after``: going on from them would read the same files again at each step)."""
    last = page.files[-1].created_at if page.files else None
    if not isinstance(last, datetime):
        return after
    return last if after is None else min(after, last)


def _recent(
    recent: Mapping[str, float], files: list[StoredFile], after: datetime | None
) -> dict[str, float]:
    """The files walked that a page read by time from ``after`` + ``BY_TIME_SLACK`` (the
    walk's next step, when a page's first file is gone) can list again: those made less
    than that margin after ``after``, by hash prefix -> ``created_at`` (epoch seconds);
    the ``MAX_RECENT`` oldest, which are the nearest to ``after``."""
    kept = dict(recent)
    for f in files:
        if f.created_at is not None:
            kept[f.hex[:16]] = f.created_at.timestamp()
    if after is not None:
        horizon = (after + StoreSource.BY_TIME_SLACK).timestamp()
        kept = {h: t for h, t in kept.items() if t < horizon}
    return dict(sorted(kept.items(), key=lambda kv: kv[1])[:MAX_RECENT])
