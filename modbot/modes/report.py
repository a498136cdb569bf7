"""Reports made of decision records (the shape in docs/ARCHITECTURE.md), and the
``modbot report`` mode that makes one.

A report is what an admin reads before trusting the bot, so it must be honest about
what it is (dry run, test model) and safe to open: it never contains an image, only
links, hashes and scores (``report_html`` escapes everything taken from the instance).
``write_report`` writes ``.json`` (``{"summary": ..., "decisions": [...], "gate": [...]}``) or
``.html`` by the file's extension; ``report`` is the dry run over a window behind
``modbot report``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modbot.errors import ReportError
from modbot.model import action_outcome
from modbot.replace_file import replace_file

if TYPE_CHECKING:
    from modbot.classify import Engine
    from modbot.config.policy import Policy
    from modbot.config.settings import Settings
    from modbot.model import Item
    from modbot.pipeline import Pipeline

__all__ = [
    "REPORT_SCOPE",
    "NotListed",
    "PartWay",
    "ReportError",
    "add_run_decisions",
    "as_reported",
    "build_summary",
    "check_report_path",
    "incomplete_run_report",
    "record_report",
    "render_json",
    "report",
    "report_annotation",
    "reported_if_failed",
    "rescan_report",
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
    counts = SummaryCounts()
    for d in decisions:
        counts.add(d)
    return counts.summary(since=since, dry_run=dry_run, random_weights=random_weights, extra=extra)


class SummaryCounts:
    """The summary's counts, one record at a time (a report streamed from the store
    never holds its records). Which items and images were seen already is a set here;
    ``modbot.modes.report_stream`` keeps them on disk instead."""

    def __init__(self) -> None:
        self.decisions = 0
        self.by_rule: Counter[str] = Counter()
        self.by_action: dict[str, Counter[str]] = {}
        self.by_skip: Counter[str] = Counter()
        self.by_label: Counter[str] = Counter()
        self.by_location: Counter[str] = Counter()
        self.by_exempt: Counter[str] = Counter()
        self.by_not_redecided: Counter[str] = Counter()
        self.items = 0
        self.images = 0
        self.models: set[str] = set()
        self.any_random = False
        self.all_dry = True
        self._items: set[tuple[Any, Any]] = set()
        self._images: set[str] = set()

    def new_item(self, key: tuple[Any, Any]) -> bool:
        if key in self._items:
            return False
        self._items.add(key)
        return True

    def new_image(self, sha256: str) -> bool:
        if sha256 in self._images:
            return False
        self._images.add(sha256)
        return True

    def add(self, d: Mapping[str, Any]) -> None:
        self.count(d, *self.marks(d))

    def marks(self, d: Mapping[str, Any]) -> tuple[bool, bool]:
        """Whether the record's item and its image are new: noted as seen (on disk in
        ``report_stream``: what may fail, before anything is counted)."""
        item = d.get("item") or {}
        image = d.get("image") or {}
        new_item = self.new_item((item.get("kind"), item.get("id")))
        new_image = bool(image.get("sha256")) and self.new_image(str(image["sha256"]))
        return new_item, new_image

    def count(self, d: Mapping[str, Any], new_item: bool, new_image: bool) -> None:
        """Count the record (in memory only: nothing here fails part-way)."""
        image = d.get("image") or {}
        self.decisions += 1
        self.items += new_item
        self.images += new_image
        if image.get("location"):
            self.by_location[str(image["location"])] += 1
        if d.get("rule"):
            self.by_rule[str(d["rule"])] += 1
        for action in d.get("actions") or []:
            name = str(action.get("action"))
            self.by_action.setdefault(name, Counter())[action_outcome(action)] += 1
        if d.get("skipped"):
            self.by_skip[_skip_reason_key(str(d["skipped"]))] += 1
        for label in d.get("labels") or []:
            self.by_label[str(label)] += 1
        if d.get("model") and len(self.models) < 20:
            self.models.add(str(d["model"]))
        if d.get("exempt"):
            self.by_exempt[_exempt_key(str(d["exempt"]))] += 1
        if d.get("not_redecided"):
            self.by_not_redecided[_skip_reason_key(str(d["not_redecided"]))] += 1
        self.any_random = self.any_random or bool(d.get("random_weights"))
        self.all_dry = self.all_dry and bool(d.get("dry_run"))

    def summary(
        self,
        *,
        since: datetime | str | None = None,
        dry_run: bool | None = None,
        random_weights: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "generated_at": _iso(datetime.now(UTC)),
            "since": _iso(since) if isinstance(since, datetime) else since,
            "dry_run": bool(dry_run)
            if dry_run is not None
            else (self.decisions > 0 and self.all_dry),
            "random_weights": bool(random_weights) or self.any_random,
            "models": sorted(self.models),
            "decisions": self.decisions,
            "items": self.items,
            "distinct_images": self.images,
            "with_rule": sum(self.by_rule.values()),
            "skipped": sum(self.by_skip.values()),
            "by_rule": dict(self.by_rule.most_common()),
            "by_action": {
                name: dict(c.most_common()) for name, c in sorted(self.by_action.items())
            },
            "by_skip_reason": dict(self.by_skip.most_common()),
            "by_label": dict(self.by_label.most_common()),
            "by_location": dict(self.by_location.most_common()),
            "by_exempt": dict(self.by_exempt.most_common()),
        }
        if self.by_not_redecided:
            summary["not_redecided"] = sum(self.by_not_redecided.values())
            summary["by_not_redecided"] = dict(self.by_not_redecided.most_common())
        if extra:
            summary.update(extra)
        return summary


def as_reported(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with each action's status as the report says it (``action_outcome``);
    the detail is kept. The record itself is changed (a report's own copy)."""
    actions = record.get("actions")
    if actions and any(action_outcome(a) != a.get("status") for a in actions):
        record["actions"] = [{**a, "status": action_outcome(a)} for a in actions]
    return record


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
    """`{"summary": {...}, "decisions": [...], "gate": []}`, the shape every JSON report
    has (the upload gate's records come from the state file: ``ReportBuilder``); the
    records are passed through as is."""
    decisions = [as_reported(dict(d)) for d in decisions]
    summary = {**build_summary(decisions, **summary_options), "gate": gate_summary()}
    doc = {"summary": summary, "decisions": decisions, "gate": []}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


