"""A report written one decision at a time, in flat memory: ``ReportBuilder``.

``add(record)`` counts the record into the summary and writes its rendered form (HTML
card or row, or a JSON object) to a temporary file of its section; ``write()`` puts the
page together (summary first, then the sections in order, the most serious decisions
first) and replaces the report file atomically. Nothing is held in memory but counters:
which items and images were counted already is kept in a temporary SQLite file.

The daemon keeps one builder for its run and adds only the decisions recorded since the
last cycle, so a cycle costs the new decisions plus copying the rendered bytes; an idle
cycle writes nothing (``modbot.modes.daemon``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from modbot.errors import ReportError
from modbot.modes.report import SummaryCounts, as_reported, gate_summary
from modbot.replace_file import replace_file

__all__ = ["ReportBuilder"]


def _utf8(text: str) -> bytes:
    """``text`` as the report file's UTF-8. A lone surrogate (a name in Lemmy's JSON may
    hold one, escaped) has no UTF-8: written as its escape, ``\\ud800``, which in a JSON
    string is that same character again."""
    return text.encode("utf-8", "backslashreplace")


class _DiskCounts(SummaryCounts):
    """Distinct items and images counted in a temporary SQLite file, not in sets."""

    def __init__(self) -> None:
        super().__init__()
        # "": a temporary file. The daemon adds from its poll thread and writes the last
        # time from the main one, never both at once.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY)")

    def _new(self, key: str) -> bool:
        return self._db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (key,)).rowcount == 1

    def new_item(self, key: tuple[Any, Any]) -> bool:
        return self._new(f"i{key[0]}:{key[1]}")

    def new_image(self, sha256: str) -> bool:
        return self._new(f"f{sha256}")

    def new_decision(self, decision_id: object) -> bool:
        """Whether the decision (its row in the store) was not added yet."""
        found = self._db.execute("SELECT 1 FROM seen WHERE key = ?", (f"d{decision_id}",))
        return found.fetchone() is None

    def added_decision(self, decision_id: object) -> None:
        self._new(f"d{decision_id}")

    @contextmanager
    def together(self) -> Iterator[None]:
        """The marks made in the block, all or none (a full disk part-way)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


