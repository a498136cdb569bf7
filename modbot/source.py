"""Where items come from: polling new posts, comments and uploads, and the backlog sweep.

Polling reads ``post/list`` and ``comment/list`` (``sort=New``, ``type_=All``,
``limit=50``) page by page until it reaches what it has seen (the newest ``published``
of the last poll): an idle poll costs these two requests. Lemmy sorts by ``published``,
and a federated item can arrive late with an older ``published``; so every
``deep_every`` (and on ``run --once``) a poll pages further, down to ``lookback`` before
that watermark. An item is looked at again when its ``updated`` changes (an edit).
Uploads come from ``admin/list_all_media`` (admins only, newest first), every
``uploads_every`` and on each deep poll: an upload that is posted is seen at once as
the post's image; one never posted waits a few minutes at most.

The backlog iterator walks posts by ``page_cursor`` (at most ``MAX_SWEEP_PAGES``
pages) and each post's comments (``comment/list?post_id=``, skipped when the post has
none), then uploads; its position is kept in the store after each page, so an
interrupted sweep resumes there.

Lemmy's answers are checked here, where they become items (``Item.from_view``): an
item whose view lacks what identifies it, or has a field of the wrong type, becomes a
*malformed* item (``problem`` says what is wrong, ``view`` is empty) that the pipeline
records as skipped; the rest of the page goes on. Every paging loop stops, with a
warning, when Lemmy hands out a cursor or a page it handed out before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modbot.lemmy import LemmyClient, LemmyError
from modbot.store import Store

__all__ = ["Item", "RepeatCheck", "Source", "parse_time"]

log = logging.getLogger(__name__)

MAX_COMMENT_PAGE = 100  # Lemmy 0.19.15+ refuses page > 100
MAX_POST_PAGES = 400  # a bound on one poll's paging, in case a watermark is bogus
# A bound on one sweep's post pages (50 million posts): what ends a walk through a Lemmy
# that keeps inventing new pages (a loop back to an old page is noticed at once).
MAX_SWEEP_PAGES = 1_000_000
PAGE = 50  # Lemmy's maximum page size


def parse_time(value: str | None) -> datetime | None:
    """Lemmy's timestamps (``2026-11-21T10:00:00.123456Z``; some have no zone) as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# What modbot reads of each view, and the rule for it. Required: what identifies the item
# and whom an action hits (its id and time, its author, its community); without them, or
# with any field of the wrong type, the item is malformed. Every other field may be
# missing or null (read as absent); no other field is read.
_REQUIRED, _OPTIONAL = True, False


def _person_fields(name: str) -> tuple[tuple[str, str, bool], ...]:
    return (
        (name, "object", _REQUIRED),
        (f"{name}.id", "id", _REQUIRED),
        (f"{name}.actor_id", "text", _OPTIONAL),
        (f"{name}.name", "text", _OPTIONAL),
        (f"{name}.local", "bool", _OPTIONAL),
        (f"{name}.bot_account", "bool", _OPTIONAL),
        (f"{name}.published", "time", _OPTIONAL),
    )