def gate_summary(
    outcomes: Mapping[str, int] | None = None, rules: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """``summary.gate``: how many of the upload gate's records, by answer and by rule."""
    outcomes, rules = Counter(outcomes or {}), Counter(rules or {})
    return {
        "records": sum(outcomes.values()),
        "by_outcome": dict(outcomes.most_common()),
        "by_rule": dict(rules.most_common()),
    }


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
    data = text.encode("utf-8")
    with cannot_write_said(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, lambda f: f.write(data))
    return path


def check_report_path(path: str | os.PathLike[str]) -> None:
    """Before a long run: whether the report can be written at ``path`` (its folder made
    when missing, a file made in it and removed); ``ReportError`` saying why not, at once,
    not after hours of walking and classifying."""
    path = Path(path)
    with cannot_write_said(path):
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "a folder is there", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        # named as no left-over of replace_file is; removed when closed
        with tempfile.TemporaryFile(dir=path.parent):
            pass


@contextmanager
def cannot_write_said(path: Path) -> Iterator[None]:
    """An ``OSError`` writing the report at ``path`` (its folder a file, not writable, a
    full disk) as a ``ReportError`` naming the file and why: the command says so in one
    line, not a traceback (the daemon's own report catches ``OSError`` itself)."""
    try:
        yield
    except OSError as exc:
        raise ReportError(_cannot_write(path, exc)) from exc


def _cannot_write(path: Path, exc: OSError) -> str:
    why = exc.strerror or str(exc)
    # mkdir's "File exists: 'afile'" for a file where a folder of the path should be
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        why = f"{blocking} is a file, not a folder"
    elif exc.filename2 is not None and str(exc.filename2) == str(path):
        # the rename of the written file over it: the temporary file is gone again
        why = f"{why} (replacing it)"
    elif exc.filename and str(exc.filename) != str(path):
        why = f"{why}: {exc.filename}"
    return (
        f"cannot write the report {path}: {why}; give --report or --out a file in a folder "
        "this user can write"
    )


def write_run_report(
    pipeline: Pipeline,
    path: str | os.PathLike[str],
    *,
    since: datetime | None = None,
    title: str | None = None,
    gate: bool = False,
    **options: Any,
) -> str:
    """Write one run's decisions (``pipeline.run_id``) to ``path``, read from the store
    a batch at a time (``modbot.modes.report_stream``: flat memory); with ``gate``, the
    upload gate's records since ``since`` too. The run's warnings are the report's,
    unless ``extra`` names its own (a sweep adds what it did not reach)."""
    from modbot.modes.report_stream import ReportBuilder

    extra = options.pop("extra", None)
    if pipeline.warnings and "warnings" not in (extra or {}):
        # what the run skipped or could not read, in its report as on its terminal
        extra = {**(extra or {}), "warnings": list(pipeline.warnings)}
    with ReportBuilder(
        path,
        since=since,
        dry_run=pipeline.dry_run,
        title=title or f"modbot report: run {pipeline.run_id}",
        annotate=report_annotation(pipeline.policy),
        **options,
    ) as builder:
        add_run_decisions(builder, pipeline.store, pipeline.run_id)
        if gate:
            add_gate_records(builder, pipeline.store, since)
        with cannot_write_said(builder.path):
            return str(builder.write(extra))


def add_run_decisions(
    builder: Any, store: Any, run_id: str, after_id: int = 0, *, upto: int | None = None
) -> int:
    """Add the run's decisions recorded after the row ``after_id`` (up to the row
    ``upto``, when given) to ``builder``; returns the last row read."""
    while True:
        rows = store.decisions_after(after_id, run_id=run_id)
        if upto is not None:
            rows = [(row_id, record) for row_id, record in rows if row_id <= upto]
        if not rows:
            return after_id
        for row_id, record in rows:
            record.setdefault("decision_id", row_id)
            builder.add(record)
        after_id = rows[-1][0]


def add_gate_records(builder: Any, store: Any, since: datetime | None) -> int:
    """Add the upload gate's records since ``since`` (everything when None) to
    ``builder``: what ``modbot gate`` accepted, refused, or decided without a verdict,
    in the window. Returns how many."""
    added = 0
    for row_id, record in store.gate_window(_iso(since) if since else None):
        record.setdefault("decision_id", row_id)
        builder.add_gate(record)
        added += 1
    return added


def report_annotation(policy: Policy) -> Callable[[dict[str, Any]], None]:
    """What a report adds to each record: the "what next" of a flagged one."""
    from modbot.modes.report_record import what_next

    def annotate(record: dict[str, Any]) -> None:
        advice = what_next(policy, record)
        if advice:
            record["what_next"] = advice

    return annotate


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
    rescan: bool = False,
) -> bool:
    """The report over the window since ``since`` (everything when None), written to
    ``out``: decided again from the record (``modbot.modes.report_record``), or, with
    ``rescan`` or when nothing is recorded in the window, a dry run walking the window
    (``rescan_report``). False when it was interrupted."""
    from modbot.store import Store

    check_report_path(out)  # a wrong --out at once, not after the walk
    if not rescan:
        store = Store(settings.state_path)
        try:
            recorded = store.has_decisions_since(_iso(since) if since else None)
        finally:
            store.close()
        if recorded:
            return record_report(settings, policy, since=since, out=out, engine=engine, title=title)
        log.info("report: nothing recorded in the window: looking at it through Lemmy")
    return rescan_report(
        settings,
        policy,
        since=since,
        out=out,
        engine=engine,
        title=title,
        random_weights=random_weights,
    )


