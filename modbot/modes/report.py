"""Reports made of decision records (the shape in docs/ARCHITECTURE.md), and the
``modbot report`` mode that makes one.

A report is what an admin reads before trusting the bot, so it must be honest about
what it is (dry run, test model) and safe to open: it never contains an image, only
links, hashes and scores (``report_html`` escapes everything taken from the instance).
``write_report`` writes ``.json`` (``{"summary": ..., "decisions": [...]}``) or
``.html`` by the file's extension; ``report`` is the dry run over a window behind
``modbot report``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modbot.errors import ReportError

if TYPE_CHECKING:
    from modbot.classify import Engine
    from modbot.config.policy import Policy
    from modbot.config.settings import Settings
    from modbot.pipeline import Pipeline

__all__ = [
    "REPORT_SCOPE",
    "ReportError",
    "build_summary",
    "render_json",
    "report",
    "write_report",
    "write_run_report",
]

log = logging.getLogger("modbot.report")

REPORT_SCOPE = "report"  # a report walks the window on its own, apart from run and sweep

# --------------------------------------------------------------------------- summary


def build_summary(
    decisions: Iterable[Mapping[str, Any]],
    *,
    since: datetime | str | None = None,
    dry_run: bool | None = None,
    random_weights: bool | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Counts an admin wants first: by rule, by action and status, by skip reason.

    `dry_run` / `random_weights` force the flags on (e.g. the demo knows it runs the
    test model even if no image got classified); otherwise they come from the records.
    """
    decisions = list(decisions)
    by_rule: Counter[str] = Counter()
    by_action: dict[str, Counter[str]] = {}
    by_skip: Counter[str] = Counter()
    by_label: Counter[str] = Counter()
    by_location: Counter[str] = Counter()
    by_exempt: Counter[str] = Counter()
    items: set[tuple[Any, Any]] = set()
    images: set[str] = set()
    models: set[str] = set()
    for d in decisions:
        item = d.get("item") or {}
        image = d.get("image") or {}
        items.add((item.get("kind"), item.get("id")))
        if image.get("sha256"):
            images.add(image["sha256"])
        if image.get("location"):
            by_location[str(image["location"])] += 1
        if d.get("rule"):
            by_rule[str(d["rule"])] += 1
        for action in d.get("actions") or []:
            name = str(action.get("action"))
            by_action.setdefault(name, Counter())[str(action.get("status"))] += 1
        if d.get("skipped"):
            by_skip[_skip_reason_key(str(d["skipped"]))] += 1
        for label in d.get("labels") or []:
            by_label[str(label)] += 1
        if d.get("model"):
            models.add(str(d["model"]))
        if d.get("exempt"):
            by_exempt[_exempt_key(str(d["exempt"]))] += 1
    record_random = any(bool(d.get("random_weights")) for d in decisions)
    record_dry = bool(decisions) and all(bool(d.get("dry_run")) for d in decisions)
    summary: dict[str, Any] = {
        "generated_at": _iso(datetime.now(UTC)),
        "since": _iso(since) if isinstance(since, datetime) else since,
        "dry_run": bool(dry_run) if dry_run is not None else record_dry,
        "random_weights": bool(random_weights) or record_random,
        "models": sorted(models),
        "decisions": len(decisions),
        "items": len(items),
        "distinct_images": len(images),
        "with_rule": sum(by_rule.values()),
        "skipped": sum(by_skip.values()),
        "by_rule": dict(by_rule.most_common()),
        "by_action": {name: dict(c.most_common()) for name, c in sorted(by_action.items())},
        "by_skip_reason": dict(by_skip.most_common()),
        "by_label": dict(by_label.most_common()),
        "by_location": dict(by_location.most_common()),
        "by_exempt": dict(by_exempt.most_common()),
    }
    if extra:
        summary.update(extra)
    return summary


def _skip_reason_key(reason: str) -> str:
    # "too large: 30000000 bytes > 25MB" and "too large: 41 MB" count as one reason.
    return reason.split(":", 1)[0].strip() or reason


_SAME_FILE = re.compile(r"the same file is shown by \S+ \S+, exempt: ")


def _exempt_key(why: str) -> str:
    # "the same file is shown by post 12, exempt: X" and "... by post 13, ...: X" count as
    # one reason: an exempt item's file, spared because of X.
    return _SAME_FILE.sub("the same file is shown by an exempt item: ", why, count=1)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- JSON


def render_json(decisions: Iterable[Mapping[str, Any]], **summary_options: Any) -> str:
    """`{"summary": {...}, "decisions": [...]}`; the records are passed through as is."""
    decisions = list(decisions)
    doc = {"summary": build_summary(decisions, **summary_options), "decisions": decisions}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


# --------------------------------------------------------------------------- files


def write_report(
    path: str | os.PathLike[str], decisions: Iterable[Mapping[str, Any]], **options: Any
) -> Path:
    """Write `.json` or `.html` (chosen by the extension) atomically; returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    decisions = list(decisions)
    if suffix == ".json":
        options.pop("title", None)
        text = render_json(decisions, **options)
    elif suffix in (".html", ".htm"):
        from modbot.modes.report_html import render_html

        text = render_html(decisions, **options)
    else:
        raise ReportError(
            f"{path}: unknown report format {suffix or '(none)'!r}; use a .json or .html file name"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_run_report(
    pipeline: Pipeline,
    path: str | os.PathLike[str],
    *,
    since: datetime | None = None,
    title: str | None = None,
    **options: Any,
) -> str:
    """Write one run's decisions (``pipeline.run_id``) to ``path``."""
    written = write_report(
        path,
        pipeline.store.decisions(run_id=pipeline.run_id),
        since=since,
        dry_run=pipeline.dry_run,
        title=title or f"modbot report: run {pipeline.run_id}",
        **options,
    )
    return str(written)


# --------------------------------------------------------------------------- the mode


def report(
    settings: Settings,
    policy: Policy,
    *,
    since: datetime | None,
    out: str,
    engine: Engine | None = None,
    title: str | None = None,
    random_weights: bool | None = None,
) -> bool:
    """A dry run over the window since ``since`` (everything when None), every item in it
    looked at again, written to ``out``; False when it was interrupted (the report then
    says it is incomplete)."""
    from modbot.doctor import connect_first
    from modbot.modes.progress import Progress, StopOnSignal
    from modbot.pipeline import Pipeline

    with (
        Pipeline(
            settings,
            policy,
            dry_run=True,
            scope=REPORT_SCOPE,
            remember_seen=False,
            engine=engine,
        ) as pipeline,
        StopOnSignal("report") as stop,
    ):
        connect_first(pipeline)  # the network and the login first, with the doctor's words
        # Its own sweep position: a report never resumes (or disturbs) a sweep.
        pipeline.source.forget_sweep()
        window = f"since {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"
        log.info("report (dry run, run %s) %s", pipeline.run_id, window)
        with Progress("report") as progress:
            stats = pipeline.sweep(since, progress=progress, stop=stop)
        interrupted = stop.is_set()
        written = write_run_report(
            pipeline,
            out,
            since=since,
            random_weights=random_weights,
            title=title or f"modbot report {window}",
            extra={"complete": not interrupted, "warnings": list(pipeline.warnings)},
        )
        state = "INCOMPLETE (interrupted)" if interrupted else "done"
        print(f"report {pipeline.run_id} {state}: {stats.summary()}")
        print(f"report: {written}")
        return not interrupted
