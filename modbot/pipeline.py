"""One moderation cycle: source → images → fetch → classifier → rules → actions → record.

``Pipeline.poll_once()`` looks at what is new since the last poll; ``Pipeline.sweep()``
walks the backlog (resumable). Both work in batches (a page of items): the batch's
images are fetched and classified concurrently, then each item is decided, its actions
carried out (or planned, in dry-run), the admins' notifications sent (one message per
admin per batch), and finally each item's decisions and its "seen" mark are committed
in one transaction. A killed process loses nothing: the item is looked at again, its
verdicts come from the cache and its actions from the store, so nothing is repeated.

What is recorded: one decision per image found (flagged or not), with the reason when
it could not be checked (``skipped``). An unflagged image is a decision with no rule and
no action, so reports can count what was looked at as well as what was done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from modbot.actions import DONE, Executor, Outcome, Target
from modbot.images import ImageRef, image_refs, site_emoji_urls, upload_ref
from modbot.lemmy import LemmyClient, LemmyError, LemmyUnavailable
from modbot.settings import Settings
from modbot.source import Item, Source, parse_time
from modbot.store import Store, utc_iso

__all__ = ["CycleStats", "Pipeline", "new_run_id"]

log = logging.getLogger(__name__)

DEFAULT_DEEP_EVERY = timedelta(minutes=10)
NOTIFY_EVERY = 300.0  # seconds: admin messages are batched per cycle, at most this long
INTERRUPTED = ("modbot stopped while carrying this out; Lemmy may have done it (see the "
               "instance's modlog); if the item is still there it is looked at again")
# How often a long-running bot asks /site whether Lemmy still knows its login (a dropped
# token is silently anonymous on reads) and refreshes the list of admins. An admin bot
# also notices a drop at once: list_all_media answers 401 and the client logs in again.
DEFAULT_SESSION_CHECK = timedelta(minutes=5)


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


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

    def summary(self) -> str:
        parts = [
            f"{self.items_seen} items",
            f"{self.images_found} images",
            f"{self.images_classified} classified",
            f"{self.cache_hits} from cache",
        ]
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())))
        if self.actions:
            parts.append("actions " + ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items())))
        parts.append(f"{self.requests} requests")
        return "; ".join(parts)


@dataclass
class _Image:
    """One image of an item on its way through the cycle."""

    ref: ImageRef
    sha256: str | None = None
    data: bytes | None = None
    verdict: dict | None = None
    skipped: str | None = None  # reason code
    skipped_detail: str = ""


def _community_ref(community: dict) -> str:
    host = urlsplit(community.get("actor_id") or "").hostname or ""
    name = community.get("name") or ""
    return f"{name}@{host}" if host else name


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
        client: LemmyClient | None = None,
        store: Store | None = None,
        remember_seen: bool = True,
        deep_every: timedelta = DEFAULT_DEEP_EVERY,
        session_check_every: timedelta = DEFAULT_SESSION_CHECK,
        fetch_resolver: Any = None,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.dry_run = dry_run
        self.run_id = run_id or new_run_id()
        lemmy = policy.lemmy
        self.client = client or LemmyClient(
            settings.lemmy_url, settings.username, settings.password,
            pictrs_url=settings.pictrs_url, pictrs_api_key=settings.pictrs_api_key,
            requests_per_minute=lemmy.requests_per_minute,
            timeout=lemmy.timeout.total_seconds(), read_only=dry_run,
        )
        self.store = store or Store(settings.state_path)
        self._own_store = store is None
        # Keep the login token between runs: a `run --once` from cron must not log in
        # every minute (Lemmy allows a few logins an hour).
        token_key = f"session:{settings.lemmy_url}:{settings.username}"
        saved = self.store.get_cursor(token_key)
        if saved and client is None:
            self.client.restore_token(saved)
        self.client.on_login = lambda jwt: self.store.set_cursor(token_key, jwt)
        scope = "dry-run" if dry_run else "live"
        self.source = Source(self.client, self.store, scope=scope, lookback=lemmy.lookback,
                             deep_every=deep_every, remember_seen=remember_seen)
        self._engine = engine
        self._own_engine = engine is None
        self._fetch_resolver = fetch_resolver
        self._loop = asyncio.new_event_loop()
        self._busy = threading.Lock()
        self._fetcher: Any = None
        self._started = False
        self._session_check_every = session_check_every.total_seconds()
        self._last_session_check = 0.0
        self._emojis: frozenset[str] = frozenset()
        self.public_url = settings.lemmy_url
        self.executor = Executor(
            self.client, self.store, run_id=self.run_id, dry_run=dry_run,
            max_destructive_per_hour=policy.safety_valve.max_destructive_actions_per_hour,
            purge_by_alias=settings.can_purge_by_alias,
        )
        self.warnings: list[str] = []

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._fetcher is not None:
            self._loop.run_until_complete(self._fetcher.aclose())
            self._fetcher = None
        self._loop.close()
        if self._engine is not None and self._own_engine:
            self._engine.close()
        self.client.close()
        if self._own_store:
            self.store.close()

    # ------------------------------------------------------------------ start
    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = build_engine(self.policy)
        return self._engine

    def start(self) -> None:
        """Check the account (admin? settings that hide content?) once, at start; later,
        every ``session_check_every``, check the login is still alive."""
        if self._started:
            if time.monotonic() - self._last_session_check >= self._session_check_every:
                site = self.client.ensure_session()
                self._last_session_check = time.monotonic()
                self.executor.admin_ids = {a["person"]["id"] for a in site.get("admins") or []}
            return
        site = self.client.ensure_session()
        self._last_session_check = time.monotonic()
        version = str(site.get("version") or "")
        if version and not version.startswith("0."):
            self._warn(f"Lemmy {version}: modbot speaks API v3 (Lemmy 0.19); from 1.0 the "
                       "v3 API has no remove, purge or ban, so actions will fail")
        # Content links to the instance by its public URL, which LEMMY_URL need not be.
        site_actor = ((site.get("site_view") or {}).get("site") or {}).get("actor_id")
        self.public_url = (site_actor or self.settings.lemmy_url).rstrip("/")
        self._emojis = site_emoji_urls(site)
        self._check_account(site)
        self._started = True

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    def _check_account(self, site: dict) -> None:
        my = site["my_user"]
        local_user = my["local_user_view"]["local_user"]
        person = my["local_user_view"]["person"]
        self.executor.bot_person_id = person.get("id")
        self.executor.admin_ids = {a["person"]["id"] for a in site.get("admins") or []}
        admin = bool(local_user.get("admin"))
        self.source.uploads = admin
        if not admin:
            self._warn(
                f"the bot account {self.settings.username!r} is not an admin: bans, purges "
                "and uploads that were never posted (admin/list_all_media) are out of reach"
                + ("" if self.dry_run else "; those actions will fail")
            )
        hiding = {k: False for k in ("show_nsfw", "show_bot_accounts", "show_read_posts")
                  if not local_user.get(k)}
        all_languages = [lang["id"] for lang in site.get("all_languages") or []]
        mine = set(my.get("discussion_languages") or [])
        languages_hidden = bool(all_languages) and bool(mine) and not set(all_languages) <= mine
        if not hiding and not languages_hidden:
            return
        what = sorted(hiding) + (["discussion_languages"] if languages_hidden else [])
        if self.dry_run:
            self._warn(
                "the bot account's settings hide content from its listings ("
                + ", ".join(what) + "); dry-run changes nothing: NSFW posts are read with "
                "show_nsfw=true, but comments in NSFW communities, bot accounts' posts, "
                "read posts and other languages may be missed. `modbot run` without "
                "--dry-run fixes these settings on the bot's own account."
            )
            return
        change: dict[str, Any] = {k: True for k in hiding}
        if languages_hidden:
            change["discussion_languages"] = all_languages
        try:
            self.client.save_user_settings(**change)
        except LemmyError as exc:
            if "discussion_languages" not in change:
                raise
            # A site that restricts languages may refuse some: fix the rest, and say so.
            self._warn(f"could not enable every discussion language ({exc}); posts in "
                       "languages the bot account lacks stay hidden from it")
            change.pop("discussion_languages")
            what.remove("discussion_languages")
            if not change:
                return
            self.client.save_user_settings(**change)
        log.warning("changed the bot account's settings so nothing is hidden from it: %s",
                    ", ".join(what))

    # ------------------------------------------------------------------ cycles
    def poll_once(self, *, deep: bool | None = None,
                  stop: threading.Event | None = None) -> CycleStats:
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
            counts = (self.client.site().get("site_view") or {}).get("counts") or {}
            total = (counts.get("posts") or 0) + (counts.get("comments") or 0) or None
        return self._run(lambda: self.source.backlog(since), stop=stop,
                         progress=progress, total=total)

    def _run(self, batches: Callable, *, stop: threading.Event | None,
             progress: Callable | None = None, total: int | None = None) -> CycleStats:
        with self._busy:  # one cycle at a time: the event loop and the cursors are shared
            return self._run_locked(batches, stop=stop, progress=progress, total=total)

    def _run_locked(self, batches: Callable, *, stop: threading.Event | None,
                    progress: Callable | None, total: int | None) -> CycleStats:
        requests_before = self.client.requests
        self.start()
        self._recover_interrupted()
        stats = CycleStats()
        if self.executor.valve_tripped():
            log.warning("safety valve tripped (%s): report-only",
                        self.executor.valve_tripped()["reason"])
        stream = batches()
        self._waiting: list[tuple[Item, list[dict]]] = []
        last_flush = time.monotonic()
        try:
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
        return stats

    def _flush(self, stats: CycleStats) -> None:
        """Send the admins' messages (one per admin), then record the items behind them."""
        waiting, self._waiting = self._waiting, []
        self.executor.flush_notifications()
        for item, records in waiting:
            self._commit(item, records, stats)

    # ------------------------------------------------------------------ one batch
    def _process(self, items: list[Item], stats: CycleStats) -> None:
        images = {item.key: self._refs(item) for item in items}
        flat = [img for imgs in images.values() for img in imgs]
        stats.images_found += len(flat)
        self._loop.run_until_complete(self._fetch_and_classify(flat, stats))
        # A stop request lets the batch in hand finish: its images are fetched already.
        # Each item is recorded as soon as its actions are done, so the audit says what
        # was done even if the process dies next; an item waiting for the cycle's admin
        # message is recorded after it is sent (else a crash would lose the message).
        for item in items:
            records = self._decide(item, images[item.key])
            if any(o.status == "queued" for r in records for o in r["actions"]):
                self._waiting.append((item, records))
            else:
                self._commit(item, records, stats)

    def _retry_cursor(self) -> str:
        return f"{self.source.scope}:retry_posts"

    def _posts_to_retry(self) -> list[Item]:
        """Posts with an action that failed for a passing reason. Read by id: once removed
        (often by the bot itself, just before) a post is hidden from post/list."""
        ids = json.loads(self.store.get_cursor(self._retry_cursor()) or "[]")
        items = []
        for post_id in ids:
            try:
                items.append(Item.from_post(self.client.get_post(post_id)))
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
        # An action that failed for a passing reason: look at the item again next time.
        retry = any(o.retry for r in records for o in r["actions"])
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
        url = self.public_url
        try:
            if item.kind == "upload":
                refs = [upload_ref(item.view, instance_url=url)]
            else:
                refs = image_refs(item.view, kind=item.kind, instance_url=url,
                                  custom_emoji_urls=self._emojis)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: could not read its images (%s); skipped", item.key, exc)
            return []
        return [_Image(ref) for ref in refs]

    # ------------------------------------------------------------------ fetch + classify
    def _fetch_policy(self) -> Any:
        from modbot.fetch import Fetcher, FetchLimits

        f = self.policy.fetch
        limits = FetchLimits(
            max_bytes=int(f.max_bytes),
            connect_timeout=f.connect_timeout.total_seconds(),
            read_timeout=f.read_timeout.total_seconds(),
            total_timeout=f.total_timeout.total_seconds(),
            max_redirects=f.max_redirects,
            max_concurrency=f.concurrency,
            per_host_concurrency=f.per_host,
        )
        # The instance and its pict-rs may live on a private network: they are trusted.
        allowed = [h for h in (_host_port(self.settings.lemmy_url), _host_port(self.public_url),
                               _host_port(self.settings.pictrs_url)) if h]
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

    async def _fetch_and_classify(self, images: list[_Image], stats: CycleStats) -> None:
        from modbot.fetch import FetchSkipped

        if not images:
            return
        if self._fetcher is None:
            self._fetcher = self._fetch_policy()
        fetcher = self._fetcher
        by_url: dict[tuple[str, ...], asyncio.Task] = {}
        for img in images:
            alias = img.ref.alias
            if alias and (done := self.store.action("purge_image", f"alias:{alias}")) \
                    and done["status"] in DONE:
                img.skipped, img.skipped_detail = "purged", "modbot purged this image already"
                continue
            urls = self._fetch_urls(img.ref)
            if urls not in by_url:
                by_url[urls] = asyncio.ensure_future(fetcher.fetch_first(urls))
        await asyncio.gather(*by_url.values(), return_exceptions=True)
        for img in images:
            if img.skipped:
                continue
            task = by_url[self._fetch_urls(img.ref)]
            exc = task.exception()
            if isinstance(exc, FetchSkipped):
                img.skipped, img.skipped_detail = exc.reason, exc.message
            elif exc is not None:
                log.warning("fetching %s failed unexpectedly: %r", img.ref.url, exc)
                img.skipped, img.skipped_detail = "fetch_error", type(exc).__name__
            else:
                fetched = task.result()
                img.data, img.sha256 = fetched.data, fetched.sha256
        await self._classify([img for img in images if img.data is not None], stats)
        if not self.policy.needs_phash:
            for img in images:  # only perceptual hash lists need the bytes past here
                img.data = None

    async def _classify(self, images: list[_Image], stats: CycleStats) -> None:
        if not images:
            return
        engine = self.engine
        version = engine.concept_version
        todo: dict[str, asyncio.Future] = {}
        for img in images:
            cached = self.store.get_verdict(img.sha256, version)
            if cached is not None:
                img.verdict = cached
                stats.cache_hits += 1
            elif img.sha256 not in todo:
                todo[img.sha256] = asyncio.ensure_future(engine.classify(img.data))
        if todo:
            await asyncio.gather(*todo.values(), return_exceptions=True)
        for sha, fut in todo.items():
            exc = fut.exception()
            if exc is not None:
                log.warning("classifying %s failed: %r", sha[:12], exc)
                continue
            verdict = fut.result().to_dict()
            self.store.put_verdict(sha, version, verdict)
            stats.images_classified += 1
        for img in images:
            if img.verdict is None and img.sha256 in todo:
                fut = todo[img.sha256]
                if fut.exception() is None:
                    img.verdict = fut.result().to_dict()
                else:
                    img.skipped = "classifier_error"
                    img.skipped_detail = repr(fut.exception())[:300]

    # ------------------------------------------------------------------ decide + act
    def _decide(self, item: Item, images: list[_Image]) -> list[dict]:
        """One record per image; its actions are ``Outcome``s (notices still queued)."""
        records: list[dict] = []
        work: list[tuple[dict, _Image, list, list]] = []
        done_for_item: set[str] = set()
        for img in images:
            record = self._record(item, img)
            records.append(record)
            if img.skipped or img.verdict is None:
                record["skipped"] = img.skipped or "unchecked"
                if img.skipped_detail:
                    record["skipped_detail"] = img.skipped_detail
                img.data = None
                continue
            plan = self.policy.decide(self._subject(item, img))
            img.data = None  # bytes are not kept past the decision
            record["rule"] = plan.rule
            record["hash_match"] = dict(plan.hash_lists) or None
            record["exempt"] = plan.exempt
            record["matched"] = [asdict(m) for m in plan.matched]
            real, repeats = [], []
            for planned in plan.actions:
                # One remove/ban/report per item, however many of its images matched.
                key = planned.kind if planned.kind != "purge_image" else f"purge_image:{img.ref.url}"
                if key in done_for_item:
                    repeats.append(Outcome(planned.kind, "skipped",
                                           "already decided for another image of this item"))
                    continue
                done_for_item.add(key)
                real.append(planned)
            work.append((record, img, real, repeats))
        acting = [w for w in work if w[2]] if not self.dry_run else []
        if acting:
            # Write-ahead: if the process dies while Lemmy carries these out (a removed
            # post is then hidden from the listings), the decision is still recorded.
            self.store.journal_put(item.key, self.run_id, [
                {**record, "actions": [{"action": a.kind, "status": "interrupted",
                                        "detail": INTERRUPTED} for a in real]}
                for record, _img, real, _ in acting])
        for record, img, real, repeats in work:
            outcomes = self.executor.execute(self._target(item, img), real) if real else []
            record["actions"] = outcomes + repeats
        return records

    def _recover_interrupted(self) -> None:
        """Record the decisions a killed process was carrying out (see ``_decide``)."""
        for key, run_id, records in self.store.journal_left_by(self.run_id):
            log.warning("%s: the last run stopped while acting on it; recorded as interrupted",
                        key)
            with self.store.transaction():
                for record in records:
                    self.store.add_decision(record)
                self.store.journal_delete(key)

    def _record(self, item: Item, img: _Image) -> dict:
        v = item.view
        community = v.get("community") or {}
        creator = v.get("creator") or v.get("person") or {}
        url = self._permalink(item, img)
        verdict = img.verdict or {}
        return {
            "run_id": self.run_id,
            "decided_at": utc_iso(),
            "dry_run": self.dry_run,
            "item": {
                "kind": item.kind, "id": item.id, "url": url,
                "community": _community_ref(community) if community else None,
                "community_nsfw": community.get("nsfw") if community else None,
                "author": creator.get("actor_id"), "author_id": creator.get("id"),
            },
            "image": {"url": img.ref.url, "location": img.ref.location,
                      "sha256": img.sha256, "alias": img.ref.alias},
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

        v = item.view
        community = v.get("community") or {}
        creator = v.get("creator") or v.get("person") or {}
        verdict = img.verdict or {}
        author_id = creator.get("id")
        own = (v.get(item.kind) or {}) if item.kind in ("post", "comment") else {}
        return Subject(
            item_kind=item.kind,
            found_in=img.ref.location,
            item_local=own.get("local") if own else True,
            community_name=_community_ref(community) if community else None,
            community_nsfw=community.get("nsfw"),
            community_local=community.get("local"),
            author_actor_id=creator.get("actor_id"),
            author_local=creator.get("local"),
            author_bot=creator.get("bot_account"),
            author_published=parse_time(creator.get("published")),
            author_is_moderator=bool(v.get("creator_is_moderator")),
            author_is_admin=bool(v.get("creator_is_admin"))
            or author_id in self.executor.admin_ids,
            labels=tuple(verdict.get("labels") or ()),
            scores=dict(verdict.get("scores") or {}),
            unreadable=verdict.get("unreadable"),
            sha256=img.sha256,
            image=img.data,
            permalink=self._permalink(item, img),
            image_url=img.ref.url,
        )

    def _permalink(self, item: Item, img: _Image) -> str:
        base = self.public_url
        return {"post": f"{base}/post/{item.id}",
                "comment": f"{base}/comment/{item.id}"}.get(item.kind, img.ref.url)

    def _target(self, item: Item, img: _Image) -> Target:
        v = item.view
        creator = v.get("creator") or v.get("person") or {}
        community = v.get("community") or {}
        return Target(
            kind=item.kind, id=item.id, url=self._permalink(item, img),
            author_id=creator.get("id"), author_name=creator.get("actor_id") or creator.get("name") or "",
            author_is_admin=bool(v.get("creator_is_admin")),
            community_id=community.get("id"),
            image_alias=img.ref.alias, image_url=img.ref.url,
            image_original_url=img.ref.original_url, image_sha256=img.sha256,
            delete_token=(v.get("local_image") or {}).get("pictrs_delete_token"),
        )


def _host_port(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def build_engine(policy: Any) -> Any:
    """The classifier ``Engine`` the policy's ``classifier:`` and ``concepts:`` describe."""
    from classifier.concepts import ConceptSet, CustomConcept
    from classifier.deepdanbooru import load_deepdanbooru
    from classifier.engine import Engine
    from classifier.model import ModelSpec, load_model

    c = policy.classifier
    spec = ModelSpec(name=c.model, pretrained=c.pretrained, checkpoint=policy.checkpoint_path,
                     device=c.device, allow_random_weights=c.allow_random_weights)
    custom = [CustomConcept(name, tuple(s.prompts), s.threshold)
              for name, s in (policy.concepts or {}).items()]
    loaded = load_model(spec)
    danbooru = load_deepdanbooru(policy.deepdanbooru_setting, loaded.device,
                                 allow_random_weights=c.allow_random_weights)
    return Engine(loaded, ConceptSet.builtin(custom=custom), max_batch=c.batch_size, danbooru=danbooru)