_IN_COMMUNITY = (
    ("community", "object", _REQUIRED),
    ("community.id", "id", _REQUIRED),
    ("community.name", "text", _OPTIONAL),
    ("community.actor_id", "text", _OPTIONAL),
    ("community.nsfw", "bool", _OPTIONAL),
    ("community.local", "bool", _OPTIONAL),
    *_person_fields("creator"),
    ("creator_is_moderator", "bool", _OPTIONAL),
    ("creator_is_admin", "bool", _OPTIONAL),
)
VIEW_FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "post": (
        ("post", "object", _REQUIRED),
        ("post.id", "id", _REQUIRED),
        ("post.published", "time", _REQUIRED),
        ("post.updated", "time", _OPTIONAL),
        ("post.url", "text", _OPTIONAL),
        ("post.url_content_type", "text", _OPTIONAL),
        ("post.thumbnail_url", "text", _OPTIONAL),
        ("post.body", "text", _OPTIONAL),
        ("post.local", "bool", _OPTIONAL),
        ("post.featured_local", "bool", _OPTIONAL),
        ("post.featured_community", "bool", _OPTIONAL),
        *_IN_COMMUNITY,
        ("counts", "object", _OPTIONAL),
        ("counts.comments", "count", _OPTIONAL),
    ),
    "comment": (
        ("comment", "object", _REQUIRED),
        ("comment.id", "id", _REQUIRED),
        ("comment.published", "time", _REQUIRED),
        ("comment.updated", "time", _OPTIONAL),
        ("comment.content", "text", _OPTIONAL),
        ("comment.local", "bool", _OPTIONAL),
        *_IN_COMMUNITY,
    ),
    "upload": (
        ("local_image", "object", _REQUIRED),
        ("local_image.pictrs_alias", "alias", _REQUIRED),
        ("local_image.published", "time", _REQUIRED),
        ("local_image.pictrs_delete_token", "text", _OPTIONAL),
        *_person_fields("person"),
    ),
}
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")  # pict-rs: <uuid>.<ext>
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "object": ("an object", lambda v: isinstance(v, dict)),
    "id": ("a positive integer", lambda v: type(v) is int and v > 0),
    "count": ("a count", lambda v: type(v) is int and v >= 0),
    "text": ("a string", lambda v: isinstance(v, str)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "time": ("a timestamp", lambda v: isinstance(v, str) and parse_time(v) is not None),
    "alias": (
        "a pict-rs alias",
        lambda v: isinstance(v, str) and bool(_ALIAS.fullmatch(v)) and ".." not in v,
    ),
}