def _window(since: datetime | None) -> str:
    return f"since {since:%Y-%m-%d %H:%M} UTC" if since else "over the whole history"


def record_report(
    settings: Settings,
    policy: Policy,
    *,
    since: datetime | None,
    out: str,
    engine: Engine | None = None,
    title: str | None = None,
) -> bool:
    """The window's recorded decisions decided again under the current rules: no
    download, no classification, no paging (the login only); streamed to ``out``."""
    from modbot.doctor import connect_first
    from modbot.modes.progress import StopOnSignal
    from modbot.modes.report_record import Redecider
    from modbot.modes.report_stream import ReportBuilder

    with (
        _report_pipeline(settings, policy, engine) as pipeline,
        StopOnSignal("report") as stop,
    ):
        connect_first(pipeline)
        pipeline.start()  # the admins' ids and the account, for the executor
        window = _window(since)
        log.info("report from the record (dry run, run %s) %s", pipeline.run_id, window)
        redecider = Redecider(pipeline, concept_version=_concept_version(pipeline))
        with ReportBuilder(
            out,
            since=since,
            dry_run=True,
            title=title or f"modbot report {window}",
            annotate=report_annotation(policy),
        ) as builder:
            for record in redecider.window(since):
                builder.add(record)
                if stop.is_set():
                    break
            gated = 0 if stop.is_set() else add_gate_records(builder, pipeline.store, since)
            interrupted = stop.is_set()
            source = (
                "Decided again from the record: the latest recorded decision on each image "
                "in the window, under the current rules (no image downloaded or classified "
                "again). Items no run has looked at yet are not in it: "
                "`modbot report --rescan` walks the window through Lemmy."
            )
            if redecider.no_longer_shown:
                source += (
                    f" {redecider.no_longer_shown} recorded images are left out: a later "
                    "look at their post, comment or profile no longer found them (edited "
                    "out, replaced)."
                )
            if redecider.without_facts:
                source += (
                    f" {redecider.without_facts} records are older than the item facts "
                    "modbot now records (author local/bot/account age, moderator, "
                    "community local): rules on those did not match them."
                )
            with cannot_write_said(builder.path):
                written = builder.write(
                    {
                        "complete": not interrupted,
                        "warnings": list(pipeline.warnings),
                        "source": source,
                        "redecided": redecider.redecided,
                        "without_item_facts": redecider.without_facts,
                        "no_longer_shown": redecider.no_longer_shown,
                    }
                )
        state = "INCOMPLETE (interrupted)" if interrupted else "done"
        print(
            f"report {pipeline.run_id} {state} from the record: {redecider.redecided} "
            f"images decided again, {redecider.not_redecided} not"
            + (
                f"; {redecider.no_longer_shown} no longer shown by their item, left out"
                if redecider.no_longer_shown
                else ""
            )
            + (f"; {gated} files at the upload gate" if gated else "")
            + " (see the report)"
        )
        print(f"report: {written}")
        return not interrupted


