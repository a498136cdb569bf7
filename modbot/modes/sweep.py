"""The backlog sweep as a command runs it (``modbot sweep``): every post back to a time,
each post's comments, and the uploads, with a progress bar or log line, stopping after
the batch in hand on SIGTERM or Ctrl-C (the next sweep resumes there)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from modbot.config.policy import Policy
from modbot.config.settings import Settings
from modbot.errors import LemmyUnavailable
from modbot.modes.progress import Progress, StopOnSignal, once_each, say_warnings, stop_retries
from modbot.modes.report import reported_if_failed
from modbot.source import SHOWN_NOT_READ

if TYPE_CHECKING:
    from modbot.pipeline import Pipeline

__all__ = [
    "earlier_parts",
    "forget_walk",
    "not_reached",
    "sweep",
    "walk_report",
    "walk_runs",
    "walk_slice",
    "whole_walk",
]

log = logging.getLogger("modbot.sweep")

MAX_WALK_RUNS = 1000  # the parts a walk's report holds: the last so many

# A part of a walk: a run of `modbot sweep` (its id: all its decisions), or a slice the
# daemon walked ([its run's id, after row, up to row]: the decisions it recorded then)
WalkPart = str | list


def sweep(
    settings: Settings,
    policy: Policy,
    *,
    since: datetime | None,
    dry_run: bool,
    report: str | None,
    lock_wait: float | None = 0.0,
    origin: str = "all",
) -> bool:
    """Sweep back to ``since`` (everything when None); False when it was interrupted.
    ``origin``: "local" or "federated" items only (``Source.origin``), or "all"."""
    from modbot.doctor import connect_first
    from modbot.modes.daemon import log_run
    from modbot.pipeline import CycleStats, Pipeline

    mode = "dry-run" if dry_run else "live"
    where = f"back to {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"
    if origin != "all":
        where += f", {origin} items only"
    with (
        Pipeline(settings, policy, dry_run=dry_run, lock_wait=lock_wait) as pipeline,
        StopOnSignal("sweep") as stop,
    ):
        pipeline.source.origin = origin
        stop_retries(pipeline.client, stop)
        connect_first(pipeline)  # the network and the login first, with the doctor's words
        resuming = pipeline.source.sweep_in_progress()
        # what the walk's earlier parts warned of (a run stopped, failed or killed): this
        # run's warnings are its own, and the end says the whole walk's
        earlier = pipeline.source.sweep_warnings()
        # and the posts whose comments they could not read: the part resumed is past
        # them, so only the summary that ends the walk can still name them
        earlier_not_read = pipeline.source.sweep_comments_not_read()
        # and the runs that walked its earlier parts (the daemon's slices too): the
        # report holds their decisions
        runs = walk_runs(pipeline, origin, resuming)
        log.info(
            "sweep (%s, run %s) %s%s",
            mode,
            pipeline.run_id,
            where,
            "; resuming the interrupted sweep" if resuming else "",
        )

        def unreached() -> str:  # in what was walked so far
            return not_reached(pipeline.client.not_reached(), settings)

        def warnings() -> list[str]:
            return once_each(earlier, pipeline.warnings)

        def write(path: str, complete: bool, not_read: CycleStats | None = None) -> str:
            # the posts whose comments the walk could not read, as its summary says them
            # (a failed run's: its earlier parts' and the batches it finished)
            done = not_read or CycleStats(
                comments_not_read=whole_walk(
                    earlier_not_read, getattr(pipeline.cycle_stats, "comments_not_read", {})
                )
            )
            extra = {
                "complete": complete,  # an interrupted or failed sweep's: INCOMPLETE
                "warnings": [*warnings(), *done.not_read_lines(), *filter(None, [unreached()])],
            }
            return walk_report(pipeline, path, runs, since=since, extra=extra)

        def say_all() -> None:
            say_warnings(warnings())
            gaps = unreached()
            if gaps:
                print(f"sweep {pipeline.run_id}: {gaps}")

        try:
            with (
                reported_if_failed(
                    pipeline,
                    f"sweep {pipeline.run_id} ({mode})",
                    report,
                    # a failed sweep's report: its warnings and what was not reached too
                    partial(write, report, complete=False) if report else None,
                    hint=" (run it again to resume)",
                    logger=log_run,
                ),
                Progress("sweep") as progress,
            ):
                try:
                    stats = pipeline.sweep(since, progress=progress, stop=stop)
                except LemmyUnavailable as exc:  # a stop gave up a request's retries
                    stats = pipeline.stopped(exc, stop)
        except Exception:
            say_all()  # a failed sweep's too, after what it did and before the error
            raise
        # stopped before its first page too: nothing was walked, nothing is "done"
        interrupted = not pipeline.sweep_ended
        stats.comments_not_read = whole_walk(earlier_not_read, stats.comments_not_read)
        state = "interrupted (run it again to resume)" if interrupted else "done"
        print(f"sweep {pipeline.run_id} ({mode}) {state}: {stats.summary()}")
        say_all()
        if not interrupted:
            forget_walk(pipeline, origin)
        if report:
            written = write(report, complete=not interrupted, not_read=stats)
            print(f"report: {written}{earlier_parts(runs)}")
        return not interrupted


def _runs_cursor(pipeline: Pipeline, origin: str, walk: str) -> str:
    # beside the walk's position, as the source names it: its scope, its origin
    suffix = "" if origin == "all" else f":{origin}"
    return f"{pipeline.source.scope}:{walk}_runs{suffix}"


def walk_runs(
    pipeline: Pipeline, origin: str, resuming: bool, *, walk: str = "sweep"
) -> list[WalkPart]:
    """The parts of the walk in hand, oldest first, this run last (written now, so a
    run killed later is named too): the runs of `modbot sweep` and the daemon's slices
    (``walk_slice``) that walked it. A walk resumed from an interrupted one's position
    is one walk, and its report holds all their decisions. ``walk``: "sweep" (the
    backlog) or "store_sweep" (pict-rs' store, ``sweep --store``)."""
    name = _runs_cursor(pipeline, origin, walk)
    earlier = _kept_parts(pipeline, name) if resuming else []
    earlier = [part for part in earlier if part != pipeline.run_id]
    runs = [*earlier, pipeline.run_id][-MAX_WALK_RUNS:]
    pipeline.store.set_cursor(name, json.dumps(runs))
    return runs


def walk_slice(
    pipeline: Pipeline, *, resumed: bool, after_id: int, ended: bool, walk: str = "sweep"
) -> None:
    """The daemon walked a slice of the backlog (``schedule.sweep_cron``), recording
    decisions after the row ``after_id``: noted as a part of the walk, so the report of
    a `modbot sweep` that resumes it holds them (not the daemon's polls between its
    slices). ``resumed``: the slice carried on a walk (else it began a new one, whose
    parts are its own); ``ended``: it ended the walk, whose parts are then forgotten."""
    name = _runs_cursor(pipeline, "all", walk)  # the daemon walks every origin
    if ended:
        pipeline.store.set_cursor(name, None)
        return
    parts = _kept_parts(pipeline, name) if resumed else []
    last = pipeline.store.last_decision_id()
    if last > after_id:
        end = parts[-1] if parts else None
        if isinstance(end, list) and end[0] == pipeline.run_id and end[2] == after_id:
            end[2] = last  # nothing recorded between the two slices
        else:
            parts.append([pipeline.run_id, after_id, last])
    elif resumed:
        return  # nothing to note
    pipeline.store.set_cursor(name, json.dumps(parts[-MAX_WALK_RUNS:]))


def forget_walk(pipeline: Pipeline, origin: str, walk: str = "sweep") -> None:
    """The walk ended: its parts are forgotten (the next walk's report is its own)."""
    pipeline.store.set_cursor(_runs_cursor(pipeline, origin, walk), None)


def earlier_parts(runs: list[WalkPart]) -> str:
    """What the report line adds for a walk of several parts: their runs."""
    earlier = _run_ids(runs[:-1])
    if not earlier:
        return ""
    return f" (its earlier parts' decisions included: runs {', '.join(earlier)})"


def _kept_parts(pipeline: Pipeline, name: str) -> list[WalkPart]:
    """The walk's parts kept under the cursor ``name`` (none when unreadable: not ours
    to fail a sweep over, the report then holds the later parts)."""
    try:
        kept = json.loads(pipeline.store.get_cursor(name) or "[]")
        return [
            part if isinstance(part, str) else [str(part[0]), int(part[1]), int(part[2])]
            for part in kept
        ]
    except (ValueError, TypeError, IndexError, KeyError):
        return []


def _run_ids(parts: list[WalkPart]) -> list[str]:
    """The runs of ``parts``, each once, in order."""
    return list(dict.fromkeys(part if isinstance(part, str) else part[0] for part in parts))


def walk_report(
    pipeline: Pipeline, path: str, runs: list[WalkPart], *, since: datetime | None, extra: dict
) -> str:
    """``write_run_report`` over every part of the walk (``walk_runs``), oldest first;
    the summary's ``walk_runs`` names their runs."""
    from modbot.modes.report import add_run_decisions, cannot_write_said, report_annotation
    from modbot.modes.report_stream import ReportBuilder

    with ReportBuilder(
        path,
        since=since,
        dry_run=pipeline.dry_run,
        title=f"modbot report: run {pipeline.run_id}"
        + (" and its walk's earlier parts" if len(runs) > 1 else ""),
        annotate=report_annotation(pipeline.policy),
    ) as builder:
        for part in runs:
            if isinstance(part, str):
                add_run_decisions(builder, pipeline.store, part)
            else:  # a slice of the daemon's
                add_run_decisions(builder, pipeline.store, part[0], part[1], upto=part[2])
        with cannot_write_said(builder.path):
            return str(builder.write({**extra, "walk_runs": _run_ids(runs)}))


def whole_walk(
    earlier: dict[str, tuple[int, list[int]]], run: dict[str, tuple[int, list[int]]]
) -> dict[str, tuple[int, list[int]]]:
    """The posts whose comments were not read, by why: (how many, the first ids), of a
    walk's ``earlier`` parts (``Source.sweep_comments_not_read``) and of this ``run``."""
    out = dict(earlier)
    for why, (count, ids) in run.items():
        before, shown = out.get(why, (0, []))
        out[why] = (before + count, list(dict.fromkeys([*shown, *ids]))[:SHOWN_NOT_READ])
    return out


def not_reached(gaps: list[str], settings: Settings) -> str:
    """The sweep's one sentence on what Lemmy's listings kept from it (``gaps``:
    ``LemmyApi.not_reached``), and where their files can still be looked at."""
    if not gaps:
        return ""
    store = (
        "`modbot sweep --store` walks pict-rs' whole store, their images included"
        if settings.can_purge_by_alias
        else "`modbot sweep --store` would walk pict-rs' whole store, their images "
        "included: set PICTRS_URL and PICTRS_API_KEY"
    )
    return f"not reached through Lemmy's listings: {'; '.join(gaps)}. {store}"
