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

The backlog iterator walks posts by ``page_cursor`` (no page limit) and each post's
comments (``comment/list?post_id=``, skipped when the post has none), then uploads; its
position is kept in the store after each page, so an interrupted sweep resumes there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from modbot.lemmy import LemmyClient, LemmyError
from modbot.store import Store

__all__ = ["Item", "Source", "parse_time"]

log = logging.getLogger(__name__)

MAX_COMMENT_PAGE = 100  # Lemmy 0.19.15+ refuses page > 100
MAX_POST_PAGES = 400  # a bound on one poll's paging, in case a watermark is bogus
PAGE = 50  # Lemmy's maximum page size


def parse_time(value: str | None) -> datetime | None:
    """Lemmy's timestamps (``2026-11-21T10:00:00.123456Z``; some have no zone) as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Item:
    """One post, comment or upload, with the Lemmy view it came in."""

    kind: str  # "post" | "comment" | "upload"
    id: int | str  # the upload's id is its pict-rs alias
    published: datetime | None
    updated: str  # `updated`, else `published`: what "seen" compares
    view: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def from_post(cls, view: dict) -> Item:
        post = view["post"]
        return cls("post", post["id"], parse_time(post.get("published")),
                   post.get("updated") or post.get("published") or "", view)

    @classmethod
    def from_comment(cls, view: dict) -> Item:
        comment = view["comment"]
        return cls("comment", comment["id"], parse_time(comment.get("published")),
                   comment.get("updated") or comment.get("published") or "", view)

    @classmethod
    def from_upload(cls, view: dict) -> Item:
        image = view["local_image"]
        return cls("upload", image["pictrs_alias"], parse_time(image.get("published")),
                   image.get("published") or "", view)


def _featured(view: dict) -> bool:
    post = view.get("post") or {}
    return bool(post.get("featured_local") or post.get("featured_community"))


def _oldest(items: list[Item], *, skip_featured: bool = False) -> datetime | None:
    # Featured posts come first whatever their age: they say nothing about paging.
    times = [i.published for i in items
             if i.published and not (skip_featured and _featured(i.view))]
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
    ) -> None:
        self.client, self.store, self.scope = client, store, scope
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
        read_uploads = self.uploads and (deep or self._due("last_uploads_poll",
                                                           self.uploads_every))
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
            return datetime.now(timezone.utc) - self.lookback
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
            log.info("posts: the page cursor's post is gone (purged); resumed after post %d",
                     post_id)
            return views, next_cursor
        log.warning("posts: the page cursor's post and its page are gone; reading from the "
                    "newest post again (items already seen are skipped)")
        return self.client.list_posts(page_cursor=None, limit=PAGE)

    def _post_pages(self, stop_at: datetime) -> Iterator[list[Item]]:
        cursor: str | None = None
        page_ids: list[int] = []
        for _ in range(MAX_POST_PAGES):
            views, cursor = self._list_posts(cursor, page_ids)
            items = [Item.from_post(v) for v in views]
            page_ids = [i.id for i in items]
            if items:
                yield items
            oldest = _oldest(items, skip_featured=True)
            if not cursor or len(views) < PAGE or oldest is None or oldest < stop_at:
                return

    def _comment_pages(self, stop_at: datetime) -> Iterator[list[Item]]:
        for page in range(1, MAX_COMMENT_PAGE + 1):
            views = self.client.list_comments(page=page, limit=PAGE)
            items = [Item.from_comment(v) for v in views]
            if items:
                yield items
            oldest = _oldest(items)
            if len(views) < PAGE or oldest is None or oldest < stop_at:
                return
        log.warning("comments: reached Lemmy's page limit (%d pages); the sweep covers "
                    "older ones", MAX_COMMENT_PAGE)

    def _read_uploads(self) -> tuple[list[list[Item]], datetime | None]:
        """New uploads (batches) and the newest ``published`` read, for the watermark."""
        # First poll: the lookback window, like posts; older uploads are the sweep's job.
        mark = self._watermark("uploads") or datetime.now(timezone.utc) - self.lookback
        newest = None
        batches: list[list[Item]] = []
        for page in range(1, MAX_COMMENT_PAGE + 1):
            views = self.client.list_all_media(page=page, limit=PAGE)
            items = [Item.from_upload(v) for v in views]
            self._remember_uploaders(views)
            times = [i.published for i in items if i.published]
            if times:
                newest = max([*times, newest] if newest else times)
            fresh = [i for i in items
                     if self._is_new(i) and (i.published is None or i.published >= mark)]
            if fresh:
                batches.append(fresh)
            oldest = _oldest(items)
            # Uploads are local: they never arrive late, the watermark is exact.
            if len(views) < PAGE or oldest is None or oldest < mark:
                break
        return batches, newest

    def _remember_uploaders(self, views: list[dict]) -> None:
        with self.store.transaction():
            for v in views:
                person = v.get("person") or {}
                image = v.get("local_image") or {}
                if image.get("pictrs_alias"):
                    self.store.remember_uploader(
                        image["pictrs_alias"], person.get("id"), person.get("actor_id"),
                        image.get("published"),
                    )

    # ------------------------------------------------------------------ backlog
    def backlog(self, since: datetime | None = None) -> Iterator[list[Item]]:
        """Batches of every post (with its comments) and upload back to ``since``.

        Resumes from the stored position of an interrupted sweep; the position is
        cleared when the walk completes. Items already seen are left out.
        """
        name = self._cursor("sweep_position")
        position = json.loads(self.store.get_cursor(name) or "{}")
        if position:
            log.info("resuming the interrupted sweep (%s)", position.get("phase"))
        if position.get("phase", "posts") == "posts":
            cursor = position.get("page_cursor")
            page_ids = position.get("page_ids", [])
            while True:
                self.store.set_cursor(name, json.dumps(
                    {"phase": "posts", "page_cursor": cursor, "page_ids": page_ids}))
                views, next_cursor = self._list_posts(cursor, page_ids)
                posts = [Item.from_post(v) for v in views]
                page_ids = [p.id for p in posts]
                batch: list[Item] = []
                for post in posts:
                    if since and post.published and post.published < since and not _featured(post.view):
                        continue
                    if self._is_new(post):
                        batch.append(post)
                    batch.extend(c for c in self._comments_of(post, since) if self._is_new(c))
                if batch:
                    yield batch
                oldest = _oldest(posts, skip_featured=True)
                if not next_cursor or not views or (since and oldest and oldest < since):
                    break
                cursor = next_cursor
            position = {"phase": "uploads", "page": 1}
        if self.uploads:
            page = int(position.get("page", 1))
            while page <= MAX_COMMENT_PAGE:
                self.store.set_cursor(name, json.dumps({"phase": "uploads", "page": page}))
                views = self.client.list_all_media(page=page, limit=PAGE)
                self._remember_uploaders(views)
                items = [Item.from_upload(v) for v in views]
                fresh = [i for i in items if self._is_new(i)
                         and not (since and i.published and i.published < since)]
                if fresh:
                    yield fresh
                oldest = _oldest(items)
                if len(views) < PAGE or (since and oldest and oldest < since):
                    break
                page += 1
        self.store.set_cursor(name, None)

    def _comments_of(self, post: Item, since: datetime | None) -> list[Item]:
        counts = post.view.get("counts") or {}
        if counts.get("comments") == 0:
            return []
        out: list[Item] = []
        for page in range(1, MAX_COMMENT_PAGE + 1):
            try:
                views = self.client.list_comments(page=page, limit=PAGE, post_id=post.id)
            except LemmyError as exc:
                log.warning("comments of post %s: %s; skipped", post.id, exc)
                break
            out.extend(Item.from_comment(v) for v in views)
            if len(views) < PAGE:
                break
        return [c for c in out if not (since and c.published and c.published < since)]

    def sweep_in_progress(self) -> bool:
        return self.store.get_cursor(self._cursor("sweep_position")) is not None