def _concept_version(pipeline: Pipeline) -> str | None:
    """The classifier's concept version now: a local model's from its files, without
    loading it (``classify.local_concept_version``; loaded, never run, when that fails);
    a remote one's from a worker. None when it cannot be known."""
    import asyncio

    from modbot.classify import engine_kind, local_concept_version

    if engine_kind(pipeline.policy) == "local" and not pipeline.engine_built:
        try:
            return local_concept_version(pipeline.policy)
        except Exception as exc:  # the engine itself says what is wrong, below
            log.info("report: the concept version from the model's files failed (%s)", exc)
    try:
        engine = pipeline.engine
        return engine.concept_version or asyncio.run(engine.ready())
    except Exception as exc:  # the recorded verdicts are then used as they are
        # in the report too: its decisions may rest on another model's verdicts
        pipeline.warnings.append(
            f"the classifier's concept version is unknown ({exc}): each recorded verdict "
            "is decided again as recorded, whatever model or concepts made it; "
            "`modbot report` once the classifier answers tells them apart"
        )
        log.warning("report: %s", pipeline.warnings[-1])
        return None


def rescan_report(
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
    says it is incomplete). After the walk, the items of the window a run decided that
    the listings no longer show (``NotListed``: a removed post) are read by id and
    decided too."""
    from modbot.doctor import connect_first
    from modbot.modes.progress import Progress, StopOnSignal
    from modbot.modes.sweep import not_reached  # sweep.py imports this module

    with (
        _report_pipeline(settings, policy, engine) as pipeline,
        StopOnSignal("report") as stop,
    ):
        connect_first(pipeline)  # the network and the login first, with the doctor's words
        # Its own sweep position: a report never resumes (or disturbs) a sweep.
        pipeline.source.forget_sweep()
        window = _window(since)
        log.info("report (dry run, run %s) %s", pipeline.run_id, window)

        unlisted = NotListed(pipeline, since)

        def write(complete: bool) -> str:
            extra: dict[str, Any] = {"complete": complete, "warnings": list(pipeline.warnings)}
            if unlisted.read or unlisted.gone:
                extra["not_listed"] = {"read_by_id": unlisted.read, "gone": unlisted.gone}
                extra["source"] = unlisted.says()
            return write_run_report(
                pipeline,
                out,
                since=since,
                random_weights=random_weights,
                title=title or f"modbot report {window}",
                gate=True,
                extra=extra,
            )

        said = f"report {pipeline.run_id}"
        with (
            reported_if_failed(pipeline, said, out, lambda: write(complete=False)),
            Progress("report") as progress,
        ):
            stats = pipeline.sweep(since, progress=progress, stop=stop)
            # stopped before its first page too: nothing was walked
            interrupted = not pipeline.sweep_ended
        more = None
        if not interrupted:  # then what the record has and the listings no longer show
            walked = stats.items_seen
            with (
                reported_if_failed(
                    pipeline, f"{said} walked the window, then", out, lambda: write(False)
                ),
                Progress("report") as progress,
            ):
                more = pipeline.run_batches(
                    unlisted.batches,
                    stop=stop,
                    progress=lambda done, _total: progress(walked + done, None),
                )
            interrupted = not unlisted.ended
        # what Lemmy's listings kept from the walk, in the sweep's words (the report's
        # warnings say it too)
        unreached = not_reached(pipeline.client.not_reached(), settings)
        if unreached:
            pipeline.warnings.append(unreached)
        written = write(complete=not interrupted)
        state = "INCOMPLETE (interrupted)" if interrupted else "done"
        print(f"report {pipeline.run_id} {state}: {stats.summary()}")
        if more is not None and (unlisted.read or unlisted.gone):
            print(f"report {pipeline.run_id}: {unlisted.says()} ({more.summary()})")
        if unreached:
            print(f"report {pipeline.run_id}: {unreached}")
        print(f"report: {written}")
        return not interrupted


class NotListed:
    """The posts and comments the record has in a rescan's window that its walk did not
    list: Lemmy's listings hide them now (Lemmy 0.19 hides a removed post from every
    listing, admins' too, and its comments are read post by post), yet a run saw and
    decided them. Each is read by id (admins and moderators get a removed one) and
    decided as the walk's items are; one Lemmy no longer has (purged) is counted in
    ``gone``. Which were listed is kept in a temporary SQLite file, not in memory."""

    BATCH = 20

    def __init__(self, pipeline: Pipeline, since: datetime | None) -> None:
        self.pipeline = pipeline
        self.since = since
        self.read = 0  # read by id and handed to the pipeline
        self.gone = 0  # recorded, no longer in Lemmy
        self.ended = False  # every one handed out

    def says(self) -> str:
        """The report's note on them, in words."""
        said = []
        if self.read:  # "0 ... were not in Lemmy's listings" reads as a finding: left out
            said.append(
                f"{self.read} posts and comments the record has in the window were not in "
                "Lemmy's listings (removed posts, which Lemmy 0.19 lists to no one, and their "
                "comments): read by id and decided as the others."
            )
        if self.gone:
            said.append(
                f"{self.gone} recorded posts and comments of the window are gone from "
                "Lemmy (purged): not in this report; `modbot report` (from the record) "
                "lists them."
            )
        return " ".join(said)

    def _missing(self) -> Iterator[tuple[str, int]]:
        """(kind, id) of each recorded post and comment of the window this run did not
        decide, oldest record first."""
        import sqlite3

        from modbot.modes.report_record import in_window

        store, run_id = self.pipeline.store, self.pipeline.run_id
        db = sqlite3.connect("", isolation_level=None)  # "": a temporary file
        try:
            db.execute("CREATE TABLE listed (kind TEXT, id INTEGER, PRIMARY KEY (kind, id))")
            db.execute(
                "CREATE TABLE missing (n INTEGER PRIMARY KEY, kind TEXT, id INTEGER, "
                "UNIQUE (kind, id))"
            )
            bound = _iso(self.since) if self.since is not None else None
            for _row, record in store.window_decisions(bound):
                item = record.get("item") or {}
                kind, item_id = item.get("kind"), item.get("id")
                if kind not in ("post", "comment") or not isinstance(item_id, int):
                    continue
                if record.get("run_id") == run_id:
                    db.execute("INSERT OR IGNORE INTO listed VALUES (?, ?)", (kind, item_id))
                elif in_window(record, self.since):
                    db.execute(
                        "INSERT OR IGNORE INTO missing (kind, id) VALUES (?, ?)", (kind, item_id)
                    )
            rows = db.execute(
                "SELECT kind, id FROM missing AS m WHERE NOT EXISTS (SELECT 1 FROM listed "
                "AS l WHERE l.kind = m.kind AND l.id = m.id) ORDER BY n"
            )
            for kind, item_id in rows:
                yield str(kind), int(item_id)
        finally:
            db.close()

    def batches(self) -> Generator[list[Item], None, None]:
        from modbot.errors import LemmyError, LemmyLoginError, LemmyUnavailable

        client = self.pipeline.client
        batch: list[Item] = []
        for kind, item_id in self._missing():
            try:
                item = client.post(item_id) if kind == "post" else client.comment(item_id)
            except (LemmyUnavailable, LemmyLoginError):
                raise  # passing: the report fails, marked incomplete
            except LemmyError as exc:  # not found: purged since the run decided it
                log.info("report: %s %s is no longer in Lemmy (%s)", kind, item_id, exc)
                self.gone += 1
                continue
            batch.append(item)
            if len(batch) >= self.BATCH:
                self.read += len(batch)
                yield batch
                batch = []
        if batch:
            self.read += len(batch)
            yield batch
        self.ended = True