class ReportBuilder:
    """One report file (``.json`` or ``.html``, by the extension), built a record at a
    time. ``annotate(record)``, when given, may add to each record before it is written
    (the "what next" of a flagged one)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        title: str = "modbot report",
        since: datetime | str | None = None,
        dry_run: bool | None = None,
        random_weights: bool | None = None,
        annotate: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix == ".json":
            self.format = "json"
        elif suffix in (".html", ".htm"):
            self.format = "html"
        else:
            raise ReportError(
                f"{self.path}: unknown report format {suffix or '(none)'!r}; "
                "use a .json or .html file name"
            )
        self.title = title
        self.since = since
        self.dry_run = dry_run
        self.random_weights = random_weights
        self.annotate = annotate
        self.counts = _DiskCounts()
        # the upload gate's records: a list of their own (no item to decide again)
        self.gate_outcomes: Counter[str] = Counter()
        self.gate_rules: Counter[str] = Counter()
        self._spools: dict[str, IO[bytes]] = {}
        self._rows: dict[str, int] = {}

    def __enter__(self) -> ReportBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for spool in self._spools.values():
            spool.close()
        self._spools.clear()
        self.counts.close()

    @property
    def decisions(self) -> int:
        return self.counts.decisions

    def add(self, record: dict[str, Any]) -> None:
        """Count and write one decision. A decision of the store (``decision_id``) added
        already is not added again: the daemon adds again, the next cycle, the rows of a
        cycle whose adding failed part-way (a full disk), and a row that failed is
        neither written nor counted."""
        decision_id = record.get("decision_id")
        if decision_id is not None and not self.counts.new_decision(decision_id):
            return
        as_reported(record)
        if self.annotate is not None:
            self.annotate(record)
        if self.format == "json":
            key, text = "json", json.dumps(record, ensure_ascii=False, default=str)
            if self._rows.get(key):
                text = ",\n" + text
        else:
            from modbot.modes.report_html import row_html, section_of, severity

            section = section_of(record)
            # the decisions with a rule, most serious first: one file per severity
            key = f"acted{severity(record)}" if section == "acted" else section
            text = row_html(record) + "\n"
        at = self._spool(key, text)
        # Its row is written: it is marked added and counted only as a whole, else the
        # row is taken back. A part done (a full disk) would add it twice when the
        # daemon adds the row again, and count it twice.
        try:
            with self.counts.together():
                if decision_id is not None:
                    self.counts.added_decision(decision_id)
                marks = self.counts.marks(record)
        except BaseException:
            self._unspool(key, at)
            raise
        self.counts.count(record, *marks)

    def add_gate(self, record: dict[str, Any]) -> None:
        """One record of the upload gate (``modbot gate``): a file accepted, refused, or
        decided without a verdict. Listed apart from the decisions, as recorded."""
        gate = record.get("gate") or {}
        self.gate_outcomes[str(gate.get("outcome"))] += 1
        if record.get("rule"):
            self.gate_rules[str(record["rule"])] += 1
        if self.format == "json":
            key, text = "gate", json.dumps(record, ensure_ascii=False, default=str)
            if self._rows.get(key):
                text = ",\n" + text
        else:
            from modbot.modes.report_html import gate_row_html

            key, text = "gate", gate_row_html(record) + "\n"
        self._spool(key, text)

    def _spool(self, key: str, text: str) -> int:
        """Write a row to the section ``key``; returns where it starts."""
        spool = self._spools.get(key)
        if spool is None:
            # kept open across add() calls; closed by close()
            spool = self._spools[key] = tempfile.TemporaryFile()  # noqa: SIM115
        at = spool.tell()
        try:
            spool.write(_utf8(text))
        except BaseException:  # a part written (a full disk): the section stays whole
            self._truncate(spool, at)
            raise
        self._rows[key] = self._rows.get(key, 0) + 1
        return at

    def _unspool(self, key: str, at: int) -> None:
        """Take back the row of ``key`` written from ``at`` (the last one)."""
        self._truncate(self._spools[key], at)
        self._rows[key] -= 1

    @staticmethod
    def _truncate(spool: IO[bytes], at: int) -> None:
        spool.truncate(at)  # (a buffered file's truncate flushes first)
        spool.seek(at)

    def summary(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        summary = self.counts.summary(
            since=self.since, dry_run=self.dry_run, random_weights=self.random_weights, extra=extra
        )
        summary["gate"] = gate_summary(self.gate_outcomes, self.gate_rules)
        return summary

    def write(self, extra: Mapping[str, Any] | None = None) -> Path:
        """The report as it stands, written atomically; returns its path."""
        summary = self.summary(extra)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "json":
            replace_file(self.path, lambda out: self._write_json(out, summary))
        else:
            replace_file(self.path, lambda out: self._write_html(out, summary))
        return self.path

    def _copy(self, key: str, out: IO[bytes]) -> None:
        spool = self._spools.get(key)
        if spool is None:
            return
        spool.flush()
        spool.seek(0)
        try:
            shutil.copyfileobj(spool, out, 1 << 20)
        finally:
            # the next add appends, also after a copy that failed part-way (a full
            # disk): not over the rows after where the copy stopped
            spool.seek(0, os.SEEK_END)

    def _write_json(self, out: IO[bytes], summary: dict[str, Any]) -> None:
        head = json.dumps(summary, indent=2, ensure_ascii=False, default=str)
        out.write(b'{"summary": ' + _utf8(head) + b',\n"decisions": [\n')
        self._copy("json", out)
        out.write(b'\n],\n"gate": [\n')
        self._copy("gate", out)
        out.write(b"\n]}\n")

    def _write_html(self, out: IO[bytes], summary: dict[str, Any]) -> None:
        from modbot.modes.report_html import (
            SECTIONS,
            page_parts,
            section_head,
            section_tail,
        )

        head, tail = page_parts(summary, self.title)
        out.write(_utf8(head))
        for section in SECTIONS:
            keys = [f"acted{n}" for n in range(8)] if section == "acted" else [section]
            count = sum(self._rows.get(k, 0) for k in keys)
            if section in ("not_redecided", "gate") and not count:
                continue
            out.write(_utf8(section_head(section, count)))
            for key in keys:
                self._copy(key, out)
            out.write(_utf8(section_tail(section, count)))
        out.write(_utf8(tail))
