"""`modbot sweep --store`: every file in pict-rs' store, classified once and acted on by
the rules (the walk itself: ``modbot.store_source``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from modbot.config.policy import Policy
from modbot.config.settings import Settings
from modbot.errors import LemmyUnavailable, SettingsError
from modbot.lemmy.transport import sleep_unless_stopped
from modbot.modes.progress import Progress, StopOnSignal, once_each, say_warnings, stop_retries
from modbot.modes.report import reported_if_failed, write_run_report
from modbot.modes.sweep import earlier_parts, forget_walk, walk_report, walk_runs
from modbot.store_source import DEFAULT_FILES_PER_SECOND, DEFAULT_PAGE, StoreSource, read_admins

if TYPE_CHECKING:
    from modbot.pipeline import Pipeline

__all__ = ["NEEDS_PICTRS", "store_source", "store_sweep"]

log = logging.getLogger("modbot.sweep")

# the walk's parts (``modes.sweep.walk_runs``) are kept under this name: "<scope>:store_sweep_runs"
STORE_WALK = "store_sweep"

NEEDS_PICTRS = (
    "--store reads pict-rs' internal API (GET /internal/hashes): set PICTRS_URL and "
    "PICTRS_API_KEY (pict-rs' server.api_key; docs/configuration.md)"
)


def store_source(
    pipeline: Pipeline,
    *,
    files_per_second: float | None = DEFAULT_FILES_PER_SECOND,
    page_size: int = DEFAULT_PAGE,
    origin: str = "all",
    read_uploaders: bool = True,
    warn: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> StoreSource:
    """The walk of the store for ``pipeline`` (its scope: a dry run keeps a position of
    its own), as ``sweep --store`` and the daemon's scheduled store sweep walk it.
    ``read_uploaders``: read Lemmy's media list into the alias -> uploader index first
    (admins only; a walk that starts or resumes: an admin's upload made meanwhile must be
    known to be theirs; the daemon's polls keep it up to date between its slices).
    ``stop``: the walk's pacing waits on it, so a stop is not held up by a pause."""
    pipeline.start()
    source = StoreSource(
        pipeline.client,
        pipeline.store,
        scope=pipeline.source.scope,
        files_per_second=files_per_second,
        page_size=page_size,
        dry_run=pipeline.dry_run,
        origin=origin,
        warn=warn,
        # not stop.wait: on the main thread (`sweep --store`) a SIGTERM landing while it
        # holds the Event's lock would hang the sweep (``sleep_unless_stopped``)
        sleep=partial(sleep_unless_stopped, stop) if stop is not None else time.sleep,
        stopped=stop.is_set if stop is not None else (lambda: False),
    )
    source.uploads = read_uploaders and pipeline.session.admin
    # the site's and the admins' images, read afresh each walk (resumed too, each slice
    # of the daemon's): no listing need show them, yet they are an admin's, never acted
    # on (a remote image shown there, by the copy pict-rs cached of it)
    source.admins = read_admins(
        pipeline.client,
        pipeline.session.public_url,
        cached=pipeline.client.proxied_aliases,
    )
    return source


def store_sweep(
    settings: Settings,
    policy: Policy,
    *,
    dry_run: bool,
    report: str | None,
    lock_wait: float | None = 0.0,
    files_per_second: float | None = DEFAULT_FILES_PER_SECOND,
    page_size: int = DEFAULT_PAGE,
    origin: str = "all",
) -> bool:
    """Walk every stored file once; False when it was interrupted. ``origin``: the
    files of a local uploader only ("local"), the others ("federated"), or "all"."""
    from modbot.modes.daemon import log_run
    from modbot.pipeline import Pipeline

    if not settings.can_purge_by_alias:
        raise SettingsError(NEEDS_PICTRS)
    if page_size < 1 or (files_per_second is not None and files_per_second < 0):
        raise SettingsError("--page-size must be 1 or more, --files-per-second 0 or more")
    mode = "dry-run" if dry_run else "live"
    with (
        Pipeline(settings, policy, dry_run=dry_run, lock_wait=lock_wait) as pipeline,
        StopOnSignal("sweep") as stop,
    ):
        stop_retries(pipeline.client, stop)
        try:
            source = store_source(
                pipeline,
                files_per_second=files_per_second,
                page_size=page_size,
                origin=origin,
                warn=pipeline.warnings.append,
                stop=stop,
            )
        except LemmyUnavailable as exc:
            # a stop gave up a request of the start (the admins' images, Lemmy down):
            # interrupted, as a stop anywhere else, not a failure (raised again if not)
            pipeline.stopped(exc, stop)
            kept = StoreSource(
                pipeline.client, pipeline.store, scope=pipeline.source.scope, origin=origin
            )
            files = kept.walked()  # the position it resumes, as it stands
            print(
                f"store sweep {pipeline.run_id} ({mode}) interrupted (run it again to resume): {files}"
            )
            if report:
                extra = {"complete": False, "warnings": once_each(pipeline.warnings)}
                print(f"report: {write_run_report(pipeline, report, extra=extra)}")
            return False
        resuming = source.in_progress()
        # and the runs that walked its earlier parts (the daemon's slices too): the
        # report holds their decisions
        runs = walk_runs(pipeline, origin, resuming, walk=STORE_WALK)
        # what the walk's earlier parts warned of (a run stopped, failed or killed, the
        # daemon's slices): the files walked then were decided so, and the end says it
        earlier = source.earlier_warnings()
        log.info(
            "store sweep (%s, run %s) over every file in pict-rs%s%s",
            mode,
            pipeline.run_id,
            "" if origin == "all" else f" ({origin} files only, by the uploader index)",
            "; resuming the interrupted store sweep" if resuming else "",
        )

        def warnings() -> list[str]:
            return once_each(earlier, pipeline.warnings)

        def write(path: str, complete: bool) -> str:
            # an interrupted or failed sweep's: INCOMPLETE
            extra = {"complete": complete, "warnings": warnings()}
            return walk_report(pipeline, path, runs, since=None, extra=extra)

        try:
            with (
                reported_if_failed(
                    pipeline,
                    f"store sweep {pipeline.run_id} ({mode})",
                    report,
                    partial(write, report, complete=False) if report else None,
                    hint=" (run it again to resume)",
                    logger=log_run,
                ),
                Progress("store sweep", unit="files") as progress,
            ):

                def tell(_items: int, _total: int | None) -> None:
                    # this run's share, so that the rate and the ETA are this run's
                    total = source.total - source.resumed_from if source.total else None
                    progress(source.done - source.resumed_from, total)

                try:
                    stats = pipeline.run_batches(source.batches, stop=stop, progress=tell)
                except LemmyUnavailable as exc:  # a stop gave up a request's retries
                    stats = pipeline.stopped(exc, stop)
        except Exception:
            say_warnings(warnings())  # a failed sweep's too, after what it did and before the error
            raise
        # stopped before its first page too (a signal while it started): not "done"
        interrupted = not source.ended
        state = "interrupted (run it again to resume)" if interrupted else "done"
        files = source.walked()
        print(f"store sweep {pipeline.run_id} ({mode}) {state}: {files}; {stats.summary()}")
        say_warnings(warnings())
        if not interrupted:
            forget_walk(pipeline, origin, STORE_WALK)
        if report:
            print(f"report: {write(report, complete=not interrupted)}{earlier_parts(runs)}")
        return not interrupted