@dataclass
class PartWay:
    """What a cycle that failed in ``reported_if_failed`` had done first, as its summary
    says it ("failed; done and recorded before: ..."); "" while it has not failed, or
    when it failed before its cycle began."""

    done: str = ""


@contextmanager
def reported_if_failed(
    pipeline: Pipeline,
    said: str,
    report: str | os.PathLike[str] | None,
    write: Callable[[], object] | None = None,
    *,
    hint: str = "",
    logger: logging.Logger = log,
) -> Iterator[PartWay]:
    """A cycle of ``pipeline`` failing in the block (a sweep, a rescan, ``run --once``):
    the command says what it did first (``said``, the run's summary of it, ``hint``),
    writes ``report`` with ``write()`` (the decisions recorded first, marked incomplete),
    then the error goes on, for the command to say; what it did first stays in the
    ``PartWay`` it yields (for ``run --once``'s healthcheck record). A cycle that failed
    before it began (the login, the model) says nothing here. A report that cannot be
    written (the store that failed the cycle, a full disk) is a warning on ``logger``: it
    must not hide the failure."""
    from modbot.modes.daemon import failed_part_way

    before = pipeline.cycle_stats
    failed = PartWay()
    try:
        yield failed
    except Exception:
        partial = failed.done = failed_part_way(pipeline, before)
        if partial:
            print(f"{said} {partial}{hint}")
            if report and write is not None:
                try:
                    written = write()
                except Exception as exc:
                    logger.warning("could not write the report %s: %s", report, exc)
                else:
                    print(f"report (incomplete): {written}")
        raise


def incomplete_run_report(
    pipeline: Pipeline, report: str | os.PathLike[str] | None, since: datetime | None = None
) -> Callable[[], object] | None:
    """How a run's or sweep's ``--report`` is written when its cycle failed part-way:
    the decisions it recorded, marked incomplete (None: no ``--report``)."""
    if not report:
        return None
    return lambda: write_run_report(pipeline, report, since=since, extra={"complete": False})


def _report_pipeline(settings: Settings, policy: Policy, engine: Engine | None) -> Pipeline:
    """A report's pipeline, either way it is made: a dry run in the report's own scope,
    re-deciding what it sees (never marking it seen)."""
    from modbot.pipeline import Pipeline

    return Pipeline(
        settings,
        policy,
        dry_run=True,
        scope=REPORT_SCOPE,
        remember_seen=False,
        engine=engine,
    )
