"""One moderation cycle: source → images → fetch → classifier → rules → actions → record.

``Pipeline.poll_once()`` looks at what is new since the last poll; ``Pipeline.sweep()``
walks the backlog (resumable). Both work in batches (a page of items). An event loop in
a thread of its own fetches and classifies the batch's images, ``fetch.concurrency``
items at a time, each item within its own limits: at most ``max_images_per_item``
images (the rest are recorded as skipped, ``too_many_images``), and ``item_timeout``
for its downloads from the moment the item starts (``item_timeout`` for those not done
by then). Meanwhile this thread decides each item as soon as its images are in, carries
out its actions (or plans them, in dry-run), and commits the item's decisions and its
"seen" mark in one transaction; the admins' notifications are sent once per batch (one
message per admin). So a hostile item holds up no other. A killed process loses
nothing: the item is looked at again, its verdicts come from the cache and its actions
from the store, so nothing is repeated.

Memory: a downloaded body is held only until it is hashed, classified and (with
perceptual lists) its pHash taken; bodies share the fetcher's ``max_bytes_held`` and
decodes the classifier's ``decode_memory``, so neither grows with the batch.
An item killed *while acting* (its post perhaps removed already, so hidden from the
listings) is carried on from the write-ahead journal at the next start: see
``Pipeline.recover``. Acting needs the state's acting lock (``modbot.statelock``): a
live pipeline takes it when built; a dry run never does, and never recovers.

What is recorded: one decision per image found (flagged or not), with the reason when
it could not be checked (``skipped``). An unflagged image is a decision with no rule and
no action, so reports can count what was looked at as well as what was done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from modbot.actions import DONE, Executor, Outcome, Target
from modbot.errors import LemmyError, LemmyLoginError, LemmyUnavailable
from modbot.fetch import DEFAULT_PORTS
from modbot.images import ImageRef, image_refs
from modbot.lemmy import LemmyApi, connect
from modbot.model import Item, SiteInfo
from modbot.settings import Secret, Settings
from modbot.source import Source
from modbot.statelock import StateLock
from modbot.store import Store, utc_iso

__all__ = ["CycleStats", "Pipeline", "new_run_id"]

log = logging.getLogger(__name__)

DEFAULT_DEEP_EVERY = timedelta(minutes=10)
NOTIFY_EVERY = 300.0  # seconds: admin messages are batched per cycle, at most this long
JOURNAL_VERSION = 2  # entries carry the planned actions and their target (see recover)
# How often a long-running bot asks /site whether Lemmy still knows its login (a dropped
# token is silently anonymous on reads) and refreshes the list of admins. An admin bot
# also notices a drop at once: list_all_media answers 401 and the client logs in again.
DEFAULT_SESSION_CHECK = timedelta(minutes=5)
# skipped: no classifier worker answered (classifier.remote); the item is not marked seen
UNAVAILABLE = "classifier_unavailable"


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


@dataclass
class CycleStats:
    """What one poll or sweep did (the daemon logs ``summary()`` once a cycle)."""

    items_seen: int = 0
    images_found: int = 0
    images_classified: int = 0
    cache_hits: int = 0
    skipped: Counter = field(default_factory=Counter)  # by reason
    actions: Counter = field(default_factory=Counter)  # by "kind:status"
    decisions: int = 0
    requests: int = 0  # Lemmy API requests (logins and retries included)
    # the most memory held at once during the cycle, and the budget: (peak, total) bytes
    decode_memory: tuple[int, int] = (0, 0)  # decoding images (classifier.decode_memory)
    download_memory: tuple[int, int] = (0, 0)  # downloaded bodies (fetch.max_bytes_held)

    def summary(self) -> str:
        parts = [
            f"{self.items_seen} items",
            f"{self.images_found} images",
            f"{self.images_classified} classified",
            f"{self.cache_hits} from cache",
        ]
        if self.skipped:
            parts.append(
                "skipped " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
            )
        if self.actions:
            parts.append(
                "actions " + ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items()))
            )
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


@dataclass
class _Image:
    """One image of an item on its way through the cycle (``ref`` None: no image, the
    item itself could not be read; ``skipped`` says why)."""

    ref: ImageRef | None
    sha256: str | None = None
    data: bytes | None = None
    verdict: dict | None = None
    phash: str | None = None  # with perceptual hash lists: taken while the bytes were held
    skipped: str | None = None  # reason code
    skipped_detail: str = ""


@dataclass
class _Outcome:
    """What became of one image URL: its hash and verdict, or why it was skipped."""

    sha256: str | None = None
    verdict: dict | None = None
    phash: str | None = None
    skipped: str | None = None
    skipped_detail: str = ""


class _ItemClock:
    """The time an item's downloads have taken, against ``fetch.item_timeout``. It runs
    from the item's start, except while every download the item still waits for is
    waiting for memory (the download budget): that is the bot's own capacity, not a
    server's slowness, and must not make an image time out."""

    def __init__(self, seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.left = seconds
        self.pending = 0  # downloads not done
        self.waiting = 0  # of those, waiting for memory
        self._since = self.loop.time()
        self._running = False
        self._changed = asyncio.Event()

    def update(self) -> None:
        now = self.loop.time()
        if self._running:
            self.left -= now - self._since
        self._since = now
        self._running = self.waiting < self.pending
        self._changed.set()

    async def run_out(self) -> None:
        """Returns when the time is up."""
        while True:
            self.update()
            if self.left <= 0:
                return
            self._changed.clear()
            try:
                async with asyncio.timeout(self.left if self._running else None):
                    await self._changed.wait()
            except TimeoutError:
                pass


class _Download:
    """One image's download (its fetch URLs), shared by the items of a batch that show
    it; cancelled when the last item waiting for it runs out of time."""

    def __init__(self, urls: tuple[str, ...], slots: asyncio.Semaphore) -> None:
        self.urls = urls
        self.slots = slots  # the downloads at once of the item that asked first
        self.fetched: asyncio.Future = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task | None = None
        self.clocks: list[_ItemClock] = []
        self.waiting_memory = False
        self.abandoned = False  # every item gave up on it: cancelled

    def attach(self, clock: _ItemClock) -> None:
        self.clocks.append(clock)
        if not self.fetched.done():
            clock.pending += 1
            clock.waiting += self.waiting_memory
            clock.update()

    def detach(self, clock: _ItemClock) -> None:
        """The item gave up on it; the last one to give up cancels it."""
        self.clocks.remove(clock)
        if not self.clocks and not self.fetched.done() and self.task is not None:
            self.abandoned = True
            self.task.cancel()

    def set_waiting_memory(self, waiting: bool) -> None:
        if waiting != self.waiting_memory and not self.fetched.done():
            self.waiting_memory = waiting
            for clock in self.clocks:
                clock.waiting += 1 if waiting else -1
                clock.update()

    def done(self) -> None:
        if self.fetched.done():
            return
        for clock in self.clocks:
            clock.pending -= 1
            clock.waiting -= self.waiting_memory
            clock.update()
        self.fetched.set_result(None)


class Pipeline:
    """The whole bot for one instance. ``close()`` when done (or use ``with``)."""

    def __init__(
        self,
        settings: Settings,
        policy: Any,
        *,
        dry_run: bool,
        run_id: str | None = None,
        engine: Any = None,
        client: LemmyApi | None = None,
        store: Store | None = None,
        remember_seen: bool = True,
        deep_every: timedelta = DEFAULT_DEEP_EVERY,
        session_check_every: timedelta = DEFAULT_SESSION_CHECK,
        fetch_resolver: Any = None,
        lock_wait: float | None = 0.0,
    ) -> None:
        """``lock_wait`` (live only): how long to wait for another process acting on the
        same state to end (None: as long as it takes); past it, ``StateLocked``."""
        self.settings = settings
        self.policy = policy
        self.dry_run = dry_run
        self.run_id = run_id or new_run_id()
        self.store = store or Store(settings.state_path)
        self._own_store = store is None
        self.state_lock: StateLock | None = None
        if not dry_run:
            self.state_lock = StateLock(self.store.path)
            try:
                self.state_lock.acquire(wait=lock_wait)
            except BaseException:
                if self._own_store:
                    self.store.close()
                raise
        lemmy = policy.lemmy
        self.client = client or connect(
            settings,
            requests_per_minute=lemmy.requests_per_minute,
            timeout=lemmy.timeout.total_seconds(),
            read_only=dry_run,
        )
        # Keep the login token between runs: a `run --once` from cron must not log in
        # every minute (Lemmy allows a few logins an hour).
        token_key = f"session:{settings.lemmy_url}:{settings.username}"
        saved = self.store.get_cursor(token_key)
        if saved and client is None:
            self.client.restore_token(saved)
        self.client.on_login = lambda jwt: self.store.set_cursor(token_key, jwt)
        scope = "dry-run" if dry_run else "live"
        self.source = Source(
            self.client,
            self.store,
            scope=scope,
            lookback=lemmy.lookback,
            deep_every=deep_every,
            remember_seen=remember_seen,
            warn=self._warn,
        )
        self._engine = engine
        self._own_engine = engine is None
        self._fetch_resolver = fetch_resolver
        self._loop = asyncio.new_event_loop()
        self._loop_thread: threading.Thread | None = None  # runs the loop, from the first batch
        self._busy = threading.Lock()
        self._fetcher: Any = None
        self._batch_tasks: list[asyncio.Task] = []
        self._started = False
        self._session_check_every = session_check_every.total_seconds()
        self._last_session_check = 0.0
        self._emojis: frozenset[str] = frozenset()
        self.public_url = settings.lemmy_url
        self.executor = Executor(
            self.client,
            self.store,
            run_id=self.run_id,
            dry_run=dry_run,
            max_destructive_per_hour=policy.safety_valve.max_destructive_actions_per_hour,
            purge_by_alias=settings.can_purge_by_alias,
        )
        if not dry_run:
            # Under the acting lock every other run is over: a claim or journal entry
            # one of them left was in flight when it died.
            self.executor.stale_runs = {row["run_id"] for row in self.store.claims_left()} | {
                run_id for _key, run_id, _entry in self.store.journal_entries()
            }
        self._waiting: list[tuple[Item, list[dict]]] = []
        self.warnings: list[str] = []

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._fetcher is not None:
            self._in_loop(self._fetcher.aclose()).result()
            self._fetcher = None
        if self._loop_thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join()
            self._loop_thread = None
        self._loop.close()
        if self._engine is not None and self._own_engine:
            self._engine.close()
        self.client.close()
        if self._own_store:
            self.store.close()
        if self.state_lock is not None:
            self.state_lock.release()

    # ------------------------------------------------------------------ start
    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = build_engine(self.policy, self.settings.classifier_token)
        return self._engine

    def start(self) -> None:
        """Check the account (admin? settings that hide content?) once, at start; later,
        every ``session_check_every``, check the login is still alive."""
        if self._started:
            if time.monotonic() - self._last_session_check >= self._session_check_every:
                site = self.client.check_session()
                self._last_session_check = time.monotonic()
                self.executor.admin_ids = set(site.admin_ids)
            return
        site = self.client.check_session()
        self._last_session_check = time.monotonic()
        version = site.version
        if version and not version.startswith("0."):
            self._warn(
                f"Lemmy {version}: modbot speaks API v3 (Lemmy 0.19); from 1.0 the "
                "v3 API has no remove, purge or ban, so actions will fail"
            )
        # Content links to the instance by its public URL, which LEMMY_URL need not be.
        self.public_url = (site.public_url or self.settings.lemmy_url).rstrip("/")
        self._emojis = site.custom_emoji_urls
        self._check_account(site)
        self._started = True

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    def _check_account(self, site: SiteInfo) -> None:
        account = site.account
        if account is None:  # check_session logs in again first: not seen in practice
            raise LemmyLoginError("Lemmy answers as for an anonymous visitor")
        self.executor.bot_person_id = account.person_id
        self.executor.admin_ids = set(site.admin_ids)
        admin = account.admin
        self.source.uploads = admin
        if not admin:
            self._warn(
                f"the bot account {self.settings.username!r} is not an admin: bans, purges "
                "and uploads that were never posted (admin/list_all_media) are out of reach"
                + ("" if self.dry_run else "; those actions will fail")
            )
        hiding = {
            k: False
            for k in ("show_nsfw", "show_bot_accounts", "show_read_posts")
            if not getattr(account, k)
        }
        all_languages = list(site.all_languages)
        mine = set(account.discussion_languages)
        languages_hidden = bool(all_languages) and bool(mine) and not set(all_languages) <= mine
        if not hiding and not languages_hidden:
            return
        what = sorted(hiding) + (["discussion_languages"] if languages_hidden else [])
        if self.dry_run:
            self._warn(
                "the bot account's settings hide content from its listings ("
                + ", ".join(what)
                + "); dry-run changes nothing: NSFW posts are read with "
                "show_nsfw=true, but comments in NSFW communities, bot accounts' posts, "
                "read posts and other languages may be missed. `modbot run` without "
                "--dry-run fixes these settings on the bot's own account."
            )
            return
        change: dict[str, bool | list[int]] = dict.fromkeys(hiding, True)
        if languages_hidden:
            change["discussion_languages"] = all_languages
        try:
            self.client.save_user_settings(**change)
        except LemmyError as exc:
            if "discussion_languages" not in change:
                raise
            # A site that restricts languages may refuse some: fix the rest, and say so.
            self._warn(
                f"could not enable every discussion language ({exc}); posts in "
                "languages the bot account lacks stay hidden from it"
            )
            change.pop("discussion_languages")
            what.remove("discussion_languages")
            if not change:
                return
            self.client.save_user_settings(**change)
        log.warning(
            "changed the bot account's settings so nothing is hidden from it: %s", ", ".join(what)
        )

    # ------------------------------------------------------------------ cycles
    def poll_once(
        self, *, deep: bool | None = None, stop: threading.Event | None = None
    ) -> CycleStats:
        """Look at everything new since the last poll (``deep``: also the lookback)."""
        return self._run(lambda: self.source.poll(deep=deep), stop=stop)

    def sweep(
        self,
        since: datetime | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CycleStats:
        """Walk the backlog down to ``since`` (everything when None); resumable.

        ``progress(items_done, total_or_None)`` is called after each batch; the total is
        the site's post + comment count when sweeping everything. Setting ``stop``
        ends the sweep after the batch in hand; the next sweep resumes there.
        """
        self.start()
        total = None
        if since is None:
            site = self.client.site_info()
            total = (site.posts + site.comments) or None
        return self._run(
            lambda: self.source.backlog(since), stop=stop, progress=progress, total=total
        )

    def _run(
        self,
        batches: Callable,
        *,
        stop: threading.Event | None,
        progress: Callable | None = None,
        total: int | None = None,
    ) -> CycleStats:
        with self._busy:  # one cycle at a time: the event loop and the cursors are shared
            return self._run_locked(batches, stop=stop, progress=progress, total=total)

    def _run_locked(
        self,
        batches: Callable,
        *,
        stop: threading.Event | None,
        progress: Callable | None,
        total: int | None,
    ) -> CycleStats:
        requests_before = self.client.requests
        self.start()
        stats = CycleStats()
        if self.executor.valve_tripped():
            log.warning(
                "safety valve tripped (%s): report-only", self.executor.valve_tripped()["reason"]
            )
        self._waiting = []
        stream = batches()
        last_flush = time.monotonic()
        try:
            self.recover(stats)
            retry = self._posts_to_retry()
            if retry:
                self._process(retry, stats)
            for batch in stream:
                if stop is not None and stop.is_set():
                    break
                self._process(batch, stats)
                if self._waiting and time.monotonic() - last_flush >= NOTIFY_EVERY:
                    self._flush(stats)  # a long sweep still tells the admins in time
                    last_flush = time.monotonic()
                if progress is not None:
                    progress(stats.items_seen, total)
                if stop is not None and stop.is_set():
                    break
        finally:
            stream.close()
            self._flush(stats)
            stats.requests = self.client.requests - requests_before
            self._memory_figures(stats)
        return stats

    def _memory_figures(self, stats: CycleStats) -> None:
        """The cycle's peak of each memory budget (then counted afresh for the next)."""
        budget = getattr(self._engine, "decode_budget", None)
        if budget is not None:
            stats.decode_memory = (budget.peak, budget.total)
            budget.reset_peak()
        if self._fetcher is not None:
            bodies = self._fetcher.body_budget
            stats.download_memory = (bodies.peak, bodies.total)
            bodies.reset_peak()

    def _flush(self, stats: CycleStats) -> None:
        """Send the admins' messages (one per admin), then record the items behind them."""
        waiting, self._waiting = self._waiting, []
        self.executor.flush_notifications()
        for item, records in waiting:
            self._commit(item, records, stats)

    # ------------------------------------------------------------------ one batch
    def _process(self, items: list[Item], stats: CycleStats) -> None:
        images = [self._capped(item, self._refs(item)) for item in items]
        stats.images_found += sum(1 for imgs in images for img in imgs if img.ref is not None)
        for imgs in images:
            for img in imgs:
                alias = img.ref.alias if img.ref is not None else None
                if (
                    not img.skipped
                    and alias
                    and (done := self.store.action("purge_image", f"alias:{alias}"))
                    and done["status"] in DONE
                ):
                    img.skipped, img.skipped_detail = "purged", "modbot purged this image already"
        engine = self.engine if any(not img.skipped for imgs in images for img in imgs) else None
        # The event loop's thread fetches and classifies; each item comes back here as soon
        # as its images are in, whatever the others are waiting for. A stop request lets
        # the batch in hand finish. Each item is recorded as soon as its actions are done,
        # so the audit says what was done even if the process dies next; an item waiting
        # for the cycle's admin message is recorded after it is sent (else a crash would
        # lose the message).
        ready: queue.Queue = queue.Queue()
        finished = threading.Event()
        work = self._in_loop(self._acquire(items, images, engine, stats, ready, finished))
        # An item that shows a file another item of the batch still waits for is held
        # until that one is in: if it is exempt, the file is spared for both (a post and
        # the upload of its image may come in either order).
        files = [
            {_file_key(img) for img in imgs if img.ref is not None and not img.skipped}
            for imgs in images
        ]
        pending = set(range(len(items)))
        held: list[int] = []
        try:
            for _ in items:
                while True:
                    try:
                        index = ready.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if work.done():
                            work.result()  # the loop's error, if it failed
                            index = ready.get_nowait()  # raises if an item went missing
                            break
                pending.discard(index)
                self._note_exempt_files(items[index], images[index])
                held.append(index)
                for index in [i for i in held if not any(files[i] & files[p] for p in pending)]:
                    held.remove(index)
                    item = items[index]
                    records = self._decide(item, images[index])
                    if any(o.status == "queued" for r in records for o in r["actions"]):
                        self._waiting.append((item, records))
                    else:
                        self._commit(item, records, stats)
            work.result()
        finally:
            if not finished.is_set():  # failed or interrupted here: stop the downloads
                self._loop.call_soon_threadsafe(self._cancel_all)
                finished.wait(60)

    def _capped(self, item: Item, images: list[_Image]) -> list[_Image]:
        """The first ``max_images_per_item`` images are checked; the rest are recorded as
        skipped (a comment of a hundred links must not cost a hundred downloads)."""
        cap = self.policy.fetch.max_images_per_item
        for number, img in enumerate(images[cap:], start=cap + 1):
            img.skipped = "too_many_images"
            img.skipped_detail = (
                f"image {number} of {len(images)} in this {item.kind}: only "
                f"the first {cap} are checked (fetch.max_images_per_item)"
            )
        return images

    def _note_exempt_files(self, item: Item, images: list[_Image]) -> None:
        """Before the item acts, note in the store each file it shows while exempt: later
        items, batches and runs find the note there (``_spared``)."""
        for img in images:
            if img.skipped or img.verdict is None or not img.sha256 or img.ref is None:
                continue
            plan = self.policy.decide(self._subject(item, img))
            if plan.spares_file:
                self.store.note_exempt_file(
                    self.source.scope, item.key, img.sha256, img.ref.alias, plan.spares_file
                )

    def _spared(self, item: Item, img: _Image) -> str | None:
        """Why this image's file must be spared: another item showing it is exempt."""
        found = self.store.exempt_file(
            self.source.scope, img.sha256, img.ref.alias, other_than=item.key
        )
        if found is None:
            return None
        kind, _, item_id = found["item_key"].partition(":")
        return f"the same file is shown by {kind} {item_id}, exempt: {found['why']}"

    def _retry_cursor(self) -> str:
        return f"{self.source.scope}:retry_posts"

    def _posts_to_retry(self) -> list[Item]:
        """Posts with an action that failed for a passing reason. Read by id: once removed
        (often by the bot itself, just before) a post is hidden from post/list."""
        ids = json.loads(self.store.get_cursor(self._retry_cursor()) or "[]")
        items = []
        for post_id in ids:
            try:
                item = self.client.post(post_id)
                if item.problem:  # recorded as skipped; its id may not be readable
                    self._set_retry("post", post_id, False)
                items.append(item)
            except LemmyUnavailable as exc:
                log.warning("post %s, to look at again: %s; next cycle", post_id, exc)
            except LemmyError as exc:  # purged since: nothing left to do
                log.warning("post %s, to look at again: %s; dropped", post_id, exc)
                self._set_retry("post", post_id, False)
        return items

    def _set_retry(self, kind: str, item_id: Any, retry: bool) -> None:
        if kind != "post":
            return  # comments (removed ones too) and uploads are listed again
        ids = json.loads(self.store.get_cursor(self._retry_cursor()) or "[]")
        wanted = sorted(set(ids) | {item_id}) if retry else [i for i in ids if i != item_id]
        if wanted != ids:
            self.store.set_cursor(self._retry_cursor(), json.dumps(wanted) if wanted else None)

    def _commit(self, item: Item, records: list[dict], stats: CycleStats) -> None:
        """One transaction: the item's decisions and its "seen" mark."""
        # An action that failed for a passing reason, or an image no classifier could
        # look at now: look at the item again next time.
        retry = any(o.retry for r in records for o in r["actions"]) or any(
            r["skipped"] == UNAVAILABLE for r in records
        )
        with self.store.transaction():
            self._set_retry(item.kind, item.id, retry)
            for record in records:
                record["actions"] = [o.as_dict() for o in record["actions"]]
                self.store.add_decision(record)
            self.store.journal_delete(item.key)
            if not retry and self.source.remember_seen:
                # the source's scope: a caller may give it one of its own (reports do)
                self.store.mark_seen(self.source.scope, item.kind, item.id, item.updated)
        for record in records:
            stats.decisions += 1
            for a in record["actions"]:
                stats.actions[f"{a['action']}:{a['status']}"] += 1
            if record.get("skipped"):
                stats.skipped[record["skipped"]] += 1
        stats.items_seen += 1

    def _refs(self, item: Item) -> list[_Image]:
        """The item's images; for an item that cannot be read, one record saying why
        (``malformed_item``), so it shows in reports and the cycle's summary."""
        problem = item.problem
        if problem is None:
            url = self.public_url
            try:
                refs = image_refs(item, instance_url=url, custom_emoji_urls=self._emojis)
                return [_Image(ref) for ref in refs]
            except (KeyError, TypeError, ValueError) as exc:
                problem = f"its images could not be read ({type(exc).__name__}: {exc})"
        log.warning("%s: malformed in Lemmy's answer: %s; recorded as skipped", item.key, problem)
        return [
            _Image(
                None,
                skipped="malformed_item",
                skipped_detail=f"Lemmy's {item.kind} is malformed: {problem}"[:500],
            )
        ]

    # ------------------------------------------------------------------ fetch + classify
    def _fetch_policy(self) -> Any:
        from modbot.fetch import Fetcher, FetchLimits

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
        # The instance and its pict-rs may live on a private network: they are trusted,
        # each on its URL's port only.
        allowed = [
            h
            for h in (
                _host_port(self.settings.lemmy_url),
                _host_port(self.public_url),
                _host_port(self.settings.pictrs_url),
            )
            if h
        ]
        allowed += list(f.allow_hosts)
        kwargs = {"allowed_hosts": allowed}
        if self._fetch_resolver is not None:
            kwargs["resolver"] = self._fetch_resolver
        return Fetcher(limits, **kwargs)

    def _fetch_urls(self, ref: ImageRef) -> tuple[str, ...]:
        # A local upload is read through LEMMY_URL, which may be the instance's internal
        # address (http://lemmy:8536) when the public one is not reachable from the bot.
        if ref.alias and self.settings.lemmy_url != self.public_url:
            return (f"{self.settings.lemmy_url}/pictrs/image/{ref.alias}",)
        return ref.fetch_urls

    def _in_loop(self, coro: Any) -> Any:
        """Run ``coro`` on the pipeline's event loop (its thread starts on first use);
        returns a ``concurrent.futures.Future``."""
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(
                target=self._loop.run_forever, name="modbot-fetch", daemon=True
            )
            self._loop_thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _cancel_all(self) -> None:
        for task in getattr(self, "_batch_tasks", ()):
            task.cancel()

    async def _acquire(
        self,
        items: list[Item],
        images: list[list[_Image]],
        engine: Any,
        stats: CycleStats,
        ready: queue.Queue,
        finished: threading.Event,
    ) -> None:
        """Fetch and classify every item's images, ``fetch.concurrency`` items at a time;
        put each item's index on ``ready`` when its images are in."""
        batch = _Batch(engine, stats)
        window = asyncio.Semaphore(self.policy.fetch.concurrency)

        async def one(index: int) -> None:
            try:
                async with window:
                    await self._acquire_item(items[index], images[index], batch)
            finally:
                ready.put(index)

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(items))]
        self._batch_tasks = tasks
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
            self._batch_tasks = []
            finished.set()

    async def _acquire_item(self, item: Item, images: list[_Image], batch: _Batch) -> None:
        wanted = [img for img in images if not img.skipped]
        if not wanted:
            return
        if self._fetcher is None:
            self._fetcher = self._fetch_policy()
        f = self.policy.fetch
        limit = f.item_timeout.total_seconds()
        clock = _ItemClock(limit)
        # an item downloads a quarter of fetch.concurrency at once: a hostile one cannot
        # take every download slot from the others
        slots = asyncio.Semaphore(max(1, f.concurrency // 4))
        mine: list[tuple[_Image, _Download]] = []
        for img in wanted:
            urls = self._fetch_urls(img.ref)
            download = batch.downloads.get(urls)
            if download is None or download.abandoned:
                download = _Download(urls, slots)
                download.task = batch.start(self._image(download, batch))
                batch.downloads[urls] = download
            download.attach(clock)
            mine.append((img, download))
        everything = asyncio.ensure_future(asyncio.wait([d.fetched for _, d in mine]))
        out_of_time = asyncio.ensure_future(clock.run_out())
        try:
            await asyncio.wait([everything, out_of_time], return_when=asyncio.FIRST_COMPLETED)
        finally:
            everything.cancel()
            out_of_time.cancel()
        for img, download in mine:
            if not download.fetched.done():
                img.skipped = "item_timeout"
                img.skipped_detail = (
                    f"this {item.kind}'s images took longer than {limit:g} s "
                    "to download in all (fetch.item_timeout)"
                )
                download.detach(clock)
        for img, download in mine:
            if img.skipped:
                continue
            assert download.task is not None
            outcome = await asyncio.shield(download.task)  # shared: others may await it too
            img.sha256, img.verdict, img.phash = outcome.sha256, outcome.verdict, outcome.phash
            img.skipped, img.skipped_detail = outcome.skipped, outcome.skipped_detail

    async def _image(self, download: _Download, batch: _Batch) -> _Outcome:
        """Download, hash, classify (or the cached verdict), pHash, then drop the bytes."""
        from modbot.fetch import FetchSkipped

        fetcher = self._fetcher
        fetched: Any = None
        try:
            async with download.slots:
                download.set_waiting_memory(True)
                try:
                    hold = await fetcher.reserve_body()
                finally:
                    download.set_waiting_memory(False)
                fetched = await fetcher.fetch_first(download.urls, hold)
        except FetchSkipped as exc:
            return _Outcome(skipped=exc.reason, skipped_detail=exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("fetching %s failed unexpectedly: %r", download.urls[0], exc)
            return _Outcome(skipped="fetch_error", skipped_detail=type(exc).__name__)
        finally:
            download.done()
        sha256 = fetched.sha256
        try:
            judged = batch.judging.get(sha256)
            if judged is None:
                judged = batch.judging[sha256] = batch.start(
                    self._judge(sha256, fetched.data, batch)
                )
            verdict, phash, skipped, detail = await asyncio.shield(judged)
        finally:
            fetched.release()  # the bytes are dropped: out of the download budget
            fetched = None
        if skipped:
            return _Outcome(sha256=sha256, skipped=skipped, skipped_detail=detail)
        return _Outcome(sha256=sha256, verdict=verdict, phash=phash)

    async def _judge(self, sha256: str, data: bytes, batch: _Batch) -> tuple:
        """(verdict, phash, skipped reason, detail) for one file: from the cache or the
        classifier."""
        from classifier.remote import ClassifierUnavailable

        engine = batch.engine
        try:
            # a remote classifier learns its concept version from the first worker that
            # answers; a local one knows it
            version = engine.concept_version or await engine.ready()
        except ClassifierUnavailable as exc:
            return None, None, UNAVAILABLE, str(exc)[:300]
        verdict = self.store.get_verdict(sha256, version)
        if verdict is not None:
            batch.stats.cache_hits += 1
        else:
            try:
                verdict = (await engine.classify(data)).to_dict()
            except asyncio.CancelledError:
                raise
            except ClassifierUnavailable as exc:
                return None, None, UNAVAILABLE, str(exc)[:300]
            except Exception as exc:
                log.warning("classifying %s failed: %r", sha256[:12], exc)
                return None, None, "classifier_error", repr(exc)[:300]
            # under the version it was made with: a remote worker may serve another
            self.store.put_verdict(sha256, verdict.get("concept_version") or version, verdict)
            batch.stats.images_classified += 1
        phash = None
        if self.policy.needs_phash and not verdict.get("unreadable"):
            phash = await asyncio.to_thread(_perceptual_hash, engine, data)
        return verdict, phash, None, ""

    # ------------------------------------------------------------------ decide + act
    def _decide(self, item: Item, images: list[_Image]) -> list[dict]:
        """One record per image; its actions are ``Outcome``s (notices still queued)."""
        records: list[dict] = []
        work: list[tuple[dict, _Image, list, list, str | None]] = []
        done_for_item: set[str] = set()
        for img in images:
            record = self._record(item, img)
            records.append(record)
            if img.skipped or img.verdict is None:
                record["skipped"] = img.skipped or "unchecked"
                if img.skipped_detail:
                    record["skipped_detail"] = img.skipped_detail
                img.data = None
                # only rules with a `skipped:` condition match an image that was not checked
                if (
                    not img.skipped
                    or img.skipped == "purged"
                    or img.ref is None
                    or not self.policy.acts_on_skips
                ):
                    continue
            subject = self._subject(item, img)
            spared = self._spared(item, img)
            subject.file_exempt = spared
            plan = self.policy.decide(subject)
            img.data = None  # bytes are not kept past the decision
            record["rule"] = plan.rule
            record["hash_match"] = dict(plan.hash_lists) or None
            record["exempt"] = plan.exempt
            record["matched"] = [asdict(m) for m in plan.matched]
            real, repeats = [], []
            for planned in plan.actions:
                # One remove/ban/report per item, however many of its images matched.
                key = (
                    planned.kind if planned.kind != "purge_image" else f"purge_image:{img.ref.url}"
                )
                if key in done_for_item:
                    repeats.append(
                        Outcome(
                            planned.kind,
                            "skipped",
                            "already decided for another image of this item",
                        )
                    )
                    continue
                done_for_item.add(key)
                real.append(planned)
            work.append((record, img, real, repeats, spared))
        targets = {
            id(record): replace(self._target(item, img), file_exempt=spared)
            for record, img, _real, _, spared in work
        }
        if not self.dry_run and any(real for _r, _i, real, _, _s in work):
            # Write-ahead: if the process dies while Lemmy carries these out (a removed
            # post is then hidden from the listings), the next start finishes the job
            # from here (``recover``) and records the decisions.
            plans = {
                id(record): {
                    "target": asdict(targets[id(record)]),
                    "actions": [asdict(a) for a in real],
                    "repeats": [o.as_dict() for o in repeats],
                }
                for record, img, real, repeats, _ in work
            }
            self.store.journal_put(
                item.key,
                self.run_id,
                {
                    "version": JOURNAL_VERSION,
                    "runs": [self.run_id],
                    "item": {"kind": item.kind, "id": item.id, "updated": item.updated},
                    "records": [{**r, "plan": plans.get(id(r))} for r in records],
                },
            )
        for record, img, real, repeats, spared in work:
            outcomes = self.executor.execute(targets[id(record)], real) if real else []
            record["actions"] = outcomes + repeats
        return records

    def recover(self, stats: CycleStats | None = None) -> None:
        """Carry on the items a run was acting on when it stopped (``kill -9``, a crash,
        a cycle that failed): from the write-ahead journal, each decision's remaining
        actions are carried out; those done are not repeated and show as done, with
        when; one that was being sent when the process died is looked up on Lemmy (the
        item read by id, the person, the reports, the bot's sent messages) and sent only
        if it did not take effect. Then the decisions are recorded and the item marked
        seen, as an item is at the end of ``_process``. Live only, under the acting
        lock; called at the start of every cycle (nothing is in flight then)."""
        if self.dry_run:
            return
        from modbot.rules import PlannedAction

        stats = stats or CycleStats()
        for key, run_id, entry in self.store.journal_entries():
            if not isinstance(entry, dict) or entry.get("version") != JOURNAL_VERSION:
                # Written by an older modbot: decisions without their plan.
                log.warning(
                    "%s: the last run stopped while acting on it; recorded as interrupted", key
                )
                records = entry if isinstance(entry, list) else []
                with self.store.transaction():
                    for record in records:
                        self.store.add_decision(record)
                    self.store.journal_delete(key)
                continue
            log.warning("%s: run %s stopped while acting on it; carrying on", key, run_id)
            meta = entry["item"]
            item = Item(meta["kind"], meta["id"], None, meta.get("updated") or "")
            records = json.loads(json.dumps(entry["records"]))
            runs = list(entry.get("runs") or [run_id])
            if self.run_id not in runs:  # should this run die too, the next knows it acted
                runs.append(self.run_id)
                self.store.journal_put(key, run_id, {**entry, "runs": runs})
            self.executor.resuming = set(runs)
            try:
                for record in records:
                    plan = record.pop("plan", None)
                    if not plan:
                        continue
                    actions = [PlannedAction(**a) for a in plan["actions"]]
                    outcomes = (
                        self.executor.execute(Target(**plan["target"]), actions) if actions else []
                    )
                    record["actions"] = outcomes + [
                        Outcome(o["action"], o["status"], o.get("detail", ""))
                        for o in plan["repeats"]
                    ]
                    record["resumed_by"] = self.run_id
            finally:
                self.executor.resuming = set()
            if any(o.status == "queued" for r in records for o in r["actions"]):
                self._waiting.append((item, records))
            else:
                self._commit(item, records, stats)

    def _record(self, item: Item, img: _Image) -> dict:
        community, creator = item.community, item.author
        url = self._permalink(item, img)
        verdict = img.verdict or {}
        return {
            "run_id": self.run_id,
            "decided_at": utc_iso(),
            "dry_run": self.dry_run,
            "item": {
                "kind": item.kind,
                "id": item.id,
                "url": url,
                "community": community.ref if community else None,
                "community_nsfw": community.nsfw if community else None,
                "author": creator.actor_id if creator else None,
                "author_id": creator.id if creator else None,
            },
            "image": None
            if img.ref is None
            else {
                "url": img.ref.url,
                "location": img.ref.location,
                "sha256": img.sha256,
                "alias": img.ref.alias,
            },
            "scores": dict(verdict.get("scores") or {}),
            "labels": list(verdict.get("labels") or []),
            "model": verdict.get("model"),
            "random_weights": verdict.get("random_weights"),
            "concept_version": verdict.get("concept_version"),
            "unreadable": verdict.get("unreadable"),
            "hash_match": None,
            "rule": None,
            "actions": [],
            "skipped": None,
        }

    def _subject(self, item: Item, img: _Image) -> Any:
        from modbot.rules import Subject

        community, creator = item.community, item.author
        verdict = img.verdict or {}
        author_id = creator.id if creator else None
        return Subject(
            item_kind=item.kind,
            found_in=img.ref.location,
            item_local=item.local,
            community_name=community.ref if community else None,
            community_nsfw=community.nsfw if community else None,
            community_local=community.local if community else None,
            author_actor_id=creator.actor_id if creator else None,
            author_local=creator.local if creator else None,
            author_bot=creator.bot_account if creator else None,
            author_published=creator.published if creator else None,
            author_is_moderator=item.author_is_moderator,
            author_is_admin=item.author_is_admin or author_id in self.executor.admin_ids,
            labels=tuple(verdict.get("labels") or ()),
            scores=dict(verdict.get("scores") or {}),
            unreadable=verdict.get("unreadable"),
            skipped=img.skipped,
            sha256=img.sha256,
            image=img.data,
            phash=img.phash,
            permalink=self._permalink(item, img),
            image_url=img.ref.url,
        )

    def _permalink(self, item: Item, img: _Image) -> str | None:
        if item.kind == "upload" or not isinstance(item.id, int):
            return img.ref.url if img.ref is not None else None
        return f"{self.public_url}/{item.kind}/{item.id}"

    def _target(self, item: Item, img: _Image) -> Target:
        creator, community = item.author, item.community
        return Target(
            kind=item.kind,
            id=item.id,
            url=self._permalink(item, img),
            author_id=creator.id if creator else None,
            author_name=(creator.actor_id or creator.name or "") if creator else "",
            author_is_admin=item.author_is_admin,
            community_id=community.id if community else None,
            image_alias=img.ref.alias,
            image_url=img.ref.url,
            image_original_url=img.ref.original_url,
            image_sha256=img.sha256,
            delete_token=item.upload.delete_token if item.upload else None,
        )


class _Batch:
    """What the items of one batch share: downloads by URL, verdicts by SHA-256."""

    def __init__(self, engine: Any, stats: CycleStats) -> None:
        self.engine, self.stats = engine, stats
        self.downloads: dict[tuple[str, ...], _Download] = {}
        self.judging: dict[str, asyncio.Task] = {}
        self.tasks: list[asyncio.Task] = []

    def start(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task


def _perceptual_hash(engine: Any, data: bytes) -> str | None:
    """The pHash of a readable image: a second decode, so it holds its memory in the
    classifier's decode budget like the first (None when it cannot be taken)."""
    from modbot.hashes import ImageHashError, perceptual_hash

    budget = getattr(engine, "decode_budget", None)
    try:
        if budget is None:  # a remote classifier: no decode budget, no torch here
            return perceptual_hash(data)
        from classifier.budget import estimate
        from classifier.preprocess import Unreadable

        try:
            with budget.reserve(estimate(data, engine.preprocess), "its perceptual hash"):
                return perceptual_hash(data)
        except Unreadable as exc:
            log.debug("no perceptual hash: %s", exc)
            return None
    except ImageHashError as exc:
        log.debug("no perceptual hash: %s", exc)
        return None


def _file_key(img: _Image) -> str:
    """What two images of a batch share when they are one file before it is downloaded:
    the pict-rs alias of a local image, else the URL."""
    assert img.ref is not None
    return f"alias:{img.ref.alias}" if img.ref.alias else img.ref.url


def _host_port(url: str | None) -> str | None:
    """``host:port`` of a configured URL, the port being the scheme's default when the
    URL has none: the instance's host is trusted on that port only, not on every port
    (``http://lemmy`` must not open ``lemmy:6379`` or a private address's other ports)."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    if port is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}"


def build_engine(policy: Any, classifier_token: Secret | None = None) -> Any:
    """The classifier the policy's ``classifier:`` and ``concepts:`` describe: a local
    ``Engine``, or with ``classifier.remote`` a ``RemoteEngine`` (no model loaded here;
    ``classifier_token``: the workers' token, from $MODBOT_CLASSIFIER_TOKEN). A worker
    refusing the token, or weights that are not there, raise ``ClassifierError`` (its
    cause the ``classifier.ModelError``): the command says so and stops."""
    from classifier.model import ModelError
    from modbot.errors import ClassifierError

    try:
        return _build_engine(policy, classifier_token)
    except ModelError as exc:
        raise ClassifierError(f"the classifier cannot start: {exc}") from exc


def _build_engine(policy: Any, classifier_token: Secret | None) -> Any:
    from classifier.concepts import ConceptSet, CustomConcept

    c = policy.classifier
    custom = [
        CustomConcept(name, tuple(s.prompts), s.threshold)
        for name, s in (policy.concepts or {}).items()
    ]
    if c.remote is not None:
        from classifier.remote import RemoteEngine

        token = classifier_token.reveal() if classifier_token else None
        engine = RemoteEngine(
            c.remote.urls,
            token,
            custom=custom,
            timeout=c.remote.timeout.total_seconds(),
            max_concurrency=c.remote.concurrency,
        )
        try:
            engine.check()
        except BaseException:
            engine.close()
            raise
        return engine
    from classifier.engine import Engine
    from classifier.model import ModelSpec, load_model

    spec = ModelSpec(
        name=c.model,
        pretrained=c.pretrained,
        checkpoint=policy.checkpoint_path,
        device=c.device,
        allow_random_weights=c.allow_random_weights,
    )
    loaded = load_model(spec)
    from classifier.deepdanbooru import load_deepdanbooru

    danbooru = load_deepdanbooru(
        policy.deepdanbooru_setting, loaded.device, allow_random_weights=c.allow_random_weights
    )
    return Engine(
        loaded,
        ConceptSet.builtin(custom=custom),
        max_batch=c.batch_size,
        decode_memory=c.decode_memory,
        danbooru=danbooru,
    )
