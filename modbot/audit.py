"""What the bot did, from the state file's decision records (``modbot audit``).

Every decision the pipeline recorded (one per image found) and every undo
(``modbot.undo``: a record with ``undo_of``) is a row of the ``decisions`` table. The
audit selects them by time, rule, run, action, person and item, and shows them as a
table or as JSON. It reads the state file only: no login, no model.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from modbot.actions.kinds import ACTIONS
from modbot.actors import actor_handle, user_keys
from modbot.model import utc_iso
from modbot.store import STATE_TABLES, StateError, Store, database_problem

__all__ = [
    "AuditFilter",
    "Records",
    "Row",
    "item_key",
    "moment",
    "person_names",
    "read_only_connection",
    "render_table",
]


# The outcomes an action is recorded with (``model.ActionOutcome.status``; a `queued`
# notice is recorded once it is sent or has failed). `interrupted`: the records an older
# modbot (before its journal kept the plan) wrote for a killed run's items
STATUSES = ["done", "failed", "skipped", "planned", "not_possible", "covered", "interrupted"]


def moment(text: str, now: datetime | None = None) -> str:
    """A point in time as the records write it: an age (``7d``, ``90m``: that long ago)
    or an ISO date or time (``2026-11-21``, ``2026-11-21T10:00``, UTC unless it says).
    ``ValueError`` saying what is accepted otherwise."""
    from modbot.config.units import parse_duration

    text = text.strip()
    try:
        return utc_iso((now or datetime.now(UTC)) - parse_duration(text))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an age (7d, 12h, 30m) nor a date or time "
            "(2026-11-21, 2026-11-21T10:00, UTC unless an offset is given)"
        ) from None
    return utc_iso(when if when.tzinfo else when.replace(tzinfo=UTC))


def item_key(record: dict) -> str | None:
    """``post:12``, ``comment:5``, ``upload:ALIAS``: the item a record is about."""
    item = record.get("item") or {}
    if item.get("kind") is None or item.get("id") is None:
        return None
    return f"{item['kind']}:{item['id']}"


def _person_key(person: str) -> str:
    """How ``--person`` is compared with ``person_names``: no ``@`` before it, lower case."""
    return person.strip().removeprefix("@").lower()


def person_names(record: dict) -> set[str]:
    """Every way an admin may name the record's author, as the rules' `exempt.users`
    does (lower case): the actor URL, the person id, ``name@host`` (an actor at
    /u/NAME, /users/NAME or /accounts/NAME) and, for a local author only, ``name``."""
    item = record.get("item") or {}
    names: set[str] = set()
    if item.get("author_id") is not None:
        names.add(str(item["author_id"]))
    names |= user_keys(item.get("author"), _author_local(record))
    return names


def _instance_host(record: dict) -> str | None:
    """The instance's host, as far as the record says: a post's, a comment's or an
    upload's link is on the instance (``modbot.record.permalink``)."""
    item = record.get("item") or {}
    url = item.get("url")
    if item.get("kind") not in ("post", "comment", "upload") or not isinstance(url, str):
        return None
    return urlsplit(url).hostname


def _author_local(record: dict) -> bool | None:
    item = record.get("item") or {}
    if isinstance(item.get("author_local"), bool):
        return item["author_local"]
    actor, host = item.get("author"), _instance_host(record)
    if not isinstance(actor, str) or host is None:
        return None
    actor_host = urlsplit(actor).hostname
    return None if actor_host is None else actor_host == host


def _item_names(record: dict) -> set[str]:
    item = record.get("item") or {}
    names = {n for n in (item_key(record), item.get("url")) if n}
    image = record.get("image") or {}
    if image.get("url"):
        names.add(image["url"])
    return names


def _normal_item(text: str, record: dict) -> str:
    """``post/12``, or ``https://host/post/12`` on the record's instance, as ``post:12``;
    anything else as given (another instance's post 12 is not ours)."""
    match = re.fullmatch(r"/?(post|comment)[/:](\d+)/?", text)
    if match is None:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        match = re.fullmatch(r"/(post|comment)/(\d+)/?", parts.path)
        host = _instance_host(record)
        if match is None or host is None or (parts.hostname or "") != host:
            return text
    return f"{match.group(1)}:{match.group(2)}"


@dataclass(frozen=True)
class AuditFilter:
    """What to select; None: any. ``everything``: also the images no rule matched."""

    since: str | None = None
    until: str | None = None
    run_id: str | None = None
    rule: str | None = None
    action: str | None = None
    status: str | None = None
    person: str | None = None
    item: str | None = None
    everything: bool = False

    def matches(self, record: dict) -> bool:
        actions = record.get("actions") or []
        if not self.everything and not actions and not record.get("rule"):
            return False
        if (self.action is not None or self.status is not None) and not any(
            (self.action is None or a.get("action") == self.action)
            and (self.status is None or a.get("status") == self.status)
            for a in actions
        ):
            return False
        if self.person is not None:
            names = person_names(record)
            if self.person not in names and _person_key(self.person) not in names:
                return False
        return not (
            self.item is not None
            and self.item not in _item_names(record)
            and _normal_item(self.item, record) not in _item_names(record)
        )


