"""One moderation cycle: source → images → fetch → classify → hashes → rules → actions →
record, orchestrated.

``Pipeline.poll_once()`` looks at what is new since the last poll; ``Pipeline.sweep()``
walks the backlog (resumable). Both work in batches (a page of items), one batch read
and acquired ahead while the one before is decided, so the classifier is fed across
pages; batches are decided in order. The stages:

- ``session``: the login and the account (checked at start, then every few minutes);
- ``source``: items (``model.Item``) from Lemmy, through ``LemmyApi``;
- ``images``: each item's images (``ImageRef``), at most ``max_images_per_item``;
- ``acquire``: downloading, hashing and classifying them on an event loop of its own,
  each item within its limits, handing each item back as soon as its images are in;
- ``rules``: the plan for each image (``record`` builds what the rules and the
  actions are given, and the audit's ``Decision``);
- ``actions``: carried out (or planned, in dry-run), with the write-ahead ``journal``;
- the store: each item's decisions and its "seen" mark in one transaction; the admins'
  notifications are sent once per batch (one message per admin).

So a hostile item holds up no other, and a killed process loses nothing: the item is
looked at again, its verdicts come from the cache and its actions from the store, so
nothing is repeated; an item killed *while acting* is carried on from the journal at
the next start (``Pipeline.recover``). Acting needs the state's acting lock
(``modbot.statelock``): a live pipeline takes it when built; a dry run never does, and
never recovers.

Longer than most modules because it is where every stage meets (poll, sweep, recover,
decide and commit an item); each step is a call into a stage, none is done here.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import queue
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Generator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from modbot.acquire import Acquirer
from modbot.actions.executor import Executor
from modbot.classify import (
    CLASSIFIER_UNAVAILABLE,
    Engine,
    build_engine,
    decode_budget,
    inference_on_cpu,
)
from modbot.config.policy import Policy
from modbot.config.settings import Settings
from modbot.errors import LemmyUnavailable
from modbot.fetch import Resolver
from modbot.images import image_refs, known_key, remote_video
from modbot.journal import ActionPlan, recover, write_ahead
from modbot.lemmy import LemmyApi, connect
from modbot.lemmy.transport import STOPPING
from modbot.markdown import inert
from modbot.model import (
    FILE_KINDS,
    ActionOutcome,
    CycleStats,
    Decision,
    Item,
    ItemImage,
    PlannedAction,
    action_outcome,
)
from modbot.record import decision_for, recorded_at, recorded_subject, subject_for, target_for
from modbot.rules import Plan, hash_matches, uploader_exemption
from modbot.session import DEFAULT_SESSION_CHECK, Session, admin_rules
from modbot.source import Source
from modbot.statelock import StateLock
from modbot.store import Store
from modbot.subscriptions import FeedRefresher, load_kept, refresh

__all__ = ["CycleStats", "Pipeline", "new_run_id"]

log = logging.getLogger(__name__)

DEFAULT_DEEP_EVERY = timedelta(minutes=10)
NOTIFY_EVERY = 300.0  # seconds: admin messages are batched per cycle, at most this long
# ``image.checked`` of an image decided on the verdict and hashes the state keeps of its
# file, which modbot purged already (``Acquirer._from_record``): not downloaded
RECORDED_VERDICT = "recorded_verdict"
# the actions that take an item's image's upload from pict-rs (its uploader's item)
_TAKES_UPLOAD = frozenset({"purge_image", "delete_image", "purge_item"})


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


class Pipeline:
    """The whole bot for one instance. ``close()`` when done (or use ``with``).

    ``scope``: whose cursors and "seen" marks it keeps in the store (default ``live``, or
    ``dry-run``); a report walks in a scope of its own. ``remember_seen=False``
    re-decides items already seen (reports)."""

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        *,
        dry_run: bool,
        run_id: str | None = None,
        engine: Engine | None = None,
        client: LemmyApi | None = None,
        store: Store | None = None,
        scope: str | None = None,
        remember_seen: bool = True,
        deep_every: timedelta = DEFAULT_DEEP_EVERY,
        session_check_every: timedelta = DEFAULT_SESSION_CHECK,
        fetch_resolver: Resolver | None = None,
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
        self.warnings: list[str] = []  # account and paging warnings, for a report
        try:
            self.client: LemmyApi = client or connect(
                settings,
                requests_per_minute=policy.lemmy.requests_per_minute,
                timeout=policy.lemmy.timeout.total_seconds(),
                read_only=dry_run,
                api_version=policy.lemmy.api,
                report_to_admins=policy.lemmy.report_to_admins,
            )
        except BaseException:  # the lock and the store let go: the daemon tries again
            if self.state_lock is not None:
                self.state_lock.release()
            if self._own_store:
                self.store.close()
            raise
        self.session = Session(
            self.client,
            self.store,
            settings,
            dry_run=dry_run,
            warn=self._warn,
            check_every=session_check_every,
            keep_token=client is None,
            needs_admin=admin_rules(policy),
        )
        self.source = Source(
            self.client,
            self.store,
            scope=scope or ("dry-run" if dry_run else "live"),
            lookback=policy.lemmy.lookback,
            deep_every=deep_every,
            remember_seen=remember_seen,
            warn=self._warn,
        )
        self.acquirer = Acquirer(settings, policy, self.store, fetch_resolver=fetch_resolver)
        # the daemon sets it: its cycles never wait on a feed's host (one-shot runs fetch
        # the feeds that are due before their cycle, which then uses them)
        self.feeds_in_background = False
        self.feed_refresher = FeedRefresher(self.store, resolver=self.acquirer.resolver)
        self._engine = engine
        self._own_engine = engine is None
        self._busy = threading.Lock()
        self.executor = Executor(
            self.client,
            self.store,
            run_id=self.run_id,
            dry_run=dry_run,
            max_destructive_per_hour=policy.safety_valve.max_destructive_actions_per_hour,
            purge_by_alias=settings.can_purge_by_alias or self.client.can_purge_files,
            pictrs_api=settings.can_purge_by_alias,
            upload_exempt=self.upload_exempt,
        )
        if not dry_run:
            # Under the acting lock every other run is over: a claim or journal entry
            # one of them left was in flight when it died.
            self.executor.stale_runs = {row["run_id"] for row in self.store.claims_left()} | {
                run_id for _key, run_id, _entry in self.store.journal_entries()
            }
        self._waiting: list[tuple[Item, list[Decision]]] = []
        # what ``_exempt_now`` read of the files reposted, kept between asks
        self._shown_exempt = ShownExempt(self.store)
        # the counts of the cycle last run (or running): what one that failed part-way
        # did first, its items recorded and its actions done (``_run``)
        self.cycle_stats: CycleStats | None = None
        # the last ``sweep`` walked the backlog to its end (else it resumes next time)
        self.sweep_ended = False

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.feed_refresher.close()  # a feed's download in flight is dropped: fetched next run
        for message in self.feed_refresher.take_warnings():
            self._warn(message)
        self.acquirer.close()
        if self._engine is not None and self._own_engine:
            self._engine.close()
        self.client.close()
        if self._own_store:
            self.store.close()
        if self.state_lock is not None:
            self.state_lock.release()

    def reload(self, policy: Policy) -> str | None:
        """Decide by ``policy`` (the rules file read again) from the next cycle on: its
        rules, exemptions, hash lists, feeds, ``fetch:`` and ``safety_valve:``. Returns why
        it was not taken, or None. What the pipeline was built with cannot change under
        it: ``classifier:`` and ``concepts:`` (the model) and ``lemmy:`` (the
        connection); a file that changes them is refused as a whole, so the bot never
        decides by half of a rules file. A non-admin account's warning is said again,
        naming the rules of ``policy`` Lemmy will refuse it (``Session.rules_changed``)."""
        old = self.policy
        if not policy.same_classifier(old):
            return "classifier: or concepts: changed; restart modbot to apply them"
        if policy.lemmy != old.lemmy:
            return "lemmy: changed; restart modbot to apply it"
        with self._busy:  # never in the middle of a cycle
            self.acquirer.use_policy(policy)
            self.executor.max_destructive_per_hour = (
                policy.safety_valve.max_destructive_actions_per_hour
            )
            self.policy = policy
        self.session.rules_changed(admin_rules(policy))
        return None

    @property
    def engine_built(self) -> bool:
        """The classifier is there already (given, or built by a first use)."""
        return self._engine is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = build_engine(self.policy, self.settings.classifier_token)
        return self._engine

    def start(self) -> None:
        """The session: the account checked once, then the login every few minutes."""
        if self.session.start():
            self.executor.admin_ids = set(self.session.admin_ids)
            self.executor.bot_person_id = self.session.bot_person_id
            self.source.uploads = self.session.admin
            # the site's own address (LEMMY_URL may be an internal name): what the
            # acquirer and the source take for "this instance" (its image proxy)
            self.acquirer.public_url = self.source.public_url = self.session.public_url
            self.acquirer.local_image_url = self.client.local_image_url
            # a private instance shows its images to logged-in users only (fetch.login);
            # the clients' Transport has the login (LemmyApi does not promise it)
            token, login = getattr(self.client, "token", None), getattr(self.client, "login", None)
            if callable(token) and callable(login):
                self.acquirer.use_login(
                    token, lambda dropped: login(dropped=dropped, what="image download")
                )

    def _refresh_feeds(self, stop: threading.Event | None) -> None:
        """The subscribed hash feeds, fetched when due (``modbot.subscriptions``): in the
        background with ``feeds_in_background`` (the cycle uses the copies it has, and a
        newer one from the moment it is verified), else before the cycle, which decides
        with them (a one-shot run's decisions are final); ``stop`` set drops the download
        in flight (fetched next run) and the cycle decides nothing new."""
        if self.feeds_in_background:
            self._feed_news()
            self.feed_refresher.start(self.policy)
        elif self.policy.feeds:
            refresh(
                self.store,
                self.policy,
                warn=self._feed_refused,
                resolver=self.acquirer.resolver,
                stop=stop,
            )
            if stop is not None and stop.is_set():
                load_kept(self.store, self.policy)  # the feeds after the one dropped

    def _feed_news(self) -> None:
        """What the feeds' background fetch said since (refusals), told as the cycle's."""
        for message in self.feed_refresher.take_warnings():
            self._feed_refused(message)

    def _feed_refused(self, message: str) -> None:
        """A subscribed feed was refused: in the log and the run's warnings each cycle,
        and a message to the admins once per refusal (sent with the cycle's notices)."""
        self._warn(message)
        why = message.split("; still using", 1)[0].split("; no copy", 1)[0]
        key = "feed refused " + hashlib.sha256(why.encode()).hexdigest()[:16]
        self.executor.notify(key, _inert_refusal(message))

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    # ------------------------------------------------------------------ cycles
    def poll_once(
        self,
        *,
        deep: bool | None = None,
        stop: threading.Event | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> CycleStats:
        """Look at everything new since the last poll (``deep``: also the lookback).
        A link known already is asked again (conditionally): new content may show a
        file changed behind an old link. ``progress`` as for ``sweep``: a long poll (a
        catch-up after downtime) is work in progress, not a stuck bot."""
        self.acquirer.recheck_links = True
        try:
            return self._run(lambda: self.source.poll(deep=deep), stop=stop, progress=progress)
        finally:
            self.acquirer.recheck_links = False

    def sweep(
        self,
        since: datetime | None = None,
        progress: Callable[[int, int | None], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CycleStats:
        """Walk the backlog down to ``since`` (everything when None); resumable.

        ``progress(items_done, None)`` is called after each batch: no total, since
        Lemmy counts only the instance's own posts and comments (``site.counts``), and
        the sweep walks the federated ones and the uploads too (a total from those
        counts read "150/128 items"). Setting ``stop`` ends the sweep after the batch
        in hand; the next sweep resumes there. ``sweep_ended`` says afterwards whether
        the walk reached its end (not stopped, before its first page included).
        """
        self.sweep_ended = False

        def walk() -> Generator[list[Item], None, None]:
            yield from self.source.backlog(since)
            self.sweep_ended = True  # not when stopped: the pipeline closes it first

        self.start()
        return self._run(walk, stop=stop, progress=progress)

    def stopped(self, exc: LemmyUnavailable, stop: threading.Event) -> CycleStats:
        """What the cycle did before a stop (``stop`` set: SIGTERM) gave up a request
        waiting to be retried (``STOPPING``): its page is read again when the walk
        resumes. ``exc`` is raised again when it is not that."""
        if exc.error != STOPPING or not stop.is_set():
            raise exc
        log.info("%s", exc)
        return self.cycle_stats or CycleStats()

    def run_batches(
        self,
        batches: Callable[[], Generator[list[Item], None, None]],
        *,
        stop: threading.Event | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> CycleStats:
        """A cycle over the batches another source hands out (``modbot.store_source``)."""
        return self._run(batches, stop=stop, progress=progress)

    def _run(
        self,
        batches: Callable[[], Generator[list[Item], None, None]],
        *,
        stop: threading.Event | None,
        progress: Callable[[int, int | None], None] | None = None,
        total: int | None = None,
    ) -> CycleStats:
        with self._busy:  # one cycle at a time: the event loop and the cursors are shared
            requests_before = self.client.requests
            if self.state_lock is not None:
                self.state_lock.check()  # (see ``_decide``): nothing of this cycle is done
            self.start()
            stats = self.cycle_stats = CycleStats()
            if self.executor.valve_tripped():
                log.warning(
                    "safety valve tripped (%s): report-only",
                    (self.executor.valve_tripped() or {})["reason"],
                )
            self._waiting = []
            self._refresh_feeds(stop)
            stream = batches()
            last_flush = time.monotonic()
            ahead: _Flight | None = None  # the next batch, acquired while one is decided
            failure: Exception | None = None
            try:
                self.recover(stats)
                if self._waiting:
                    # a recovered item's message goes (again) and the item is recorded
                    # before any page is read: else the listing shows it unseen, and it
                    # is decided a second time
                    self._flush(stats)
                    last_flush = time.monotonic()
                retry = self.source.posts_to_retry() + self.source.profiles_to_retry()
                if retry:
                    self._land(self._launch(retry, stats), stats)
                # Decided just now: one whose action failed again is not marked seen, and
                # the listings would hand it out again, its failing action sent twice.
                retried = {item.key for item in retry}
                while stop is None or not stop.is_set():
                    # The next page is read and its images fetched and classified while
                    # the batch before it is decided, so the classifier never waits for a
                    # page. The listing's position moves on (its cursor writes, held
                    # here) only once every batch before the page is recorded: a killed
                    # sweep resumes at the first page not wholly recorded.
                    failed: BaseException | None = None
                    with self.store.cursors_held() as moved:
                        try:
                            # the login checked when due (``session_check_every``), as
                            # between polls: a walk reads for hours, and a login dropped
                            # meanwhile would read the rest as an anonymous visitor (the
                            # comments in NSFW communities hidden: passed over for good)
                            self.start()
                            batch = next(stream, None)
                        except Exception as exc:  # after the batch in hand is recorded
                            batch, failed = None, exc
                    launched = None
                    if batch:
                        # nor one decided and waiting for the admins' message (not yet
                        # marked seen): a sweep's walk of removed posts hands out again
                        # those the bot itself just removed
                        waiting = {item.key for item, _ in self._waiting}
                        fresh = [
                            i
                            for i in _not_in(batch, ahead)
                            if i.key not in retried and i.key not in waiting
                        ]
                        launched = self._launch(fresh, stats)
                    landing, ahead = ahead, launched
                    if landing is not None:
                        self._land(landing, stats)
                        if self._waiting and time.monotonic() - last_flush >= NOTIFY_EVERY:
                            self._flush(stats)  # a long sweep still tells the admins in time
                            last_flush = time.monotonic()
                        if progress is not None:
                            progress(stats.items_seen, total)
                    self.store.set_cursors(moved)
                    if failed is not None:
                        raise failed
                    if batch is None:
                        break
                spent = getattr(stop, "only_spent", None)
                if ahead is not None and spent is not None and spent():
                    # a sweep slice's time is up (no signal): its page is recorded first
                    landing, ahead = ahead, None
                    self._land(landing, stats)
                    if progress is not None:
                        progress(stats.items_seen, total)
            except Exception as exc:
                failure = exc
                raise
            finally:
                if ahead is not None:  # stopped or failed: its items are looked at next time
                    self.acquirer.stop(ahead.finished)
                stream.close()
                self._feed_news()  # a feed refused meanwhile: with this cycle's messages
                self._flush(stats)
                stats.requests = self.client.requests - requests_before
                stats.comments_not_read = self.source.take_comments_not_read()
                self._memory_figures(stats)
                if failure is not None and stats.items_seen:
                    # the caller says the cycle failed; what it recorded first is said here
                    log.warning(
                        "the cycle stopped on %s: %s; done and recorded before: %s",
                        type(failure).__name__,
                        failure,
                        stats.summary(),
                    )
            return stats

    def _memory_figures(self, stats: CycleStats) -> None:
        """The cycle's peak of each memory budget (then counted afresh for the next)."""
        budget = decode_budget(self._engine) if self._engine is not None else None
        if budget is not None:
            stats.decode_memory = (budget.peak, budget.total)
            budget.reset_peak()
        stats.download_memory = self.acquirer.download_memory()

    def _flush(self, stats: CycleStats) -> None:
        """Send the admins' messages (one per admin), then record the items behind them."""
        waiting, self._waiting = self._waiting, []
        self.executor.flush_notifications()
        for item, decisions in waiting:
            self._commit(item, decisions, stats)

    def recover(self, stats: CycleStats | None = None) -> None:
        """Carry on the items a run was acting on when it stopped (``modbot.journal``);
        their decisions are then recorded as an item's are at the end of ``_land``.
        Live only, under the acting lock; at the start of every cycle."""
        if not self.dry_run:
            recover(
                self.store,
                self.executor,
                self.run_id,
                lambda item, decisions: self._finish(item, decisions, stats or CycleStats()),
            )

    # ------------------------------------------------------------------ one batch
    def _launch(self, items: list[Item], stats: CycleStats) -> _Flight:
        """Start acquiring a batch: its images are fetched and classified on the
        acquirer's thread from now on (``_land`` decides and records them)."""
        images = [self._capped(item, self._refs(item)) for item in items]
        stats.images_found += sum(1 for imgs in images for img in imgs if img.ref is not None)
        for imgs in images:
            _mark_purged(imgs, self.store)
        # a post's image whose file modbot purged: decided on its record, under the
        # engine's concept version (``Acquirer._from_record``); with no record of the
        # file, no engine is built for it (a local model loaded for nothing)
        purged = {
            id(img)
            for item, imgs in zip(items, images, strict=True)
            for img in imgs
            if img.skipped == "purged"
            and item.kind not in FILE_KINDS
            and img.ref is not None
            and img.ref.alias
            and self.store.known_file(f"alias:{img.ref.alias}") is not None
        }
        looked_at = any(not img.skipped for imgs in images for img in imgs)
        engine = self.engine if looked_at or purged else None
        if engine is not None and inference_on_cpu(engine):
            self.acquirer.yield_to_inference()
        ready: queue.Queue[int] = queue.Queue()
        work, finished = self.acquirer.start(items, images, engine, stats, ready)
        return _Flight(items, images, ready, work, finished, purged)

    def _land(self, flight: _Flight, stats: CycleStats) -> None:
        """Decide and record a batch's items, each as soon as its images are in."""
        items, images, ready, work = flight.items, flight.images, flight.ready, flight.work
        # Each item comes back here as soon as its images are in, whatever the others are
        # waiting for. Each item is recorded as soon as its actions are done, so the audit
        # says what was done even if the process dies next; an item waiting for the
        # cycle's admin message is recorded after it is sent (else a crash would lose the
        # message).
        # An item that shows a file another item of the batch still waits for is held
        # until that one is in: if it is exempt, the file is spared for both (a post and
        # the upload of its image may come in either order).
        files = [
            {known_key(img.ref) for img in imgs if img.ref is not None and not img.skipped}
            for imgs in images
        ]
        pending = set(range(len(items)))
        held: list[int] = []
        plans: dict[int, dict[int, Plan]] = {}  # by item index: its images' plans, by id
        recorded: dict[int, set[int]] = {}  # by item index: decided on the file's record
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
                # a post's image whose file modbot purged: decided on the state's record
                recorded[index] = {
                    id(img)
                    for img in images[index]
                    if id(img) in flight.purged and img.verdict is not None
                }
                plans[index] = self._note_exempt_files(items[index], images[index])
                held.append(index)
                for index in [i for i in held if not any(files[i] & files[p] for p in pending)]:
                    held.remove(index)
                    decisions = self._decide(
                        items[index], images[index], plans.pop(index), recorded.pop(index)
                    )
                    self._finish(items[index], decisions, stats)
            work.result()
        finally:
            self.acquirer.stop(flight.finished)  # failed or interrupted here: stop the downloads

    def _refs(self, item: Item) -> list[ItemImage]:
        """The item's images; for an item that cannot be read, one record saying why
        (``malformed_item``), so it shows in reports and the cycle's summary."""
        problem = item.problem
        if problem is None:
            try:
                refs = image_refs(
                    item,
                    instance_url=self.session.public_url,
                    custom_emoji_urls=self.session.emojis,
                )
                return [_not_scanned(ItemImage(ref), item) for ref in refs]
            except (KeyError, TypeError, ValueError) as exc:
                problem = f"its images could not be read ({type(exc).__name__}: {exc})"
        log.warning("%s: malformed in Lemmy's answer: %s; recorded as skipped", item.key, problem)
        return [
            ItemImage(
                None,
                skipped="malformed_item",
                skipped_detail=f"Lemmy's {item.kind} is malformed: {problem}"[:500],
            )
        ]

    def _capped(self, item: Item, images: list[ItemImage]) -> list[ItemImage]:
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

    def _note_exempt_files(self, item: Item, images: list[ItemImage]) -> dict[int, Plan]:
        """Before the item acts, note in the store each file it shows while exempt: later
        items, batches and runs find the note there (``_spared``). Returns the plans made
        for it (by ``id`` of the image), which ``_decide`` takes for a post's or a
        comment's images instead of deciding them twice (for those another item's
        exemption does not change the plan: it only spares the file, at the action)."""
        plans: dict[int, Plan] = {}
        for img in images:
            if img.skipped or img.verdict is None or not img.sha256 or img.ref is None:
                continue
            plan = plans[id(img)] = self.policy.decide(self._subject(item, img))
            if plan.spares_file:
                self.store.note_exempt_file(
                    self.source.scope, item.key, img.sha256, img.ref.alias, plan.spares_file
                )
        return plans

    def _spared(
        self, item: Item, img: ItemImage, actions: list[PlannedAction] | None = None
    ) -> str | None:
        """Why this image's file must be spared: another item showing it is exempt, as
        noted when it was decided, or under the rules as they are now (``_exempt_now``):
        for an upload or a stored file, whose plan it makes, always; for a post or a
        comment, when its ``actions`` take the file or ban its uploader."""
        found = self.store.exempt_file(
            self.source.scope, img.sha256, img.ref.alias if img.ref else None, other_than=item.key
        )
        if found is not None:
            kind, _, item_id = found["item_key"].partition(":")
            return f"the same file is shown by {kind} {item_id}, exempt: {found['why']}"
        if item.kind in FILE_KINDS or (actions is not None and _takes_file(actions)):
            return self._exempt_now(item, img)
        return None

    def _exempt_now(self, item: Item, img: ItemImage) -> str | None:
        """Why the file must be spared: a post or comment the bot recorded showing it is
        exempt under the rules as they are now. An exemption written into the rules after
        that item was decided (its image clean then, say) noted nothing there
        (``_note_exempt_files``), yet the file is what the exempt item shows: the store
        sweep would purge it, remove the exempt item with the file's removal and ban its
        uploader. Each is decided from its record (the author, the community and whether
        the author moderated it then) with this image's verdict and hashes."""
        assert img.ref is not None
        if item.kind == "file":  # every alias of it was looked up: the items it names
            for shown in self.store.items_recorded(item.shown_by):
                if f"{shown['kind']}:{shown['id']}" == item.key:
                    continue
                why = _exempt_why(self.policy, self.executor.admin_ids, shown, img)
                if why:
                    return f"the same file is shown by {shown['kind']} {shown['id']}, exempt: {why}"
            return None
        if not img.sha256:
            return None
        return self._shown_exempt.first(self.policy, self.executor.admin_ids, item.key, img)

    def upload_exempt(self, alias: str) -> str | None:
        """Why the uploader of ``alias`` is exempt (rules.yaml's global exemptions), as
        the index of uploaders knows them; None when not (or not known)."""
        row = self.store.uploader(alias)
        if row is None or not row.get("actor_id"):
            return None
        return uploader_exemption(self.policy, row["actor_id"])

    def uploader_exempt(self, alias: str | None, actions: list[PlannedAction]) -> str | None:
        """Why the uploader of ``alias`` must not be acted on by ``actions``: rules.yaml's
        global exemptions hold for them as for an item's author, so neither the ``ban:
        {uploader: true}`` among them bans them nor a purge (``purge_image``,
        ``delete_image``, ``purge_item``: Lemmy purges the post's link) takes their upload,
        which is their item (decided after the post, it would be exempt too late). The
        live run and the report from the record ask the same."""
        if not alias or not _takes_file(actions):
            return None
        return self.upload_exempt(alias)

    def _subject(self, item: Item, img: ItemImage) -> Any:
        return subject_for(
            item, img, public_url=self.session.public_url, admin_ids=self.executor.admin_ids
        )

    # ------------------------------------------------------------------ decide + act
    def _decide(
        self,
        item: Item,
        images: list[ItemImage],
        made_plans: dict[int, Plan] | None = None,
        recorded: set[int] | None = None,
    ) -> list[Decision]:
        """One decision per image; its actions are ``ActionOutcome``s (notices still
        queued). ``made_plans``: the plans ``_note_exempt_files`` made, by ``id`` of the
        image; ``recorded``: the images decided on their file's record
        (``Acquirer._from_record``)."""
        recorded = recorded or set()
        decisions: list[Decision] = []
        work: list[tuple[Decision, ActionPlan]] = []
        done_for_item: set[str] = set()
        public_url = self.session.public_url
        # An upload (or a stored file) is its file: purged since its batch was launched
        # (a batch read ahead is launched before the one before it acts: a post, then its
        # upload), there is nothing left to act on. A post or comment showing the file
        # is still there and is decided on the verdict in hand.
        if item.kind in FILE_KINDS:
            _mark_purged(images, self.store)
        for img in images:
            decision = decision_for(
                item, img, run_id=self.run_id, dry_run=self.dry_run, public_url=public_url
            )
            if id(img) in recorded and decision.image is not None:
                decision.image = replace(decision.image, checked=RECORDED_VERDICT)
            decisions.append(decision)
            if img.skipped or img.verdict is None:
                decision.skipped = img.skipped or "unchecked"
                decision.skipped_detail = img.skipped_detail
                img.data = None
                # only rules with a `skipped:` condition match an image that was not checked;
                # none an image gone already, nor one no classifier answered for (looked
                # at again: the workers' outage is no fact about the image)
                if (
                    not img.skipped
                    or img.skipped in ("purged", CLASSIFIER_UNAVAILABLE)
                    or img.ref is None
                    or not self.policy.acts_on_skips
                ):
                    continue
            assert img.ref is not None
            spared = self._spared(item, img) if item.kind in FILE_KINDS else None
            plan = (
                None if item.kind in FILE_KINDS or made_plans is None else made_plans.get(id(img))
            )
            if plan is None:
                subject = self._subject(item, img)
                subject.file_exempt = spared  # an upload shown by an exempt item is spared
                plan = self.policy.decide(subject)
            if item.kind not in FILE_KINDS:  # its actions spare the file (``Target``)
                spared = self._spared(item, img, plan.actions)
            img.data = None  # bytes are not kept past the decision
            decision.decided = True
            decision.rule = plan.rule
            decision.hash_match = dict(plan.hash_lists) or None
            if decision.image is not None:  # and those the rules took themselves
                decision.image.hashes.update(plan.hashes)
            decision.exempt = plan.exempt
            decision.matched = [asdict(m) for m in plan.matched]
            real: list[PlannedAction] = []
            repeats: list[ActionOutcome] = []
            for planned in plan.actions:
                # One remove/ban/report per item, however many of its images matched.
                key = planned.kind
                if planned.kind in ("purge_image", "delete_image"):  # per image
                    key = f"{planned.kind}:{img.ref.url}"
                if key in done_for_item:
                    repeats.append(
                        ActionOutcome(
                            planned.kind,
                            "skipped",
                            "already decided for another image of this item",
                        )
                    )
                    continue
                done_for_item.add(key)
                real.append(planned)
            target = target_for(
                item,
                img,
                public_url=public_url,
                file_exempt=spared,
                uploader_exempt=self.uploader_exempt(
                    img.ref.alias if img.ref else None, plan.actions
                ),
            )
            work.append((decision, ActionPlan(target, real, repeats)))
        if not self.dry_run and any(plan.actions for _d, plan in work):
            # Nothing is sent by a process that lost the state to another (its lock file
            # deleted, and another process took a new one): two would act on one state.
            # Raised before the item is recorded: its holder now decides it.
            if self.state_lock is not None:
                self.state_lock.check()
            # Write-ahead: if the process dies while Lemmy carries these out (a removed
            # post is then hidden from the listings), the next start finishes the job
            # from here (``recover``) and records the decisions.
            plans = {id(d): plan for d, plan in work}
            write_ahead(self.store, item, self.run_id, [(d, plans.get(id(d))) for d in decisions])
        for decision, action_plan in work:
            outcomes = (
                self.executor.execute(action_plan.target, action_plan.actions)
                if action_plan.actions
                else []
            )
            decision.actions = outcomes + action_plan.repeats
        return decisions

    def _finish(self, item: Item, decisions: list[Decision], stats: CycleStats) -> None:
        """Record the item now, or after the admins' message it waits for is sent."""
        if any(o.status == "queued" for d in decisions for o in d.actions):
            self._waiting.append((item, decisions))
        else:
            self._commit(item, decisions, stats)

    def _commit(self, item: Item, decisions: list[Decision], stats: CycleStats) -> None:
        """One transaction: the item's decisions and its "seen" mark."""
        # An action that failed for a passing reason, or an image no classifier could
        # look at now: look at the item again next time.
        retry = any(o.retry for d in decisions for o in d.actions) or any(
            d.skipped == CLASSIFIER_UNAVAILABLE for d in decisions
        )
        # built before the transaction: other threads wait for the store while it is open
        records = [decision.to_dict() for decision in decisions]
        with self.store.transaction():
            self.source.set_retry(item.kind, item.id, retry)
            for record in records:
                self.store.add_decision(record)
            self.store.journal_delete(item.key)
            if not retry:
                self.source.mark_seen(item)
        for decision in decisions:
            stats.decisions += 1
            stats.verdicts.update(decision.labels)
            for a in decision.actions:
                stats.actions[f"{a.action}:{a.status}"] += 1
                said = action_outcome({"status": a.status, "detail": a.detail})
                stats.outcomes[f"{a.action}:{said}"] += 1  # the run's line, as a report
            if decision.skipped:
                stats.skipped[decision.skipped] += 1
        stats.items_seen += 1


def _exempt_why(
    policy: Policy, admin_ids: Collection[int], shown: dict, img: ItemImage
) -> str | None:
    """Why the rules of now spare the file ``shown`` (an item recorded showing it, as
    ``Store.items_showing`` gives it) shows, decided on its record as ``modbot report``
    decides it, with this image's verdict and hashes; None when they do not."""
    recorded = shown["recorded"]
    subject = recorded_subject(
        recorded, img.verdict, admin_ids=admin_ids, sha256=img.sha256, hashes=img.hashes
    )
    return policy.decide(subject, recorded_at(recorded)).spares_file


@dataclass
class _ShownRead:
    """What the decision rows up to ``last`` showing one file held: each item's first
    row (``first``, by item key) and, of those, the items exempt (key -> (row, why)),
    decided under ``context`` (``ShownExempt._context``)."""

    context: tuple
    last: int = 0
    first: dict[str, int] = field(default_factory=dict)
    exempt: dict[str, tuple[int, str]] = field(default_factory=dict)


class ShownExempt:
    """Which post or comment the bot recorded showing a file is exempt under the rules of
    now (``Pipeline._exempt_now``), the first by the item's first decision showing it
    (each item decided on that decision's facts), read a part at a time.

    Each repost of a file asks, with every post before it recorded: read whole each
    time, a wave of N reposts read and decided N x N rows (1 s a post at 20,000). What
    the rows read held is kept instead, so each ask reads only the rows recorded since
    (``Store.items_showing_since``): a row is never changed, and one committed later has
    a larger id, whichever process wrote it. What is kept was decided under the rules,
    the admins, and the image's verdict and hashes (and the hash lists it is on: a feed
    renewed in place changes them) of then: another rules file (``Pipeline.reload``) or
    admin drops all of it, another verdict that file's. Kept for ``files`` files and
    ``items`` items at most (the least recently asked go: asked again, read whole).
    Not thread-safe: the deciding thread asks."""

    def __init__(self, store: Store, *, files: int = 1024, items: int = 100_000) -> None:
        self.store = store
        self.files, self.items = files, items
        self._reads: OrderedDict[tuple[str, ...], _ShownRead] = OrderedDict()
        self._held = 0  # items in self._reads
        self._under: tuple[Policy, frozenset[int]] | None = None

    def first(
        self, policy: Policy, admin_ids: Collection[int], item_key: str, img: ItemImage
    ) -> str | None:
        """Why the file of ``img`` (its sha256 known) must be spared for ``item_key``:
        another item the bot recorded showing its bytes (or its pict-rs alias) is exempt
        under ``policy``; None when none is."""
        assert img.sha256 and img.ref is not None
        if self._under is None or self._under[0] is not policy or self._under[1] != admin_ids:
            self._reads.clear()
            self._held = 0
            self._under = (policy, frozenset(admin_ids))
        context = self._context(policy, img)
        # rows an open transaction of this store wrote could yet be rolled back
        keep = self.files > 0 and not self.store.in_transaction
        reads = [self._read(("sha256", img.sha256), context, policy, admin_ids, img, keep)]
        if img.ref.alias:  # and the rows that recorded its alias with other bytes or none
            by_alias = ("alias", img.ref.alias, img.sha256)
            reads.append(self._read(by_alias, context, policy, admin_ids, img, keep))
        self._bound()
        found: list[tuple[int, str, str]] = []
        for read in reads:
            for key, (row, why) in read.exempt.items():  # in the order of their first rows
                # an item is decided on its first row showing the file: in the other read?
                if key != item_key and all(other.first.get(key, row) >= row for other in reads):
                    found.append((row, key, why))
                    break
        if not found:
            return None
        _row, key, why = min(found)
        kind, _, item_id = key.partition(":")
        return f"the same file is shown by {kind} {item_id}, exempt: {why}"

    def _read(
        self,
        key: tuple[str, ...],
        context: tuple,
        policy: Policy,
        admin_ids: Collection[int],
        img: ItemImage,
        keep: bool,
    ) -> _ShownRead:
        """The read of ``key`` (a file's bytes, or an alias of it with other bytes),
        brought up to the last row recorded."""
        read = self._reads.pop(key, None) if keep else None
        if read is not None:
            self._held -= len(read.first)
        if read is None or read.context != context:
            read = _ShownRead(context)
        alias = key[1] if key[0] == "alias" else None
        shown, read.last = self.store.items_showing_since(
            key[-1], read.last, alias=alias, known=read.first
        )
        for item in shown:
            item_key = f"{item['kind']}:{item['id']}"
            read.first[item_key] = item["decision"]
            why = _exempt_why(policy, admin_ids, item, img)
            if why:
                read.exempt[item_key] = (item["decision"], why)
        if keep:
            self._reads[key] = read
            self._held += len(read.first)
        return read

    def _bound(self) -> None:
        while self._reads and (len(self._reads) > self.files or self._held > self.items):
            _key, read = self._reads.popitem(last=False)
            self._held -= len(read.first)

    @staticmethod
    def _context(policy: Policy, img: ItemImage) -> tuple:
        """What deciding an item showing the file takes of the image: its verdict, its
        hashes and the hash lists they are on."""
        verdict = img.verdict or {}
        hashes = {**img.hashes, "sha256": img.sha256 or ""}
        return (
            tuple(verdict.get("labels") or ()),
            tuple(sorted((verdict.get("scores") or {}).items())),
            verdict.get("unreadable"),
            tuple(sorted(hashes.items())),
            tuple(sorted(hash_matches(policy, hashes).items())),
        )


@dataclass
class _Flight:
    """A batch being acquired: its items and images, the queue its items come back on
    when their images are in, the acquisition's future and its wound-down event."""

    items: list[Item]
    images: list[list[ItemImage]]
    ready: queue.Queue[int]
    work: concurrent.futures.Future[None]
    finished: threading.Event
    # by ``id``: the images of posts (comments, profiles) whose file modbot purged,
    # given to the acquirer to decide on the file's record
    purged: set[int] = field(default_factory=set)


def _takes_file(actions: list[PlannedAction]) -> bool:
    """Whether ``actions`` take an image's file from pict-rs or ban who uploaded it."""
    return any(
        a.kind in _TAKES_UPLOAD or (a.kind == "ban" and (a.params or {}).get("uploader"))
        for a in actions
    )


def _mark_purged(images: list[ItemImage], store: Store) -> None:
    """An image whose file modbot purged already is not downloaded (``purged``): an
    upload or a stored file is gone with it; a post's or a comment's is decided on what
    the state keeps of the file (``Acquirer._from_record``)."""
    for img in images:
        alias = img.ref.alias if img.ref is not None else None
        if not img.skipped and alias and store.image_purged(alias):
            img.skipped, img.skipped_detail = "purged", "modbot purged this image already"
            img.verdict = None


def _not_in(batch: list[Item], flight: _Flight | None) -> list[Item]:
    """The batch without the items the batch in flight holds already (a listing that
    shifts between two pages hands an item out twice; it is decided once)."""
    if flight is None:
        return batch
    keys = {item.key for item in flight.items}
    return [item for item in batch if item.key not in keys]


def _not_scanned(img: ItemImage, item: Item) -> ItemImage:
    """A video on another server is recorded as not scanned, with the reason: a post's
    link (Lemmy says its type), or one in Markdown by its name (lemmy-ui plays
    `![](clip.mp4)` as a video)."""
    if img.ref is not None and remote_video(
        img.ref, item.link_type if img.ref.location == "post_url" else None
    ):
        img.skipped = "remote_video"
        img.skipped_detail = (
            "a video on another server: not scanned (modbot classifies a video through "
            "the still pict-rs renders of a local one)"
        )
    return img


_REFUSAL = re.compile(
    r"(feed .*?) refused: (.*); (still using the copy of [\d: -]+ UTC|no copy of it is used)",
    re.DOTALL,
)


def _inert_refusal(message: str) -> str:
    """A feed's refusal as Markdown for the admins: why it was refused quotes what the
    feed's server answered (a signature file's first line, the feed's first bytes), so
    it is inert; the admin's own feed name and URL stay as written."""
    found = _REFUSAL.fullmatch(message)
    if found is None:
        return inert(message)
    head, why, kept = found.groups()
    return f"{head} refused: {inert(why)}; {kept}"
