"""The images of a batch, acquired: downloaded, hashed and classified, each item within
its own limits.

An event loop in a thread of its own fetches and classifies the batch's images:
``fetch.concurrency`` items download at a time (across the batches in flight), each at
most a quarter of that at once (a hostile one cannot take every slot), and its
downloads are timed as a whole from its start (``fetch.item_timeout``; an image not in
by then is ``item_timeout``). An item gives its place up once its downloads are in, so
the classifier is fed beyond the downloading items: what waits for it is bounded by the
body budget and the engine's queue.
Downloads are shared by URL (one runs in the slots of whichever item showing it frees
one first: a hostile item's slow links hold up no other) and verdicts by SHA-256 across
the batch; a body is dropped once hashed, classified and (with perceptual lists) its
pHash taken, so bodies share the fetcher's ``max_bytes_held`` and decodes the
classifier's ``decode_memory``, whatever the batch's size. Each item's index is put on
a queue as soon as its images are in, for the pipeline to decide while the others are
still downloading.

The batch's event loop, its shared downloads and the per-item deadlines interlock;
split, each part would reach into the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from classifier.budget import DecodeBudget
from modbot.classify import Engine, StoreCache, decode_budget, decoded_hashes, judge
from modbot.config.policy import Policy
from modbot.config.settings import Secret, Settings
from modbot.fetch import (
    BodyHold,
    Fetched,
    Fetcher,
    FetchLimits,
    FetchSkipped,
    NotModified,
    Resolver,
    redact,
    system_resolver,
    waiting_for_login,
)
from modbot.fetch.identity import Identity, host_port
from modbot.fetch.login import InstanceLogin, ProxyLogin, without_user_info
from modbot.hashes import hashes_of, hashing_version
from modbot.images import data_images, is_data_reference, known_key
from modbot.model import (
    FILE_KINDS,
    PROFILE_KINDS,
    TEXT_IMAGE_KINDS,
    VIDEO_EXTENSIONS,
    VIDEO_STILL_QUERY,
    CheckedCopy,
    CycleStats,
    ImageRef,
    Item,
    ItemImage,
    extension,
)
from modbot.store import KnownFile, Store
from modbot.subscriptions import peer_verdict

__all__ = ["Acquirer", "ItemClock"]

log = logging.getLogger(__name__)


@dataclass
class _Outcome:
    """What became of one image URL: its hash and verdict, or why it was skipped."""

    sha256: str | None = None
    verdict: dict | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    hashes_not_taken: dict[str, str] = field(default_factory=dict)  # kind -> why
    skipped: str | None = None
    skipped_detail: str = ""
    copy: CheckedCopy | None = None  # the original failed: the instance's copy was used
    # the server announced more than it sent: what came is a whole image, judged
    ended_early: str | None = None


class ItemClock:
    """The time an item's downloads have taken, against ``fetch.item_timeout``. It runs
    from the item's start, except while every download the item still waits for is
    waiting for memory (the download budget) or for the bot's Lemmy login (a private
    instance's images): that is the bot's own capacity, not a server's slowness, and
    must not make an image time out. ``expired`` is done when
    the time is up."""

    def __init__(self, seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.left = seconds
        self.pending = 0  # downloads not done
        self.waiting = 0  # of those, waiting for memory or the login
        self._since = self.loop.time()
        self._running = False
        # a future and a timer, not a task: an item's downloads are awaited with it
        # (``asyncio.wait``), and a task an item is CPU the downloads' loop pays
        self.expired: asyncio.Future[None] = self.loop.create_future()
        self._timer: asyncio.TimerHandle | None = None

    def update(self) -> None:
        now = self.loop.time()
        if self._running:
            self.left -= now - self._since
        self._since = now
        running = self.waiting < self.pending
        # While it runs the deadline stays where it is (the time left shrinks with the
        # time), so the timer is set again only when the clock stops or starts.
        if running != self._running:
            self._running = running
            self._cancel_timer()
            if running and not self.expired.done():
                self._timer = self.loop.call_later(max(self.left, 0.0), self._time_up)

    def _time_up(self) -> None:
        self._timer = None
        self.update()  # the time that ran, counted
        self.left = min(self.left, 0.0)
        if not self.expired.done():
            self.expired.set_result(None)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def stop(self) -> None:
        """The item is done with its downloads: no timer left behind."""
        self._cancel_timer()
        if not self.expired.done():
            self.expired.cancel()

    async def run_out(self) -> None:
        """Returns when the time is up."""
        await asyncio.shield(self.expired)


class _Slots:
    """An item's downloads at once (a quarter of ``fetch.concurrency``: a hostile item
    cannot take every download slot from the others). A download several items show
    waits in the slots of each and runs in whichever frees first (``_Download.slot``)."""

    def __init__(self, count: int) -> None:
        self.free = count
        # first come, first served; some were granted elsewhere (or cancelled) since
        self._waiting: deque[asyncio.Future[_Slots]] = deque()

    def take_now(self) -> bool:
        if self.free:  # nobody waits while one is free (``_grant``)
            self.free -= 1
            return True
        return False

    def wait(self, granted: asyncio.Future[_Slots]) -> None:
        self._waiting.append(granted)
        self._grant()

    def give_back(self) -> None:
        self.free += 1
        self._grant()

    def _grant(self) -> None:
        while self.free and self._waiting:
            granted = self._waiting.popleft()
            if not granted.done():
                self.free -= 1
                granted.set_result(self)


class _Download:
    """One image's download (its fetch URLs), shared by the items of a batch that show
    it; cancelled when the last item waiting for it runs out of time."""

    def __init__(self, urls: tuple[str, ...], key: str) -> None:
        self.urls = urls
        self.key = key  # what the store knows the file by (``images.known_key``)
        self.slots: list[_Slots] = []  # of each item that shows it
        self._granted: asyncio.Future[_Slots] | None = None  # while it waits for one
        self.fetched: asyncio.Future = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task | None = None
        self.clocks: list[ItemClock] = []
        self.waiting_own = False  # for memory or the login: the bot's own queue
        self.abandoned = False  # every item gave up on it: cancelled
        # an image written as a data: URI in the item (``urls`` hold its reference): no
        # download, its bytes are decoded (None: the URI was not found again)
        self.data_uri: str | None = None

    def attach(self, clock: ItemClock, slots: _Slots) -> None:
        if slots not in self.slots:
            self.slots.append(slots)
            if self._granted is not None:  # waiting: this item's slots may free first
                slots.wait(self._granted)
        self.clocks.append(clock)
        if not self.fetched.done():
            clock.pending += 1
            clock.waiting += self.waiting_own
            clock.update()

    async def slot(self) -> _Slots:
        """A download slot of one of the items that show the image, whichever frees
        first: a hostile item's slow links hold up no other item's share of a file."""
        for slots in self.slots:
            if slots.take_now():
                return slots
        granted = self._granted = asyncio.get_running_loop().create_future()
        for slots in self.slots:
            slots.wait(granted)
        try:
            return await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                granted.result().give_back()  # granted just as it was cancelled
            raise
        finally:
            self._granted = None

    def detach(self, clock: ItemClock) -> None:
        """The item gave up on it; the last one to give up cancels it."""
        self.clocks.remove(clock)
        if not self.clocks and not self.fetched.done() and self.task is not None:
            self.abandoned = True
            self.task.cancel()

    def set_waiting_own(self, waiting: bool) -> None:
        if waiting != self.waiting_own and not self.fetched.done():
            self.waiting_own = waiting
            for clock in self.clocks:
                clock.waiting += 1 if waiting else -1
                clock.update()

    def done(self) -> None:
        if self.fetched.done():
            return
        for clock in self.clocks:
            clock.pending -= 1
            clock.waiting -= self.waiting_own
            clock.update()
        self.fetched.set_result(None)


class _Batch:
    """What the items of one batch share: downloads by URL (judgements by SHA-256 are
    shared by every batch in flight: ``Acquirer._judge_once``)."""

    def __init__(self, engine: Engine | None, stats: CycleStats) -> None:
        self.engine, self.stats = engine, stats
        self.downloads: dict[tuple[str, ...], _Download] = {}
        self.tasks: list[asyncio.Task[Any]] = []

    def start(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task


class Acquirer:
    """Downloads, hashes and classifies for one pipeline, on its own event loop (a thread
    started with the first batch). ``public_url``: the instance's URL as its content
    links to it (set when the session starts)."""

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        store: Store,
        *,
        fetch_resolver: Resolver | None = None,
    ) -> None:
        self.settings, self.policy, self.store = settings, policy, store
        self.public_url = without_user_info(settings.lemmy_url)
        # the Lemmy client's URL of a local upload, where it has one (LemmyApi)
        self.local_image_url: Callable[[str], str | None] = lambda alias: None
        # the Lemmy client's login (token, log in again for a dropped one), for the
        # instance's own image routes where a private instance asks for it
        self._login: tuple[Callable[[], Secret], Callable[[Secret], None]] | None = None
        self._fetch_resolver = fetch_resolver
        self.resolver = fetch_resolver  # for the pipeline's other downloads (feeds)
        self._loop = asyncio.new_event_loop()
        self._loop_thread: threading.Thread | None = None
        self._fetcher: Fetcher | None = None
        # each batch's item tasks, by the event set when it has wound down: two batches
        # may be in flight at once (the pipeline acquires the next page while it decides)
        self._batch_tasks: dict[threading.Event, list[asyncio.Task[Any]]] = {}
        self._stopped_early: set[threading.Event] = set()  # stopped before they began
        self._window: asyncio.Semaphore | None = None  # items at once, across batches
        self._judging: dict[str, asyncio.Task[Any]] = {}  # by SHA-256, across batches
        # the bytes of the body each judgement holds (``_carry_bodies``)
        self._judged_bytes: dict[asyncio.Task[Any], int] = {}
        # new content: every link known is asked again (conditionally), so a file
        # changed behind a link posted again is caught; sweeps and reports use
        # fetch.recheck_after
        self.recheck_links = False
        self._yields = False  # the loop's thread runs at the decode threads' niceness
        # where a perceptual hash's decode holds its memory when the classifier decodes
        # elsewhere (classifier.remote): classifier.decode_memory, as a local one's
        self._hash_budget = DecodeBudget(policy.classifier.decode_memory)

    def use_login(self, token: Callable[[], Secret], relogin: Callable[[Secret], None]) -> None:
        """Read the instance's own images with the bot's Lemmy login where a private
        instance asks for it (``modbot.fetch.login``): ``token`` gives the client's
        token (logging in when it has none), ``relogin`` logs in again for the dropped
        token given (the client's ``login(dropped=...)``). Both may block: they run in a
        thread of their own. From the fetcher in use on. Handed over once: the pipeline
        calls it at each session check, and a new ``InstanceLogin`` would forget which
        hosts asked for the login and which token they let in (its re-login then
        stopped)."""
        if self._login is not None:
            return
        self._login = (token, relogin)
        if self._loop_thread is not None:  # a fetcher made before takes it too
            self._loop.call_soon_threadsafe(self._login_to_fetcher)

    def _login_to_fetcher(self) -> None:
        if self._fetcher is not None:
            self._fetcher.login = self._instance_login()

    def _instance_login(self) -> InstanceLogin | None:
        """The bot's login for Lemmy's image routes (LEMMY_URL's and the public URL's
        origins only: pict-rs takes no Lemmy login), once it is handed over."""
        if self._login is None:
            return None
        return InstanceLogin([self.settings.lemmy_url, self.public_url], *self._login)

    def start(
        self,
        items: list[Item],
        images: list[list[ItemImage]],
        engine: Engine | None,
        stats: CycleStats,
        ready: queue.Queue[int],
    ) -> tuple[concurrent.futures.Future[None], threading.Event]:
        """Start acquiring a batch; each item's index goes on ``ready`` when its images
        are in. Returns the work's future and an event set once it has wound down."""
        finished = threading.Event()
        work = self._in_loop(self._acquire(items, images, engine, stats, ready, finished))
        return work, finished

    def yield_to_inference(self) -> None:
        """The model runs on this CPU: the downloads' thread yields to its threads (a
        preempted OpenMP thread stalls the whole batch)."""
        if not self._yields:
            self._yields = True
            self._in_loop(_yield_to_inference()).result()

    def stop(self, finished: threading.Event) -> None:
        """The batch failed or was interrupted: cancel its downloads, wait for them."""
        if not finished.is_set():
            self._loop.call_soon_threadsafe(self._cancel, finished)
            finished.wait(60)

    def download_memory(self) -> tuple[int, int]:
        """(peak, total) bytes of downloaded bodies held since the last call."""
        if self._fetcher is None:
            return (0, 0)
        bodies = self._fetcher.body_budget
        figures = (bodies.peak, bodies.total)
        bodies.reset_peak()
        return figures

    def use_policy(self, policy: Policy) -> None:
        """Fetch by ``policy`` (the rules file read again) from the next batch on: its
        ``fetch:`` limits, hash kinds and feeds. Between batches only (the daemon calls
        it between cycles): new limits mean a new fetcher, so its connections go (the
        bodies still judged count in its budget: ``_carry_bodies``)."""
        if policy.classifier.decode_memory != self.policy.classifier.decode_memory:
            self._hash_budget = DecodeBudget(policy.classifier.decode_memory)
        if policy.fetch != self.policy.fetch:
            self._window = None
            if self._fetcher is not None:
                self._in_loop(self._fetcher.aclose()).result()
                self._fetcher = None
        self.policy = policy

    def close(self) -> None:
        if self._judging:
            self._in_loop(self._cancel_judging()).result()
        if self._fetcher is not None:
            self._in_loop(self._fetcher.aclose()).result()
            self._fetcher = None
        if self._loop_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join()
            self._loop_thread = None
        self._loop.close()

    def _fetcher_for_batch(self) -> Fetcher:
        f = self.policy.fetch
        limits = FetchLimits(
            max_bytes=int(f.max_bytes),
            max_bytes_held=int(f.max_bytes_held),
            connect_timeout=f.connect_timeout.total_seconds(),
            read_timeout=f.read_timeout.total_seconds(),
            total_timeout=f.total_timeout.total_seconds(),
            max_redirects=f.max_redirects,
            max_concurrency=f.concurrency,
            per_host_concurrency=f.per_host,
        )
        # The instance may live on a private network: it is trusted, on its URL's port
        # only. Not pict-rs: images are read through the instance, and a link posted to
        # PICTRS_URL's /image/download?url= would make pict-rs fetch and store a file
        # (no key needed), a change on the instance, in a dry run too.
        allowed = [
            h for h in (_host_entry(self.settings.lemmy_url), _host_entry(self.public_url)) if h
        ]
        allowed += list(f.allow_hosts)
        # other hosts see a browser (fetch.user_agent), the instance's own see modbot
        own = [u for u in (self.settings.lemmy_url, self.public_url, self.settings.pictrs_url) if u]
        identity = Identity(f.user_agent, own_urls=own)
        return Fetcher(
            limits,
            allowed_hosts=allowed,
            resolver=system_resolver if self._fetch_resolver is None else self._fetch_resolver,
            identity=identity,
            login=self._instance_login(),
            # a proxy's basic-auth login in LEMMY_URL, for LEMMY_URL's origin only
            proxy_login=ProxyLogin.of(self.settings.lemmy_url),
        )

    def _carry_bodies(self, fetcher: Fetcher) -> None:
        """A new fetcher (the rules read again changed ``fetch:``) has a body budget of
        its own; the bodies judgements still hold (a batch stopped under the old one,
        waiting for the classifier) are in the old one's. Held in the new one too until
        those judgements end, else the bodies in memory could reach the two budgets
        together, twice ``max_bytes_held``."""
        budget = fetcher.body_budget
        for task, nbytes in self._judged_bytes.items():
            if task.done():
                continue
            hold = budget.hold_now(min(nbytes, budget.total - budget.in_use))
            if hold is not None:
                task.add_done_callback(_releases(hold))

    def _fetch_urls(self, ref: ImageRef) -> tuple[str, ...]:
        if ref.alias:
            return (self._local_url(ref.alias),)
        if ref.cached_alias and ref.cached_url:
            # the instance's stored copy of a remote image, read as a local upload is
            url = self._local_url(ref.cached_alias)
            return tuple(url if u == ref.cached_url else u for u in ref.fetch_urls)
        return ref.fetch_urls

    def _local_url(self, alias: str) -> str:
        """Where a local upload is read: the file pict-rs stores, whatever rendition the
        link asks for (``?format=webp&thumbnail=256`` is another file, whose hash no
        list holds), a video as its still."""
        # The Lemmy API version's own URL of a local upload (1.0 has no route for 0.19's
        # /pictrs/image/ links in older content). Without LEMMY_URL's user info (a
        # proxy's login, sent apart: ``ProxyLogin``): the copy's URL is recorded.
        if url := self.local_image_url(alias):
            return without_user_info(url)
        # Read through LEMMY_URL, which may be the instance's internal address
        # (http://lemmy:8536) when the public one is not reachable from the bot.
        url = f"{without_user_info(self.settings.lemmy_url)}/pictrs/image/{alias}"
        return f"{url}?{VIDEO_STILL_QUERY}" if extension(alias) in VIDEO_EXTENSIONS else url

    def _in_loop(self, coro: Any) -> Any:
        """Run ``coro`` on the pipeline's event loop (its thread starts on first use);
        returns a ``concurrent.futures.Future``."""
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(
                target=self._loop.run_forever, name="modbot-fetch", daemon=True
            )
            self._loop_thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _cancel_judging(self) -> None:
        left = list(self._judging.values())
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def _cancel(self, finished: threading.Event) -> None:
        tasks = self._batch_tasks.get(finished)
        if tasks is None and not finished.is_set():
            # its work has not begun (the loop was busy): it ends as it begins, else the
            # stop would go unseen and the whole batch be downloaded
            self._stopped_early.add(finished)
        for task in tasks or ():
            task.cancel()

    async def _acquire(
        self,
        items: list[Item],
        images: list[list[ItemImage]],
        engine: Engine | None,
        stats: CycleStats,
        ready: queue.Queue,
        finished: threading.Event,
    ) -> None:
        """Fetch and classify every item's images, ``fetch.concurrency`` items at a time
        (with any other batch in flight: the one started first has the first places);
        put each item's index on ``ready`` when its images are in."""
        if finished in self._stopped_early:
            self._stopped_early.discard(finished)
            finished.set()
            raise asyncio.CancelledError  # its items are looked at next time
        batch = _Batch(engine, stats)
        if self._window is None:
            self._window = asyncio.Semaphore(self.policy.fetch.concurrency)
        window = self._window

        async def one(index: int) -> None:
            await self._acquire_item(items[index], images[index], batch, window)
            # Only an item whose images are in is handed on: one whose acquisition
            # failed is not decided (it would be recorded unchecked and marked seen);
            # the batch fails once the others are in (``Pipeline._land``), and the
            # item is looked at again with its page.
            ready.put(index)

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(items))]
        self._batch_tasks[finished] = tasks
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        finally:
            leftover = [t for t in batch.tasks if not t.done()]
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
            self._batch_tasks.pop(finished, None)
            finished.set()

    async def _acquire_item(
        self, item: Item, images: list[ItemImage], batch: _Batch, window: asyncio.Semaphore
    ) -> None:
        """One item's images: downloaded while it holds one of ``window``'s places
        (``fetch.concurrency`` items download at once), then classified after it gave
        the place up, so the classifier is fed beyond the downloading items (the bodies
        waiting for it are bounded by ``max_bytes_held``, the images by its queue)."""
        wanted = [img for img in images if not img.skipped]
        if item.kind not in FILE_KINDS:  # a post's image whose file modbot purged
            for img in images:
                if img.skipped == "purged":
                    await self._from_record(img, batch)
        if not wanted:
            return
        async with window:
            mine = await self._download_item(item, wanted, batch)
        for img, download in mine:
            if img.skipped:
                continue
            assert download.task is not None
            outcome = await asyncio.shield(download.task)  # shared: others may await it too
            img.sha256, img.verdict, img.hashes = outcome.sha256, outcome.verdict, outcome.hashes
            img.hashes_not_taken = dict(outcome.hashes_not_taken)
            img.skipped, img.skipped_detail = outcome.skipped, outcome.skipped_detail
            img.copy = outcome.copy
            img.ended_early = outcome.ended_early

    async def _download_item(
        self, item: Item, wanted: list[ItemImage], batch: _Batch
    ) -> list[tuple[ItemImage, _Download]]:
        """Start (or join) each image's download and wait for them, within the item's
        time (``fetch.item_timeout``); an image not in by then is ``item_timeout``."""
        if self._fetcher is None:
            self._fetcher = self._fetcher_for_batch()
            self._carry_bodies(self._fetcher)
        f = self.policy.fetch
        limit = f.item_timeout.total_seconds()
        clock = ItemClock(limit)
        # an item downloads a quarter of fetch.concurrency at once: a hostile one cannot
        # take every download slot from the others
        slots = _Slots(max(1, f.concurrency // 4))
        mine: list[tuple[ItemImage, _Download]] = []
        data_uris: dict[str, str] | None = None  # the item's data: images, when it has some
        for img in wanted:
            assert img.ref is not None  # an image without one is skipped
            urls = self._fetch_urls(img.ref)
            download = batch.downloads.get(urls)
            if download is None or download.abandoned:
                download = _Download(urls, known_key(img.ref))
                if is_data_reference(img.ref.url):
                    data_uris = (
                        data_images(item, instance_url=self.public_url)
                        if data_uris is None
                        else data_uris
                    )
                    download.data_uri = data_uris.get(img.ref.url)
                download.task = batch.start(self._image(download, batch))
                batch.downloads[urls] = download
            download.attach(clock, slots)
            mine.append((img, download))
        # the downloads' futures are shared with other items: waited for, never cancelled
        pending = [d.fetched for _, d in mine]
        try:
            while not clock.expired.done():
                pending = [f for f in pending if not f.done()]
                if not pending:
                    break
                await asyncio.wait([*pending, clock.expired], return_when=asyncio.FIRST_COMPLETED)
        finally:
            clock.stop()
        for img, download in mine:
            if not download.fetched.done():
                img.skipped = "item_timeout"
                img.skipped_detail = _timed_out(item, limit)
                download.detach(clock)
        return mine

    async def _image(self, download: _Download, batch: _Batch) -> _Outcome:
        """Download, hash, classify (or the cached verdict), pHash, then drop the bytes.
        A file known already is not downloaded again: a pict-rs alias never changes its
        file, and another link is asked again (conditionally) only after
        ``fetch.recheck_after``."""
        fetcher = self._fetcher
        assert fetcher is not None  # made by the first item that downloads
        try:
            known = self.store.known_file(download.key)
            if known is not None and self._fresh(download.key, known):
                outcome = await self._known_outcome(known, batch)
                if outcome is not None:
                    download.done()
                    return outcome
                known = None  # not enough for this policy or concept version: download it
        except BaseException:
            # the state file failed (busy, say): the items waiting for this file fail
            # their batch now (the cycle, then tried again), not at their item_timeout
            # as if its server had been slow (then marked seen: never looked at again)
            download.done()
            raise
        fetched: Fetched | None = None
        waiting_for_login.set(download.set_waiting_own)  # this task's own context
        try:
            # a data: image is in the item itself: decoded, not downloaded (no slot)
            data = is_data_reference(download.key)
            slots = None if data else await download.slot()
            try:
                hold = await _room_for_body(fetcher, download)
                try:
                    if data:
                        fetched = await fetcher.fetch_data(
                            download.data_uri or "", download.key, hold
                        )
                    else:
                        fetched = await fetcher.fetch_first(
                            download.urls,
                            hold,
                            etag=known.etag if known else None,
                            modified=known.last_modified if known else None,
                        )
                except NotModified:
                    assert known is not None  # a conditional request was made
                    outcome = await self._known_outcome(known, batch)
                    if outcome is None:  # the verdict went meanwhile: a plain download
                        hold = await _room_for_body(fetcher, download)
                        fetched = await fetcher.fetch_first(download.urls, hold)
                    else:
                        self.store.put_known_file(
                            download.key, replace(known, checked_at=time.time()), later=True
                        )
                        return outcome
            finally:
                if slots is not None:
                    slots.give_back()
        except FetchSkipped as exc:
            return _Outcome(skipped=exc.reason, skipped_detail=exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # what went wrong, for the record and the log (the class name alone tells an
            # admin nothing); its URLs as the log shows URLs: no user info, no secrets
            why = _unforeseen(exc)
            log.warning("fetching %s failed unexpectedly: %s", redact(download.urls[0]), why)
            return _Outcome(skipped="fetch_error", skipped_detail=why)
        finally:
            download.done()
        assert fetched is not None
        sha256, fetched_from, copy = fetched.sha256, fetched.url, _copy(fetched)
        ended_early = fetched.ended_early
        etag, modified = fetched.etag, fetched.last_modified
        judged = self._judging.get(sha256)
        shared = judged is not None
        if judged is None:
            # the judgement holds the body, and its room in the download budget, until it
            # ends: past this download when its batch is stopped
            judged = self._judge_once(sha256, fetched.data, batch, fetched.release)
        else:
            # the same file, judged already: this copy is dropped now, not held while
            # that judgement waits for the classifier (a file linked a hundred ways
            # would fill the download budget with copies and stall every other image)
            fetched.release()
        fetched = None
        verdict, hashes, not_taken, hashed_with, skipped, detail = await asyncio.shield(judged)
        if shared and not skipped:
            batch.stats.cache_hits += 1  # not classified again: as good as the cache
        if skipped:
            return _Outcome(sha256=sha256, skipped=skipped, skipped_detail=detail, copy=copy)
        if fetched_from == download.urls[0]:
            # Only what the link itself served is remembered: a copy checked because the
            # original failed says nothing of the original (and its failure must still
            # reach the rules next time). The kinds not taken are remembered only where
            # the same code would fail the same way on the same bytes (``hashed_with``).
            lasting = not_taken if hashed_with else {}
            with_code = hashed_with if lasting else None  # (what it qualifies, alone)
            known = KnownFile(sha256, hashes, etag, modified, time.time(), lasting, with_code)
            self.store.put_known_file(download.key, known, later=True)
        return _Outcome(
            sha256=sha256,
            verdict=verdict,
            hashes=hashes,
            hashes_not_taken=not_taken,
            copy=copy,
            ended_early=ended_early,
        )

    def _fresh(self, key: str, known: KnownFile) -> bool:
        """Known well enough not to ask the server again: an alias always (pict-rs
        never changes an alias's file; a data: image's reference names its bytes), a
        link for ``fetch.recheck_after`` (never while ``recheck_links``)."""
        if key.startswith("alias:") or is_data_reference(key):
            return True
        if self.recheck_links:
            return False
        # checked "in the future": by a clock that was ahead and has been set back since
        # (NTP after a boot with a wrong clock); trusted, it would pass for fresh until
        # the clock caught up, and a file changed behind the link go unseen that long
        age = time.time() - known.checked_at
        return 0 <= age < self.policy.fetch.recheck_after.total_seconds()

    async def _from_record(self, img: ItemImage, batch: _Batch) -> None:
        """A post's (a comment's, a profile's) image whose file modbot purged already,
        for another item (``purged``), decided on what the state keeps of that file (a
        pict-rs alias never changes its file), as a known file is (``_known_outcome``):
        another account reposting the upload URL of a known-bad image is acted on as the
        first was (its purge, done, is not repeated), as is an item looked at again for
        an action that failed after the purge. Without a verdict and every hash the
        policy needs, it stays ``purged``: the file is gone, nothing is downloaded."""
        if img.ref is None or not img.ref.alias or batch.engine is None:
            return
        known = self.store.known_file(f"alias:{img.ref.alias}")
        if known is None:
            return
        outcome = await self._known_outcome(known, batch, gone=True)
        if outcome is None:
            return
        img.sha256, img.verdict = outcome.sha256, outcome.verdict
        img.hashes = {"sha256": known.sha256, **outcome.hashes}
        img.hashes_not_taken = dict(outcome.hashes_not_taken)
        img.skipped, img.skipped_detail = None, ""

    async def _known_outcome(
        self, known: KnownFile, batch: _Batch, *, gone: bool = False
    ) -> _Outcome | None:
        """The outcome of a known file without its bytes: its verdict (a trusted peer's,
        or the cache's under the current concept version) and the hashes the policy
        needs. None when something is missing: then it is downloaded. ``gone``: the file
        cannot be downloaded (purged): a kind its hashing did not take is not taken now
        whatever code tried it."""
        verdict = (
            peer_verdict(self.policy, known.hashes, incoming=False) if self.policy.feeds else None
        )
        if verdict is None:
            engine = batch.engine
            assert engine is not None  # a batch with images to look at has one
            try:
                version = engine.concept_version or await engine.ready()
            except Exception:  # a remote classifier out of reach: the usual path says so
                return None
            verdict = self.store.get_verdict(known.sha256, version) if version else None
        if verdict is None:
            return None
        wanted = set(self.policy.hash_kinds)
        if verdict.get("unreadable"):
            wanted -= set(self.policy.decoded_hash_kinds)  # none is taken of it
        # a kind tried and not taken of these bytes by the hashing code of now would not
        # be taken now either (a flat picture's PDQ): not a reason to download it again
        not_taken: dict[str, str] = {}
        if gone or (
            known.hashed_with is not None and known.hashed_with == self._hashed_with(batch.engine)
        ):
            not_taken = {
                k: why
                for k, why in known.hashes_not_taken.items()
                if k in wanted and k not in known.hashes
            }
        if not wanted <= set(known.hashes) | set(not_taken) | {"sha256"}:
            return None
        batch.stats.cache_hits += 1
        batch.stats.not_downloaded += 1
        return _Outcome(
            sha256=known.sha256,
            verdict=verdict,
            hashes=dict(known.hashes),
            hashes_not_taken=not_taken,
        )

    def _hashed_with(self, engine: Engine | None) -> str:
        """The code the perceptual hashes are taken with (``hashing_version``) and the
        decode budget they are taken in (a file over it gets none): a kind not taken of a
        file under one may be taken under another."""
        budget = (decode_budget(engine) if engine is not None else None) or self._hash_budget
        return f"{hashing_version()}; decode budget {budget.total}"

    def _judge_once(
        self, sha256: str, data: bytes, batch: _Batch, release: Callable[[], None]
    ) -> asyncio.Task[Any]:
        """One judgement per file among the batches in flight, shared by them all. It
        belongs to no batch: a batch stopped does not cancel it under another's feet (it
        ends in the cache). ``release``: called when it ends (``data`` is dropped)."""
        task = asyncio.ensure_future(self._judge(sha256, data, batch))
        self._judging[sha256] = task
        self._judged_bytes[task] = len(data)

        def done(finished: asyncio.Task[Any]) -> None:
            release()
            del self._judged_bytes[finished]
            if self._judging.get(sha256) is finished:
                del self._judging[sha256]

        task.add_done_callback(done)
        return task

    async def _judge(self, sha256: str, data: bytes, batch: _Batch) -> tuple[Any, ...]:
        """(verdict, hashes, hashes not taken, hashed with, skipped reason, detail) for
        one file: the verdict from the cache or the classifier, the hashes the policy's
        lists need, why any of those could not be taken (kind -> why, for the record),
        and the hashing code they would not be taken under again (``_hashed_with``;
        None when their failure may not happen again: those are tried again)."""
        engine = batch.engine
        assert engine is not None  # a batch with images to look at has one
        hashes = {"sha256": sha256}
        decoded = self.policy.decoded_hash_kinds
        hashes.update(
            hashes_of(
                data, [k for k in self.policy.hash_kinds if k not in decoded and k not in hashes]
            )
        )
        # A trusted peer's verdict on the very same file replaces the classifier's.
        verdict = peer_verdict(self.policy, hashes, incoming=False) if self.policy.feeds else None
        if verdict is None:
            # cached with the transaction that records the item (``Store.put_verdict``)
            judged = await judge(engine, StoreCache(self.store, later=True), sha256, data)
            if judged.skipped:
                return None, None, {}, None, judged.skipped, judged.detail
            verdict = judged.verdict
            assert verdict is not None
            if judged.cached:
                batch.stats.cache_hits += 1
            else:
                batch.stats.images_classified += 1
        not_taken: dict[str, str] = {}
        hashed_with: str | None = self._hashed_with(engine)
        if decoded and not verdict.get("unreadable"):
            taken = await self._decoded_hashes(engine, sha256, data, decoded, not_taken)
            if taken is None:
                taken, hashed_with = {}, None
            hashes.update(taken)
        return verdict, hashes, not_taken, hashed_with, None, ""

    async def _decoded_hashes(
        self,
        engine: Engine,
        sha256: str,
        data: bytes,
        kinds: tuple[str, ...],
        not_taken: dict[str, str],
    ) -> dict[str, str] | None:
        """The perceptual hashes of a file the classifier read; each kind not taken goes
        in ``not_taken`` with why (the decision records it). An error of their code on
        it (pdqhash or Pillow on hostile bytes, numpy on a degenerate image) costs the
        file those hashes (``compute_all`` says it in the log); its verdict still decides
        it. An error around their code (the decode's memory, a thread) costs the file
        them too, but may not happen again: None then (the file is tried again when next
        seen). Raised, it would fail the batch, and the batch would fail again each
        cycle on the same file: the bot would never get past it."""
        try:
            return await asyncio.to_thread(
                decoded_hashes, engine, data, kinds, self._hash_budget, None, not_taken
            )
        except Exception as exc:
            why = f"computing it failed: {type(exc).__name__}: {str(exc)[:300]}"
            for kind in kinds:  # none taken; a kind's own error said first is kept
                not_taken.setdefault(kind, why)
            log.warning(
                "file %s gets no %s: computing it failed (%s: %s); its verdict and its "
                "other hashes decide it",
                sha256[:12],
                "/".join(kinds),
                type(exc).__name__,
                str(exc)[:300],
            )
            return None


async def _yield_to_inference() -> None:
    """Run on the loop's thread: it yields to the model's threads from now on."""
    from classifier.engine import yield_to_inference

    yield_to_inference()


async def _room_for_body(fetcher: Fetcher, download: _Download) -> BodyHold:
    """Room for the download's body in ``max_bytes_held``; the time waiting for it
    does not count against the items' clocks (the bot's capacity, not the server's)."""
    hold = fetcher.reserve_body_now()  # mostly: the clock is not stopped
    if hold is None:
        download.set_waiting_own(True)
        try:
            hold = await fetcher.reserve_body()
        finally:
            download.set_waiting_own(False)
    return hold


def _timed_out(item: Item, limit: float) -> str:
    """Why an image not in by ``fetch.item_timeout`` was skipped, in words. A profile
    image, one image of a profile's text or an upload is an item of one image: "this
    avatar's images ... in all" would send an admin looking for others."""
    kind = item.kind.replace("_", " ")
    if item.kind in TEXT_IMAGE_KINDS:  # one image of a bio, a description, the sidebar
        return f"this image in the {kind} took longer than {limit:g} s to download (fetch.item_timeout)"
    if item.kind in PROFILE_KINDS or item.kind in FILE_KINDS:
        return f"this {kind} took longer than {limit:g} s to download (fetch.item_timeout)"
    return (
        f"this {kind}'s images took longer than {limit:g} s to download in all (fetch.item_timeout)"
    )


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>)]+")


def _unforeseen(exc: Exception) -> str:
    """An unforeseen error in words fit for the record and the log: its class and
    message, URLs in it redacted (``redact``), at most 300 characters."""
    message = _URL_IN_TEXT.sub(lambda m: redact(m.group()), str(exc))
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__


def _releases(hold: BodyHold) -> Callable[[asyncio.Task[Any]], None]:
    """A task's done callback that releases ``hold``."""
    return lambda _: hold.release()


def _copy(fetched: Fetched) -> CheckedCopy | None:
    """The instance's copy that was checked because the URLs before it failed (the proxy
    or the cached thumbnail of a remote image), with why the original failed."""
    if not fetched.passed_over:
        return None
    first = fetched.passed_over[0]
    return CheckedCopy(fetched.url, first.reason, first.message)


def _host_entry(url: str | None) -> str | None:
    """The allowed-host entry (``host:port``) of a configured URL, the port being the
    scheme's default when the URL has none: the instance's host is trusted on that port
    only, not on every port (``http://lemmy`` must not open ``lemmy:6379`` or a private
    address's other ports)."""
    key = host_port(url) if url else None
    if key is None:
        return None
    host, port = key
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