@dataclass(frozen=True)
class Row:
    """One decision (or undo) record and its id in the state file."""

    id: int
    record: dict

    def to_dict(self) -> dict:
        return {"id": self.id, **self.record}


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that reads the state file ``path`` and writes nothing (``modbot
    audit``, ``undo``'s reading, ``healthcheck``): no schema, no journal mode, no file's
    mode. Raises ``sqlite3.Error``, or ``StateError`` for a -wal it cannot read or a
    file that is no modbot state (another program's SQLite file: a wrong --state).

    SQLite reads a WAL database through its -shm, which it makes when there is none: on
    a read-only filesystem (a volume mounted ``:ro``, a backup on a read-only disk) it
    cannot, and its read-only connection fails to open. No process has the state open
    then (a writer keeps its -wal and -shm beside it; through another, writable mount,
    they are there and the read-only connection reads them), so all of it is in the file
    and it is read as immutable. A -wal left without its -shm (a killed bot's state,
    copied without it) holds records the file lacks: said, not skipped."""
    if path.is_dir():  # SQLite would say "disk I/O error": a disk to look at, wrongly
        raise StateError(
            f"the state file {path} is a directory: give the file in it, e.g. "
            f"{path / 'modbot.sqlite3'}"
        )
    db = _connect_read_only(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = sorted(STATE_TABLES - tables)
    if missing:
        db.close()
        raise StateError(
            f"{path} is an SQLite file but no modbot state file (it has no "
            f"{' or '.join(missing)} table): a wrong --state or MODBOT_STATE?"
        )
    return db


class _ReadOnly(sqlite3.Connection):
    """A read-only connection that closes its ``companion`` after itself (``_companion``)."""

    companion: sqlite3.Connection | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.companion is not None:
                self.companion.close()
                self.companion = None


def _companion(path: Path) -> sqlite3.Connection | None:
    """A read-write connection that reads nothing but SQLite's schema, opened before the
    read-only one and closed after it, when no process has the state open (no -wal, no
    -shm) and this one may write the file and its folder: the read-only connection makes
    an empty -wal and -shm there which it never removes (they would stay beside a state
    that had none, owned by whoever read it); this one, closing last, removes them as
    SQLite's last connection does, folding nothing in (the -wal is empty, the file's
    bytes and mode are kept). A daemon opening the state meanwhile keeps them: SQLite
    removes them only while no other connection is open. None: not needed or not
    possible (a read-only mount, another user's file: the files stay, as before)."""
    side = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    if any(s.exists() for s in side) or not os.access(path, os.R_OK | os.W_OK):
        return None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return None
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        db.execute("PRAGMA query_only = 1")  # reads only, whatever happens
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the -wal
    except sqlite3.Error:
        db.close()
        return None
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    base = path.resolve().as_uri()
    companion = _companion(path)
    db = sqlite3.connect(base + "?mode=ro", uri=True, timeout=30, factory=_ReadOnly)
    db.companion = companion
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        db.close()
        if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF != sqlite3.SQLITE_CANTOPEN:
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StateError(
            f"the state file {path} cannot be read here: its {wal} holds what was "
            f"recorded last, and SQLite reads that only with its {path.name}-shm, which "
            "is missing and cannot be made on this read-only filesystem (or folder). "
            "Mount it writable once (any modbot command then folds the -wal into the "
            "file), or copy the state with `sqlite3 FILE '.backup COPY'` and read the copy"
        )
    return sqlite3.connect(base + "?mode=ro&immutable=1", uri=True, timeout=30)


# decision records read at a time (``Records._paged``): a few MB at most
PAGE = 256


class Records:
    """The decision records of a state file, read on a read-only connection of their own
    and streamed: ``modbot audit`` neither writes nor changes the file (no schema, no
    mode), and reads 100,000 records in flat memory. ``StateError`` when the file is no
    modbot state (missing, empty, corrupt, a directory)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise StateError(f"no state file at {self.path}")
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise StateError(
                f"the state file {self.path} is empty: no modbot run has written it (a "
                "wrong --state or MODBOT_STATE?)"
            )
        try:
            self._db = read_only_connection(self.path)
            self._db.execute("SELECT id, decided_at, run_id, rule, record FROM decisions LIMIT 1")
        except sqlite3.OperationalError as exc:
            if "no such" not in str(exc):
                raise StateError(database_problem(self.path, exc)) from None
            raise StateError(
                f"{self.path} is an SQLite file but no modbot state file (it has no "
                "decision records): a wrong --state or MODBOT_STATE?"
            ) from None
        except sqlite3.Error as exc:
            raise StateError(database_problem(self.path, exc)) from None

    def close(self) -> None:
        self._db.close()

    def rule_names(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT rule FROM decisions WHERE rule IS NOT NULL")
        return sorted(str(r[0]) for r in rows if r[0])

    def undo_rows(self) -> Iterator[Row]:
        """The undo records (``undo_of``), oldest first, one at a time."""
        sql = "SELECT id, record FROM decisions WHERE json_extract(record, '$.undo_of') IS NOT NULL"
        yield from self._paged(sql, [])

    def rows(
        self, which: AuditFilter, limit: int | None = None, up_to: int | None = None
    ) -> Iterator[Row]:
        """The records ``which`` selects, oldest first, one at a time; ``limit``: only
        the newest so many; ``up_to``: none after this id (what a second pass over the
        same records stops at)."""
        sql = "SELECT id, record FROM decisions WHERE 1 = 1"
        params: list[object] = []
        for clause, value in (
            ("decided_at >= ?", which.since),
            ("decided_at < ?", which.until),
            ("run_id = ?", which.run_id),
            ("rule = ?", which.rule),
        ):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        span = (0, None if up_to is None else up_to + 1)
        if limit:
            # The newest ``limit`` are found newest first, counted by id, then read again
            # oldest first as the rest are: holding them to print them oldest first took
            # memory in proportion (574 MB for --limit 100000).
            found = self._newest(sql, params, which, limit, span)
            if found is None:
                return
            span = (found[0] - 1, found[1] + 1)
        yield from (row for row in self._paged(sql, params, span) if which.matches(row.record))

    def _newest(
        self,
        sql: str,
        params: list[object],
        which: AuditFilter,
        limit: int,
        span: tuple[int, int | None],
    ) -> tuple[int, int] | None:
        """The ids of the oldest and the newest of the ``limit`` newest records ``which``
        selects within ``span`` (None: none); a decision row never changes, so a second
        read of those ids selects the same ones."""
        newest = oldest = None
        count = 0
        for row in self._paged(sql, params, span, newest_first=True):
            if which.matches(row.record):
                newest = row.id if newest is None else newest
                oldest, count = row.id, count + 1
                if count >= limit:
                    break
        return None if newest is None or oldest is None else (oldest, newest)

    def _paged(
        self,
        sql: str,
        params: list[object],
        span: tuple[int, int | None] = (0, None),
        *,
        newest_first: bool = False,
    ) -> Iterator[Row]:
        """The rows of ``sql`` (``SELECT id, record ... WHERE ...``) with an id between
        ``span``'s (both excluded; None: no end), by id, ``PAGE`` at a time, each page a
        read of its own that has ended before a row is handed on. One read held across
        the whole listing held it for as long as the audit's reader (`modbot audit |
        less`) took: the running bot could not reset its -wal meanwhile, which grew with
        every item it recorded. A decision row is never changed, and rows are committed
        in the order of their ids, so the pages join up. (The id's bounds are one pair,
        moved page by page: SQLite uses only one pair for its range, and a fixed bound
        beside the moving one could make each page scan from the start.)"""
        after, before = span
        order = "DESC" if newest_first else "ASC"
        while True:
            page_sql = sql + " AND id > ?" + (" AND id < ?" if before is not None else "")
            page_sql += f" ORDER BY id {order} LIMIT ?"
            page_params = [*params, after, *([before] if before is not None else []), PAGE]
            try:
                page = self._db.execute(page_sql, page_params).fetchall()
            except sqlite3.Error as exc:
                raise StateError(database_problem(self.path, exc)) from None
            for row_id, record in page:
                yield Row(int(row_id), json.loads(record))
            if len(page) < PAGE:
                return
            if newest_first:
                before = int(page[-1][0])
            else:
                after = int(page[-1][0])


def unknown_rule(store: Store | Records, which: AuditFilter) -> str | None:
    """When ``which.rule`` names no rule ever recorded (a typo, a renamed rule),
    ``which.action`` no kind of action, or ``which.status`` no outcome: says so, with
    the closest name, or the names there are; else None."""
    from modbot.undo import UNDO_KINDS  # (modbot.undo imports this module)

    kinds = sorted({*ACTIONS, *UNDO_KINDS})
    if which.action is not None and which.action not in kinds:
        said = f"no action is called {which.action!r}"
        return _closest(said, which.action, kinds, f"the kinds: {', '.join(kinds)}")
    if which.status is not None and which.status not in STATUSES:
        said = f"no action outcome is called {which.status!r}"
        return _closest(said, which.status, STATUSES, f"the outcomes: {', '.join(STATUSES)}")
    if which.rule is None:
        return None
    names = store.rule_names()
    if which.rule in names:
        return None
    said = f"no rule named {which.rule!r} was ever recorded in this state file"
    if not names:
        return said + " (no rule has matched anything yet)"
    shown = ", ".join(repr(n) for n in names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return _closest(said, which.rule, names, f"the rules recorded: {shown}{more}")


def _closest(said: str, word: str, names: list[str], else_: str) -> str:
    """``said``, then the names closest to ``word`` ("did you mean"), or ``else_``."""
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    if close:
        return said + "; did you mean " + " or ".join(repr(n) for n in close) + "?"
    return f"{said}; {else_}"


def _who(record: dict) -> str:
    item = record.get("item") or {}
    actor = item.get("author") or ""
    return actor_handle(actor) or actor or str(item.get("author_id") or "-")


def _actions(record: dict) -> str:
    words = [f"{a.get('action')}:{a.get('status')}" for a in record.get("actions") or []]
    if record.get("undo_of") is not None:
        # an undo whose every action was left as it is, not possible or failed undid
        # nothing: not to be read as the decision undone
        undid = any(a.get("status") == "done" for a in record.get("actions") or [])
        words.insert(0, f"undo of #{record['undo_of']}{'' if undid else ' (nothing undone)'}:")
    if not words and record.get("skipped"):
        words.append(f"not checked: {record['skipped']}")
    if record.get("exempt"):
        # a rule matched and an exemption stopped (some of) its actions: said, or the
        # line read as a bot that failed to act
        words.append(f"exempt: {record['exempt']}")
    return " ".join(words) or "-"


HEADER = ("ID", "TIME (UTC)", "MODE", "ITEM", "AUTHOR", "RULE", "IMAGE", "WHY", "ACTIONS")


def _image(record: dict) -> str:
    """The image's SHA-256, its first 12 hex digits (what `--json` shows in full)."""
    sha = (record.get("image") or {}).get("sha256")
    return sha[:12] if isinstance(sha, str) and sha else "-"


def _why(record: dict) -> str:
    """What matched: each label with its score, each hash list with how it matched."""
    scores = record.get("scores") or {}
    words = []
    for label in record.get("labels") or []:
        score = scores.get(label) if isinstance(scores, dict) else None
        number = isinstance(score, int | float) and not isinstance(score, bool)
        words.append(f"{label} {score:+.4f}" if number else str(label))
    hashes = record.get("hash_match")
    if isinstance(hashes, dict):
        words += [f"{name}: {how}" for name, how in hashes.items()]
    return ", ".join(w.replace("  ", " ") for w in words) or "-"


def _cells(row: Row) -> tuple[str, ...]:
    r = row.record
    return (
        str(row.id),
        str(r.get("decided_at", "")).replace("T", " ").rstrip("Z"),
        "dry-run" if r.get("dry_run") else "live",
        item_key(r) or "-",
        _who(r),
        r.get("rule") or "-",
        _image(r),
        _why(r),
        _actions(r),
    )


def table_lines(rows: Callable[[int | None], Iterable[Row]]) -> Iterator[str]:
    """The table's lines, streamed: ``rows(up_to)`` is read twice, once for the columns'
    widths, then (``up_to``: the last id the first read saw, so records added meanwhile
    stay out) for the lines, so no record is held. Nothing, not even the header, when
    there is no row."""
    widths = [len(cell) for cell in HEADER[:-1]]
    last = None
    for row in rows(None):
        last = row.id if last is None else max(last, row.id)
        for i, cell in enumerate(_cells(row)[:-1]):
            widths[i] = max(widths[i], len(cell))
    if last is None:
        return
    yield _line(HEADER, widths)
    for row in rows(last):
        yield _line(_cells(row), widths)


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]


def render_table(rows: Iterable[Row]) -> str:
    """One line per record: id, time, dry run or live, item, author, rule, the image's
    SHA-256 (12 digits), what matched (labels with scores, hash lists), actions."""
    held = list(rows)
    if not held:
        return _line(HEADER, [len(cell) for cell in HEADER[:-1]])
    return "\n".join(table_lines(lambda _up_to: held))


def json_chunks(rows: Iterable[Row], which: AuditFilter) -> Iterator[str]:
    """``{"filter": {...}, "records": [record + "id"]}``, records as stored, a record
    at a time."""
    chosen = {k: v for k, v in vars(which).items() if v not in (None, False)}
    shown = json.dumps(chosen, indent=2, sort_keys=True).replace("\n", "\n  ")
    yield f'{{\n  "filter": {shown},\n  "records": ['
    first = True
    for row in rows:
        text = json.dumps(row.to_dict(), indent=2, sort_keys=True).replace("\n", "\n    ")
        yield ("\n    " if first else ",\n    ") + text
        first = False
    yield "]\n}" if first else "\n  ]\n}"