def _shown(value: Any) -> str:
    """A value in a problem's description: its kind, and a scalar's first characters."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def view_problem(kind: str, view: Any) -> str | None:
    """What is wrong with a Lemmy view of ``kind`` (by ``VIEW_FIELDS``), or None."""
    if not isinstance(view, dict):
        return f"the {kind} is {_shown(view)}, not an object"
    for path, type_name, required in VIEW_FIELDS[kind]:
        value: Any = view
        for name in path.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            if required:
                return f"`{path}` is missing"
            continue
        words, check = _TYPES[type_name]
        if not check(value):
            return f"`{path}` is {_shown(value)}, not {words}"
    return None


@dataclass
class Item:
    """One post, comment or upload, with the Lemmy view it came in.

    A malformed item (``problem`` set) keeps no view (``{}``): its ``id`` is Lemmy's when
    that could be read, else ``malformed-<hash>`` of the view, and ``updated`` is that
    hash, so the same broken view is recorded once and a repaired one is looked at.
    """

    kind: str  # "post" | "comment" | "upload"
    id: int | str  # the upload's id is its pict-rs alias
    published: datetime | None
    updated: str  # `updated`, else `published`: what "seen" compares
    view: dict[str, Any] = field(repr=False)
    problem: str | None = None  # what is wrong with a malformed item, in words

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def from_view(cls, kind: str, view: Any) -> Item:
        """The item of a Lemmy view: checked, or malformed (never an exception)."""
        problem = view_problem(kind, view)
        if problem is not None:
            return cls._malformed(kind, view, problem)
        own = view["local_image" if kind == "upload" else kind]
        item_id = own["pictrs_alias"] if kind == "upload" else own["id"]
        updated = own["published"] if kind == "upload" else own.get("updated") or own["published"]
        return cls(kind, item_id, parse_time(own["published"]), updated, view)

    @classmethod
    def from_post(cls, view: Any) -> Item:
        return cls.from_view("post", view)

    @classmethod
    def from_comment(cls, view: Any) -> Item:
        return cls.from_view("comment", view)

    @classmethod
    def from_upload(cls, view: Any) -> Item:
        return cls.from_view("upload", view)

    @classmethod
    def _malformed(cls, kind: str, view: Any, problem: str) -> Item:
        digest = hashlib.sha256(
            json.dumps(view, sort_keys=True, default=repr).encode()
        ).hexdigest()[:16]
        own = (
            view.get("local_image" if kind == "upload" else kind)
            if isinstance(view, dict)
            else None
        )
        own = own if isinstance(own, dict) else {}
        field_name, type_name = ("pictrs_alias", "alias") if kind == "upload" else ("id", "id")
        found = own.get(field_name)
        item_id = (
            found if found is not None and _TYPES[type_name][1](found) else f"malformed-{digest}"
        )
        published = own.get("published")
        moment = parse_time(published) if isinstance(published, str) else None
        return cls(kind, item_id, moment, f"malformed:{digest}", {}, problem)


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


def _items(kind: str, views: list) -> list[Item]:
    """A page's items, one per key: a view repeated on a page (a broken copy of a post
    beside the real one) is one item, the readable copy when there is one."""
    items: dict[str, Item] = {}
    for view in views:
        item = Item.from_view(kind, view)
        if item.key not in items or (items[item.key].problem and not item.problem):
            items[item.key] = item
    return list(items.values())


def _post_ids(items: list[Item]) -> list[int]:
    return [i.id for i in items if isinstance(i.id, int)]


def _featured(view: dict) -> bool:
    post = view.get("post") or {}
    return bool(post.get("featured_local") or post.get("featured_community"))


def _oldest(items: list[Item], *, skip_featured: bool = False) -> datetime | None:
    # Featured posts come first whatever their age: they say nothing about paging.
    times = [
        i.published for i in items if i.published and not (skip_featured and _featured(i.view))
    ]
    return min(times) if times else None


class Source:
    """New and backlog items for one bot; ``scope`` keeps dry-run and live state apart."""

    def __init__(
        self,
        client: LemmyClient,
        store: Store,
        *,
        scope: str,
        lookback: timedelta = timedelta(hours=6),
        deep_every: timedelta = timedelta(minutes=10),
        uploads: bool = True,
        uploads_every: timedelta = timedelta(minutes=5),
        remember_seen: bool = True,
        clock=time.time,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.client, self.store, self.scope = client, store, scope
        self.warn = warn  # where paging problems are told (logged, and kept for reports)
        self.lookback, self.deep_every = lookback, deep_every
        self.uploads = uploads
        self.uploads_every = uploads_every
        self.remember_seen = remember_seen
        self._clock = clock

    def _cursor(self, name: str) -> str:
        return f"{self.scope}:{name}"

    def _is_new(self, item: Item) -> bool:
        if not self.remember_seen:
            return True
        return not self.store.is_seen(self.scope, item.kind, item.id, item.updated)

    def _watermark(self, name: str) -> datetime | None:
        return parse_time(self.store.get_cursor(self._cursor(f"watermark:{name}")))

    def _set_watermark(self, name: str, newest: datetime | None) -> None:
        old = self._watermark(name)
        if newest and (old is None or newest > old):
            self.store.set_cursor(self._cursor(f"watermark:{name}"), newest.isoformat())

    # ------------------------------------------------------------------ polling
    def _due(self, name: str, every: timedelta) -> bool:
        last = self.store.get_cursor(self._cursor(name))
        return last is None or self._clock() - float(last) >= every.total_seconds()

    def deep_due(self) -> bool:
        return self._due("last_deep_poll", self.deep_every)

    def poll(self, *, deep: bool | None = None) -> Iterator[list[Item]]:
        """Batches (one per page) of items not seen yet; watermarks move at the end."""
        deep = self.deep_due() if deep is None else deep
        started = self._clock()
        newest: dict[str, datetime | None] = {}
        # Uploads are read first: an admin-only read, so a dropped login answers 401 (and
        # the client logs in again) before the listings below are read as anonymous. They
        # are handed out last: a post using an upload is decided (and removed) before the
        # upload's image is purged, which would leave the post with nothing to check.
        uploads: list[list[Item]] = []
        read_uploads = self.uploads and (deep or self._due("last_uploads_poll", self.uploads_every))
        if read_uploads:
            uploads, newest["uploads"] = self._read_uploads()
        for name, pages in (("posts", self._post_pages), ("comments", self._comment_pages)):
            stop_at = self._stop_at(name, deep)
            batch_newest = None
            for items in pages(stop_at):
                times = [i.published for i in items if i.published]
                if times:
                    batch_newest = max([*times, batch_newest] if batch_newest else times)
                fresh = [i for i in items if self._is_new(i)]
                if fresh:
                    yield fresh
            newest[name] = batch_newest
        yield from uploads
        # Only now, everything read having been handed out: a poll cut short repeats.
        for name, moment in newest.items():
            self._set_watermark(name, moment)
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

    def _list_posts(self, cursor: str | None, page_ids: list[int]) -> tuple[list[dict], str | None]:
        """One page after ``cursor``; if the post it names is gone, after an earlier one.

        Lemmy 0.19's cursor names the last post of the previous page (``after_post``:
        ``P`` + hex id) and fails with ``couldnt_find_post`` once that post is purged,
        which the bot itself may just have done. Resuming after the previous page's
        other posts (newest to oldest order, so from the end backwards) re-reads at most
        a few posts already seen, which are skipped.
        """
        try:
            return self.client.list_posts(page_cursor=cursor, limit=PAGE)
        except LemmyError as exc:
            if cursor is None or exc.error != "couldnt_find_post":
                raise
        for post_id in reversed(page_ids):
            fallback = f"P{post_id:x}"
            if fallback == cursor:
                continue
            try:
                views, next_cursor = self.client.list_posts(page_cursor=fallback, limit=PAGE)
            except LemmyError as exc:
                if exc.error != "couldnt_find_post":
                    raise
                continue
            log.info(
                "posts: the page cursor's post is gone (purged); resumed after post %d", post_id
            )
            return views, next_cursor
        log.warning(
            "posts: the page cursor's post and its page are gone; reading from the "
            "newest post again (items already seen are skipped)"
        )
        return self.client.list_posts(page_cursor=None, limit=PAGE)

    def _post_pages(self, stop_at: datetime) -> Iterator[list[Item]]:
        cursor: str | None = None
        page_ids: list[int] = []
        cursors, pages = RepeatCheck(), RepeatCheck()
        for _ in range(MAX_POST_PAGES):
            views, cursor = self._list_posts(cursor, page_ids)
            items = _items("post", views)
            page_ids = _post_ids(items)
            if self._page_again("posts", items, pages):
                return
            if items:
                yield items
            oldest = _oldest(items, skip_featured=True)
            if not cursor or len(views) < PAGE or oldest is None or oldest < stop_at:
                return
            if self._cursor_again("posts", cursor, cursors):
                return
        self._warn(
            f"posts: stopped after {MAX_POST_PAGES} pages in one poll; the sweep covers older ones"
        )

    def _comment_pages(self, stop_at: datetime) -> Iterator[list[Item]]:
        pages = RepeatCheck()
        for page in range(1, MAX_COMMENT_PAGE + 1):
            views = self.client.list_comments(page=page, limit=PAGE)
            items = _items("comment", views)
            if self._page_again("comments", items, pages):
                return
            if items:
                yield items
            oldest = _oldest(items)
            if len(views) < PAGE or oldest is None or oldest < stop_at:
                return
        log.warning(
            "comments: reached Lemmy's page limit (%d pages); the sweep covers older ones",
            MAX_COMMENT_PAGE,
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
        if self.warn is not None:
            self.warn(message)
        else:
            log.warning("%s", message)

    def _read_uploads(self) -> tuple[list[list[Item]], datetime | None]:
        """New uploads (batches) and the newest ``published`` read, for the watermark."""
        # First poll: the lookback window, like posts; older uploads are the sweep's job.
        mark = self._watermark("uploads") or datetime.now(UTC) - self.lookback
        newest = None
        batches: list[list[Item]] = []
        pages = RepeatCheck()
        for page in range(1, MAX_COMMENT_PAGE + 1):
            views = self.client.list_all_media(page=page, limit=PAGE)
            items = _items("upload", views)
            if self._page_again("uploads", items, pages):
                break
            self._remember_uploaders(items)
            times = [i.published for i in items if i.published]
            if times:
                newest = max([*times, newest] if newest else times)
            fresh = [
                i for i in items if self._is_new(i) and (i.published is None or i.published >= mark)
            ]
            if fresh:
                batches.append(fresh)
            oldest = _oldest(items)
            # Uploads are local: they never arrive late, the watermark is exact.
            if len(views) < PAGE or oldest is None or oldest < mark:
                break
        return batches, newest

    def _remember_uploaders(self, items: list[Item]) -> None:
        with self.store.transaction():
            for item in items:
                if item.problem:
                    continue
                person, image = item.view["person"], item.view["local_image"]
                self.store.remember_uploader(
                    image["pictrs_alias"],
                    person["id"],
                    person.get("actor_id"),
                    image["published"],
                )

    # ------------------------------------------------------------------ backlog
    def backlog(self, since: datetime | None = None) -> Iterator[list[Item]]:
        """Batches of every post (with its comments) and upload back to ``since``.

        Resumes from the stored position of an interrupted sweep; the position is
        cleared when the walk completes. Items already seen are left out. The walk
        through the posts stops, with a warning, when Lemmy's paging loops back to a
        cursor or page it sent before, or after ``MAX_SWEEP_PAGES`` pages.
        """
        name = self._cursor("sweep_position")
        position = json.loads(self.store.get_cursor(name) or "{}")
        if position:
            log.info("resuming the interrupted sweep (%s)", position.get("phase"))
        if position.get("phase", "posts") == "posts":
            cursor = position.get("page_cursor")
            page_ids = position.get("page_ids", [])
            read = int(position.get("pages", 0))
            # The loop checks live in the stored position: a sweep in slices (the
            # daemon's) or resumed after a stop still notices a loop.
            cursors = RepeatCheck(position.get("cursors"))
            pages = RepeatCheck(position.get("pages_seen"))
            while True:
                if read >= MAX_SWEEP_PAGES:
                    self._warn(
                        f"posts: the sweep stopped after {MAX_SWEEP_PAGES} pages "
                        f"({MAX_SWEEP_PAGES * PAGE} posts); older posts were not read"
                    )
                    break
                self.store.set_cursor(
                    name,
                    json.dumps(
                        {
                            "phase": "posts",
                            "page_cursor": cursor,
                            "page_ids": page_ids,
                            "pages": read,
                            "cursors": cursors.state(),
                            "pages_seen": pages.state(),
                        }
                    ),
                )
                views, next_cursor = self._list_posts(cursor, page_ids)
                read += 1
                posts = _items("post", views)
                page_ids = _post_ids(posts)
                if self._page_again("posts", posts, pages):
                    break
                batch: list[Item] = []
                for post in posts:
                    if (
                        since
                        and post.published
                        and post.published < since
                        and not _featured(post.view)
                    ):
                        continue
                    if self._is_new(post):
                        batch.append(post)
                    batch.extend(c for c in self._comments_of(post, since) if self._is_new(c))
                if batch:
                    yield batch
                oldest = _oldest(posts, skip_featured=True)
                if not next_cursor or not views or (since and oldest and oldest < since):
                    break
                if self._cursor_again("posts", next_cursor, cursors):
                    break
                cursor = next_cursor
            position = {"phase": "uploads", "page": 1}
        if self.uploads:
            page = int(position.get("page", 1))
            pages = RepeatCheck()
            while page <= MAX_COMMENT_PAGE:
                self.store.set_cursor(name, json.dumps({"phase": "uploads", "page": page}))
                views = self.client.list_all_media(page=page, limit=PAGE)
                items = _items("upload", views)
                if self._page_again("uploads", items, pages):
                    break
                self._remember_uploaders(items)
                fresh = [
                    i
                    for i in items
                    if self._is_new(i) and not (since and i.published and i.published < since)
                ]
                if fresh:
                    yield fresh
                oldest = _oldest(items)
                if len(views) < PAGE or (since and oldest and oldest < since):
                    break
                page += 1
        self.store.set_cursor(name, None)

    def _comments_of(self, post: Item, since: datetime | None) -> list[Item]:
        if not isinstance(post.id, int):
            return []  # a malformed post without an id: nothing to ask its comments by
        counts = post.view.get("counts") or {}
        if counts.get("comments") == 0:
            return []
        out: list[Item] = []
        pages = RepeatCheck()
        for page in range(1, MAX_COMMENT_PAGE + 1):
            try:
                views = self.client.list_comments(page=page, limit=PAGE, post_id=post.id)
            except LemmyError as exc:
                log.warning("comments of post %s: %s; skipped", post.id, exc)
                break
            items = _items("comment", views)
            if self._page_again(f"comments of post {post.id}", items, pages):
                break
            out.extend(items)
            if len(views) < PAGE:
                break
        return [c for c in out if not (since and c.published and c.published < since)]

    def sweep_in_progress(self) -> bool:
        return self.store.get_cursor(self._cursor("sweep_position")) is not None
