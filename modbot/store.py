"""SQLite state: cursors, seen items, verdict cache, decisions (the audit), actions done.

One file (``MODBOT_STATE``), WAL journal. The pipeline writes one transaction per item:
its decisions and its "seen" mark commit together, so a process killed at any moment
(even ``kill -9``) either recorded the item or will look at it again. Before an item's
actions are sent, its decisions and planned actions go into the journal (write-ahead);
each action is *claimed* (status ``sending``) in one IMMEDIATE transaction before it is
sent, under a unique (kind, target) key, and recorded ``done`` the moment Lemmy
confirmed it. A claim is atomic across processes, so two processes never send the same
action, and the safety valve counts claims as they are made. After a crash, the claims
and journal entries left behind say exactly what was in flight (see
``modbot.pipeline.Pipeline.recover``). No image bytes are ever stored here.

The file holds the bot's login token: it and its ``-wal``/``-shm`` files are made
readable by their owner only each time a store is opened. A file that is not a usable
SQLite database (corrupt, truncated, a directory, not writable) is a ``StateError``
naming the file and what to do.

One module because it is one SQLite schema: the tables, their migrations and the
transactions that span tables (a claim counts the safety valve) belong together.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modbot.actions.kinds import DESTRUCTIVE
from modbot.errors import StateError
from modbot.model import utc_iso

log = logging.getLogger("modbot.store")

__all__ = ["SENDING", "Claim", "KnownFile", "StateError", "Store", "utc_iso"]
# An action claimed and being sent: Lemmy may or may not have done it yet.
SENDING = "sending"
# a file's aliases asked at a time (Store._decisions_showing)
ALIAS_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    scope TEXT NOT NULL, kind TEXT NOT NULL, item_id TEXT NOT NULL, updated TEXT NOT NULL,
    seen_at REAL NOT NULL, PRIMARY KEY (scope, kind, item_id));
CREATE TABLE IF NOT EXISTS verdicts (
    sha256 TEXT NOT NULL, concept_version TEXT NOT NULL, verdict TEXT NOT NULL,
    prompts TEXT, PRIMARY KEY (sha256, concept_version));
CREATE TABLE IF NOT EXISTS prompt_lists (concept_version TEXT PRIMARY KEY, prompts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, decided_at TEXT NOT NULL,
    item_kind TEXT, item_id TEXT, sha256 TEXT, rule TEXT, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_run ON decisions (run_id);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions (decided_at);
CREATE INDEX IF NOT EXISTS decisions_sha256 ON decisions (sha256);
CREATE INDEX IF NOT EXISTS decisions_alias ON decisions (json_extract(record, '$.image.alias'));
CREATE INDEX IF NOT EXISTS decisions_author ON decisions (json_extract(record, '$.item.author_id'));
CREATE TABLE IF NOT EXISTS actions (
    kind TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL, detail TEXT,
    run_id TEXT, done_at REAL NOT NULL, item TEXT, PRIMARY KEY (kind, target));
CREATE INDEX IF NOT EXISTS actions_at ON actions (done_at);
CREATE TABLE IF NOT EXISTS journal (
    item_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, records TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploaders (
    alias TEXT PRIMARY KEY, person_id INTEGER, actor_id TEXT, published TEXT);
CREATE TABLE IF NOT EXISTS exempt_files (
    scope TEXT NOT NULL, item_key TEXT NOT NULL, sha256 TEXT NOT NULL, alias TEXT NOT NULL,
    why TEXT NOT NULL, noted_at REAL NOT NULL, PRIMARY KEY (scope, item_key, sha256, alias));
CREATE INDEX IF NOT EXISTS exempt_files_sha256 ON exempt_files (scope, sha256);
CREATE INDEX IF NOT EXISTS exempt_files_alias ON exempt_files (scope, alias);
CREATE TABLE IF NOT EXISTS confirmed (
    sha256 TEXT PRIMARY KEY, verdict TEXT NOT NULL, label TEXT NOT NULL,
    hashes TEXT NOT NULL, first_seen TEXT NOT NULL, confirmed_at TEXT NOT NULL,
    decision_id INTEGER);
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, hashes TEXT NOT NULL, etag TEXT,
    last_modified TEXT, checked_at REAL NOT NULL, not_taken TEXT, hashed_with TEXT);
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY, body BLOB NOT NULL, signature BLOB NOT NULL,
    generated_at TEXT NOT NULL, fetched_at REAL NOT NULL, etag TEXT, last_modified TEXT);
"""


# Columns added to a table after it was first released: a state an older modbot made
# gets them when opened (all TEXT, NULL in the rows it holds).
_COLUMNS_ADDED = (
    ("actions", "item"),  # actions name the item they were done for
    ("verdicts", "prompts"),  # prompt scores packed
    ("files", "not_taken"),  # the hash kinds not taken of a file, and by what
    ("files", "hashed_with"),
)


@dataclass(frozen=True)
class Claim:
    """What ``Store.claim_action`` found: ``claimed`` (send it now), ``done`` (done or
    covered already), ``sending`` (claimed by a run that has not recorded the result:
    ``row`` says which), ``valve`` (the safety valve holds it back; ``tripped``: this
    claim tripped it), ``held`` (the claim's own check said why not: ``why``)."""

    outcome: str
    row: dict | None = None
    tripped: dict | None = None
    why: str | None = None


@dataclass(frozen=True)
class KnownFile:
    """What a download found (``Store.known_file``): the file's SHA-256 and the hashes
    taken of it, the server's validators for a conditional request, and when. The
    kinds tried and not taken of it (kind -> why) hold under ``hashed_with`` (the
    hashing code, ``modbot.hashes.hashing_version``, and the decode budget:
    ``Acquirer._hashed_with``) only: another may take them."""

    sha256: str
    hashes: dict[str, str]
    etag: str | None
    last_modified: str | None
    checked_at: float
    hashes_not_taken: dict[str, str] = field(default_factory=dict)
    hashed_with: str | None = None


_SIDE_FILES = ("-wal", "-shm")

# held back at most, before the thread that holds one more commits them itself
_LATER_MAX = 64
_PUT_VERDICT = (
    "INSERT OR REPLACE INTO verdicts (sha256, concept_version, verdict, prompts) "
    "VALUES (?, ?, ?, ?)"
)
_PUT_FILE = (
    "INSERT OR REPLACE INTO files (key, sha256, hashes, etag, last_modified, checked_at, "
    "not_taken, hashed_with) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_GET_FILE = (
    "SELECT key, sha256, hashes, etag, last_modified, checked_at, not_taken, hashed_with "
    "FROM files WHERE key = ?"
)


def _verdict_row(sha256: str, version: str, verdict: dict, packed: str | None) -> tuple:
    """The verdicts row: the verdict's JSON without its prompt scores when they are packed."""
    if packed is not None:
        verdict = {k: v for k, v in verdict.items() if k != "prompt_scores"}
    return (sha256, version, json.dumps(verdict, sort_keys=True), packed)


def _owner_only(path: Path) -> None:
    """chmod 600 when group or others may read or write: the file holds the login token."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_IMODE(mode) & 0o077 == 0:
        return
    try:
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except OSError as exc:
        owner = path.stat().st_uid
        raise StateError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}) and modbot "
            f"(uid {os.getuid()}) cannot make it owner-only: {exc.strerror}. It holds the "
            f"bot's login token: run `chmod 600 {path}` as its owner (uid {owner}), or run "
            "modbot as that user"
        ) from None


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:  # not there yet: the folder is made, or fails to be, later
        return False


# The tables every modbot state has had since the first release: a file with tables
# but not these is another program's (a wrong MODBOT_STATE), never to be written.
STATE_TABLES = frozenset({"cursors", "seen", "decisions", "actions"})


_OWN_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA))


def _foreign_file_problem(path: Path) -> str | None:
    """Why ``path`` is another program's SQLite file (read only: nothing written, its mode
    kept), or None: no file, an empty one, or a modbot state."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return None  # said in SQLite's own words when it is opened
    missing = sorted(STATE_TABLES - tables)
    # a table modbot never makes, and some of its own missing: another program's. (Only
    # modbot's tables, some missing: one being made by a modbot process starting beside
    # this one, which writes the schema a table at a time.)
    if missing and tables - _OWN_TABLES - {"sqlite_sequence"}:
        return (
            f"{path} is an SQLite file but no modbot state file (it has no "
            f"{' or '.join(missing)} table): a wrong MODBOT_STATE? It was left as it is"
        )
    return None


def _open_problem(path: Path) -> str | None:
    """What stops SQLite from using ``path``, in words; None when nothing visible does."""
    if path.is_dir():
        return (
            f"the state file {path} is a directory: set MODBOT_STATE to a file in it, "
            f"e.g. {path / 'modbot.sqlite3'}"
        )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        return f"the state file's folder {parent} is not a directory: fix MODBOT_STATE"
    if path.exists() and not path.is_file():
        return f"the state file {path} is not a regular file: set MODBOT_STATE to a file"
    if _read_only_filesystem(path if path.exists() else parent):
        # os.access says "not writable" there too; the mode and owner are not the cause
        return (
            f"the state file {path} is on a filesystem mounted read-only: modbot writes "
            "its state (its decisions, the actions it did, its cursors). Mount it "
            "read-write (a container's volume without :ro), or set MODBOT_STATE to a "
            "file on a writable disk"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return (
            f"the state file {path} is not readable and writable by modbot (uid "
            f"{os.getuid()}): fix its owner or mode, or set MODBOT_STATE elsewhere"
        )
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return (
            f"modbot (uid {os.getuid()}) cannot write in {parent}, the state file's "
            f"folder (SQLite keeps {path.name}-wal and {path.name}-shm beside it): "
            "make the folder writable or set MODBOT_STATE elsewhere"
        )
    return None


def database_problem(path: str | Path, exc: sqlite3.Error) -> str:
    """What went wrong with the state file ``path``, in words, and what to do."""
    text = str(exc)
    # SQLite's primary result code, where SQLite raised it (not an error made up here)
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        # A write failed part-way: SQLite rolled its transaction back, so what was
        # recorded before is whole, and what was being recorded is looked at again.
        return (
            f"the disk holding the state file {path} is full ({text}): what modbot was "
            "recording was not recorded, and is looked at again next run (an action "
            "already sent is checked with Lemmy, never sent twice). Free space on that "
            f"disk (`df -h {Path(path).parent}`), then run modbot again."
        )
    if code == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
        return (
            f"reading or writing the state file {path} failed ({text}): its disk or "
            "filesystem reports an error (see `dmesg`; a disk going bad, a network "
            "filesystem gone, a quota reached). What modbot was recording was not "
            "recorded; run modbot again once the disk is sound."
        )
    if code == sqlite3.SQLITE_READONLY or "readonly database" in text:
        return (
            f"the state file {path} cannot be written ({text}): its filesystem is "
            "mounted read-only, or the file, its -wal or -shm, or its folder became "
            "read-only for modbot's user. modbot must write its state: make it writable "
            "again, then run modbot again."
        )
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in text or "busy" in text:
            return (
                f"the state file {path} stayed locked by another process for 30 s "
                f"({text}); try again when it is done"
            )
        return (
            f"cannot open the state file {path} ({text}): check that modbot's user can "
            "write it and its folder, and that it is on a local disk"
        )
    return (
        f"the state file {path} is not a usable SQLite database ({text}): it is "
        "corrupt, truncated or another kind of file. Stop every modbot process using "
        "it, then salvage it (`sqlite3 FILE .recover | sqlite3 NEW`, then point "
        "MODBOT_STATE at NEW) or restore it from a backup. Only as a last resort move it "
        "aside to start afresh: modbot then forgets which actions it did, and may report, "
        "remove or ban again within its lookback."
    )


class Store:
    """The bot's state in one SQLite file. Safe to share between threads."""

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, read_only: bool = False
    ) -> None:
        """``busy_timeout``: how long a statement waits while another process holds the
        lock it needs, before it fails with "database is locked". ``read_only``: read an
        existing state and write nothing (``modbot undo``'s preview): no schema upgrade,
        no journal mode, no file mode set, a killed process's -wal left as it is; a
        write raises ``StateError``; used by the thread that opened it only."""
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._depth = 0
        self._held = threading.local()  # cursor writes held back (``cursors_held``)
        self._prompt_lists: dict[str, tuple[str, ...]] = {}  # by concept version, as stored
        # Cache writes held back (``later=True``): statements by what they write. The next
        # transaction commits them first (see ``_flush_later``).
        self._later: dict[tuple[str, ...], tuple[str, tuple]] = {}
        self._later_lock = threading.Lock()  # not the store's: held for a dict's update only
        if read_only:
            self._open_read_only()
            return
        problem = _open_problem(self.path) or _foreign_file_problem(self.path)
        if problem:
            raise StateError(problem)
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                # It holds the bot's login token: readable by the bot's user only.
                self.path.touch(mode=0o600)
        except OSError as exc:
            raise StateError(
                f"cannot create the state file {self.path}: {exc.strerror}; "
                "set MODBOT_STATE to a file modbot's user can write"
            ) from None
        # Before SQLite opens it: the -wal and -shm it creates take the file's mode.
        _owner_only(self.path)
        try:
            self._db = sqlite3.connect(
                str(self.path),
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout,
            )
        except sqlite3.Error as exc:
            raise StateError(database_problem(self.path, exc)) from None
        self._db.row_factory = sqlite3.Row
        # Two processes opening a new state at once can meet in SQLite's locks while one
        # switches the file to WAL or creates the tables; SQLite then answers "locked" at
        # once rather than waiting. Setting up again after a moment is safe (every step is
        # idempotent), for as long as the connection's own busy timeout.
        deadline = time.monotonic() + 30
        while True:
            try:
                self._set_up()
                break
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                self._db.close()
                raise StateError(database_problem(self.path, exc)) from None
            except sqlite3.Error as exc:
                self._db.close()
                raise StateError(database_problem(self.path, exc)) from None
        for suffix in _SIDE_FILES:  # ones left by an older run with a looser mode
            _owner_only(self.path.with_name(self.path.name + suffix))

    def _open_read_only(self) -> None:
        from modbot.audit import read_only_connection  # (modbot.audit imports this module)

        try:
            db = read_only_connection(self.path)
        except sqlite3.Error as exc:
            raise StateError(database_problem(self.path, exc)) from None
        db.isolation_level = None
        db.row_factory = sqlite3.Row
        self._db = db
        try:
            self._shadow_missing_schema()
        except sqlite3.Error as exc:
            db.close()
            raise StateError(database_problem(self.path, exc)) from None

    def _shadow_missing_schema(self) -> None:
        """A state an older modbot wrote lacks tables and columns added since, which the
        writable store adds when it opens it. Read-only, they are shadowed instead, in
        the connection's own TEMP schema (searched before the file's, never written to
        it): a missing table as an empty one, a missing column as NULL in every row."""
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        for create in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\);", _SCHEMA, re.S):
            if create[0] not in tables:
                self._db.execute(f"CREATE TEMP TABLE {create[0]} ({create[1]})")
        added: dict[str, list[str]] = {}
        for table, column in self._columns_missing():
            added.setdefault(table, []).append(f"NULL AS {column}")
        for table, columns in added.items():
            self._db.execute(
                f"CREATE TEMP VIEW {table} AS SELECT *, {', '.join(columns)} FROM main.{table}"
            )

    def _set_up(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a killed process (not a power cut) and keeps a
        # commit per item cheap.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if self._columns_missing():
            # Checked again and added in one write transaction: two processes opening
            # an older state at once (the daemon and the gate after an upgrade) would
            # otherwise both see a column missing, and the second one's ALTER fail.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for table, column in self._columns_missing():
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
                self._db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        # Reads the schema and the root pages: a truncated file fails here, not later.
        self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        for table in ("cursors", "actions", "journal"):
            self._db.execute(f"SELECT max(rowid) FROM {table}").fetchone()

    def _columns_missing(self) -> list[tuple[str, str]]:
        """The (table, column) pairs of ``_COLUMNS_ADDED`` this state lacks."""
        missing = []
        for table, column in _COLUMNS_ADDED:
            columns = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                missing.append((table, column))
        return missing

    def close(self) -> None:
        with self._lock:
            held = len(self._later)
            try:
                if held:
                    with self.transaction():
                        pass  # commits what was held back
            except sqlite3.Error as exc:  # only cache entries: the files are looked at again
                log.warning("%d cache entries not saved: %s", held, exc)
            finally:
                self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together; nested uses join the outer transaction.
        Cache writes held back (``later=True``) commit with the first transaction after
        them."""
        if self.read_only:
            raise StateError(f"the state file {self.path} was opened read-only: not written")
        with self._lock:
            outer = self._depth == 0
            later: dict[tuple[str, ...], tuple[str, tuple]] = {}
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                if outer:
                    later = self._flush_later()
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    # SQLite rolls back by itself on some failures (a full disk, an I/O
                    # error): a ROLLBACK then fails, and its error would hide the real one.
                    if self._db.in_transaction:
                        with suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    self._hold_again(later)
                raise
            self._depth -= 1
            if outer:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT (disk full, locked) can leave SQLite inside the
                    # transaction, and every later BEGIN would fail: roll it back.
                    if self._db.in_transaction:
                        with suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    self._hold_again(later)
                    raise

    # -- cache writes held back. The downloads' thread caches each new file's verdict and
    # what its link held; written at once, each took a transaction of its own, and the
    # thread waited for the store's lock while the deciding thread held it for an item.
    # Held back, they commit with the next transaction: in a sweep the item's own, which
    # records the decisions made on that verdict, so a decision is never committed
    # without its verdict. At most _LATER_MAX wait (then the writer commits them); a
    # process killed loses only these cache entries (the files are downloaded again).
    def _write_later(self, key: tuple[str, ...], sql: str, params: tuple) -> None:
        with self._later_lock:
            self._later[key] = (sql, params)
            full = len(self._later) >= _LATER_MAX
        if full:
            with self.transaction():
                pass

    def _held_later(self, key: tuple[str, ...]) -> tuple | None:
        with self._later_lock:
            held = self._later.get(key)
        return None if held is None else held[1]

    def _flush_later(self) -> dict[tuple[str, ...], tuple[str, tuple]]:
        """Inside a transaction: write what was held back; returns it, to hold it again
        if the transaction rolls back."""
        with self._later_lock:
            later, self._later = self._later, {}
        for sql, params in later.values():
            self._db.execute(sql, params)
        return later

    def _hold_again(self, later: dict[tuple[str, ...], tuple[str, tuple]]) -> None:
        with self._later_lock:
            for key, write in later.items():
                self._later.setdefault(key, write)  # a newer write of the same key wins

    def _exec(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self.transaction():
            return self._db.execute(sql, params)

    def _one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    # -- cursors: small named positions (poll watermarks, sweep position, valve state)
    def get_cursor(self, name: str) -> str | None:
        row = self._one("SELECT value FROM cursors WHERE name = ?", (name,))
        return row["value"] if row else None

    def set_cursor(self, name: str, value: str | None) -> None:
        held = getattr(self._held, "writes", None)
        if held is not None:
            held.append((name, value))
            return
        self._write_cursor(name, value)

    def _write_cursor(self, name: str, value: str | None) -> None:
        if value is None:
            self._exec("DELETE FROM cursors WHERE name = ?", (name,))
        else:
            self._exec(
                "INSERT INTO cursors (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    @contextmanager
    def cursors_held(self) -> Iterator[list[tuple[str, str | None]]]:
        """Cursor writes this thread makes inside are not applied but collected in the
        list yielded (``set_cursors`` applies them later). A pipeline reads the next page
        of a listing while the one before is still being decided: the listing's position
        moves on only once everything before it is recorded."""
        writes: list[tuple[str, str | None]] = []
        outer = getattr(self._held, "writes", None)
        self._held.writes = writes
        try:
            yield writes
        finally:
            self._held.writes = outer

    def set_cursors(self, writes: list[tuple[str, str | None]]) -> None:
        """Apply held cursor writes, in the order they were made, in one transaction."""
        if writes:
            with self.transaction():
                for name, value in writes:
                    self._write_cursor(name, value)

    # -- seen items: (kind, id) with the `updated` stamp looked at; an edit changes it
    def is_seen(self, scope: str, kind: str, item_id: Any, updated: str | None) -> bool:
        row = self._one(
            "SELECT updated FROM seen WHERE scope = ? AND kind = ? AND item_id = ?",
            (scope, kind, str(item_id)),
        )
        return row is not None and row["updated"] == (updated or "")

    def mark_seen(self, scope: str, kind: str, item_id: Any, updated: str | None) -> None:
        self._exec(
            "INSERT INTO seen (scope, kind, item_id, updated, seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(scope, kind, item_id) DO UPDATE SET updated = excluded.updated, "
            "seen_at = excluded.seen_at",
            (scope, kind, str(item_id), updated or "", time.time()),
        )

    def seen_before(self, scope: str, kind: str, item_id: Any) -> bool:
        """Whether the item was marked seen at any version."""
        return self.seen_mark(scope, kind, item_id) is not None

    def seen_mark(self, scope: str, kind: str, item_id: Any) -> tuple[str, float] | None:
        """The item's "seen" mark in ``scope``: the ``updated`` stamp its last recorded
        look saw and when that look was recorded (None: never marked)."""
        row = self._one(
            "SELECT updated, seen_at FROM seen WHERE scope = ? AND kind = ? AND item_id = ?",
            (scope, kind, str(item_id)),
        )
        return None if row is None else (str(row["updated"]), float(row["seen_at"]))

    def seen_count(self, scope: str) -> int:
        row = self._one("SELECT count(*) AS n FROM seen WHERE scope = ?", (scope,))
        return int(row["n"]) if row else 0

    # -- verdict cache: sha256 + concept version -> verdict JSON
    # A verdict's prompt scores (every prompt's similarity, ~230 of them) are 95 % of its
    # JSON, and the prompts are the same for every verdict of a concept version: they are
    # kept once per version (prompt_lists), and each verdict keeps its similarities as
    # integers in ten-thousandths (they are rounded to 4 decimals), in the list's order.
    # That makes a cached verdict take ~2 KB of the state file instead of ~9 KB, and
    # about half as long to write and to read (the downloads' thread does both). A
    # verdict whose scores do not fit (another worker's) is kept whole.
    def get_verdict(self, sha256: str, concept_version: str) -> dict | None:
        held = self._held_later(("verdict", sha256, concept_version))
        if held is not None:
            text, prompts = held[2], held[3]
        else:
            row = self._one(
                "SELECT verdict, prompts FROM verdicts WHERE sha256 = ? AND concept_version = ?",
                (sha256, concept_version),
            )
            if row is None:
                return None
            text, prompts = row["verdict"], row["prompts"]
        verdict = json.loads(text)
        if prompts is not None:
            names = self._prompt_list(concept_version)
            packed = json.loads(prompts)
            if names is None or len(names) != len(packed):
                return None  # cannot be rebuilt: classified again, as if never cached
            verdict["prompt_scores"] = {n: k / 10_000 for n, k in zip(names, packed)}
        return verdict

    def put_verdict(
        self, sha256: str, concept_version: str, verdict: dict, *, later: bool = False
    ) -> None:
        """Cache a verdict. ``later``: with the next transaction (see ``_write_later``)."""
        if later and self._prompt_list(concept_version) is not None:
            # the version's prompt list is stored already: nothing to write but the row
            packed = self._pack_prompts(concept_version, verdict.get("prompt_scores"))
            self._write_later(
                ("verdict", sha256, concept_version),
                _PUT_VERDICT,
                _verdict_row(sha256, concept_version, verdict, packed),
            )
            return
        with self.transaction():
            packed = self._pack_prompts(concept_version, verdict.get("prompt_scores"))
            self._db.execute(_PUT_VERDICT, _verdict_row(sha256, concept_version, verdict, packed))

    def _pack_prompts(self, concept_version: str, scores: Any) -> str | None:
        """The verdict's prompt scores as the JSON list of ten-thousandths, in the order of
        the version's prompt list (recorded by the first verdict of the version); None
        when they cannot be packed exactly (then the verdict is kept whole)."""
        if not isinstance(scores, dict) or not scores:
            return None
        import numpy as np  # loaded already with the classifier; vectorised: ~230 values

        similarities = np.array(list(scores.values()))
        if similarities.dtype != np.float64:  # not all numbers: kept as they are
            return None
        names = tuple(scores)
        with np.errstate(invalid="ignore"):
            tenths = np.rint(similarities * 10_000)
            # rounded to 4 decimals (not so from another worker?): else they would not
            # come back as they were; inf and nan fail this too
            if not np.array_equal(tenths / 10_000, similarities):
                return None
        if np.abs(tenths).max() > 100_000_000:  # a similarity is within [-1, 1]
            return None
        packed = tenths.astype(np.int64).tolist()
        known = self._prompt_list(concept_version)
        if known is None:
            self._db.execute(
                "INSERT OR IGNORE INTO prompt_lists (concept_version, prompts) VALUES (?, ?)",
                (concept_version, json.dumps(names)),
            )
            known = self._prompt_list(concept_version)
        if known != names:
            return None
        return json.dumps(packed, separators=(",", ":"))

    def _prompt_list(self, concept_version: str) -> tuple[str, ...] | None:
        names = self._prompt_lists.get(concept_version)
        if names is None:
            row = self._one(
                "SELECT prompts FROM prompt_lists WHERE concept_version = ?", (concept_version,)
            )
            if row is None:
                return None
            names = self._prompt_lists[concept_version] = tuple(json.loads(row["prompts"]))
        return names

    # -- known files: what a pict-rs alias or an image URL held when last downloaded
    def known_file(self, key: str) -> KnownFile | None:
        """``key``: ``alias:<alias>`` (a pict-rs alias never changes its file) or a URL."""
        # a held row is _PUT_FILE's; the columns are asked in the same order
        row = self._held_later(("file", key)) or self._one(_GET_FILE, (key,))
        if row is None:
            return None
        _key, sha256, hashes, etag, modified, checked_at, not_taken, hashed_with = row
        return KnownFile(
            sha256,
            json.loads(hashes),
            etag,
            modified,
            checked_at,
            json.loads(not_taken) if not_taken else {},
            hashed_with,
        )

    def put_known_file(self, key: str, known: KnownFile, *, later: bool = False) -> None:
        """Remember what ``key`` held. ``later``: with the next transaction."""
        row = (
            key,
            known.sha256,
            json.dumps(known.hashes, sort_keys=True),
            known.etag,
            known.last_modified,
            known.checked_at,
            json.dumps(known.hashes_not_taken, sort_keys=True) if known.hashes_not_taken else None,
            known.hashed_with,
        )
        if later:
            self._write_later(("file", key), _PUT_FILE, row)
        else:
            self._exec(_PUT_FILE, row)

    # -- decisions: the audit rows (shape in docs/ARCHITECTURE.md)
    def add_decision(self, record: dict) -> int:
        item, image = record.get("item") or {}, record.get("image") or {}
        cur = self._exec(
            "INSERT INTO decisions (run_id, decided_at, item_kind, item_id, sha256, rule, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record["run_id"],
                record["decided_at"],
                item.get("kind"),
                None if item.get("id") is None else str(item.get("id")),
                image.get("sha256"),
                record.get("rule"),
                json.dumps(record, sort_keys=True),
            ),
        )
        assert cur.lastrowid is not None  # an INSERT sets it
        return int(cur.lastrowid)

    def decisions(
        self, run_id: str | None = None, since: datetime | str | None = None
    ) -> list[dict]:
        """Decision records, oldest first; filtered by run and/or by ``decided_at >= since``."""
        sql, params = "SELECT record FROM decisions WHERE 1 = 1", []
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        if since is not None:
            sql += " AND decided_at >= ?"
            params.append(since if isinstance(since, str) else utc_iso(since))
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", tuple(params)).fetchall()
        return [json.loads(r["record"]) for r in rows]

    def decision_records(
        self, *, sha256: str | None = None, decision_id: int | None = None
    ) -> list[tuple[int, dict]]:
        """(id, record) of the decisions on one file (by SHA-256) or the one with this
        id, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, record FROM decisions WHERE sha256 = ? OR id = ? ORDER BY id",
                (sha256, decision_id),
            ).fetchall()
        return [(int(r["id"]), json.loads(r["record"])) for r in rows]

    # -- confirmed files: an admin's verdict on a file, what `modbot feed publish` writes
    def set_confirmed(self, sha256: str, entry: dict | None) -> None:
        """Record an admin's verdict on a file (``entry``: verdict, label, hashes,
        first_seen, confirmed_at, decision_id), replacing an earlier one; None withdraws it."""
        if entry is None:
            self._exec("DELETE FROM confirmed WHERE sha256 = ?", (sha256,))
            return
        self._exec(
            "INSERT OR REPLACE INTO confirmed (sha256, verdict, label, hashes, first_seen, "
            "confirmed_at, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sha256,
                entry["verdict"],
                entry["label"],
                json.dumps(entry["hashes"], sort_keys=True),
                entry["first_seen"],
                entry["confirmed_at"],
                entry.get("decision_id"),
            ),
        )

    def confirmed(self) -> list[dict]:
        """Every confirmed file, by SHA-256."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM confirmed ORDER BY sha256").fetchall()
        return [{**dict(r), "hashes": json.loads(r["hashes"])} for r in rows]

    # -- subscribed feeds: the last good copy of each (body and signature as fetched)
    def feed_copy(self, name: str, *, body: bool = True) -> dict | None:
        """The kept copy of feed ``name``; ``body=False``: all but its body and signature
        (what is checked each cycle, without reading megabytes)."""
        columns = "*" if body else "name, generated_at, fetched_at, etag, last_modified"
        row = self._one(f"SELECT {columns} FROM feeds WHERE name = ?", (name,))
        return dict(row) if row else None

    def feed_fetched(self, name: str, at: float) -> None:
        """The kept copy of feed ``name`` was checked at ``at`` (not modified, or the
        new one refused): the next fetch is a period later."""
        self._exec("UPDATE feeds SET fetched_at = ? WHERE name = ?", (at, name))

    def feed_validators(
        self, name: str, generated_at: str, etag: str | None, last_modified: str | None
    ) -> None:
        """The kept copy of feed ``name`` was served again (the same bytes) with these
        validators: the next request is conditional on them. Not when the copy kept is no
        longer the one of ``generated_at`` (another process kept a newer one meanwhile)."""
        self._exec(
            "UPDATE feeds SET etag = ?, last_modified = ? WHERE name = ? AND generated_at = ?",
            (etag, last_modified, name, generated_at),
        )

    def keep_feed_copy(self, name: str, copy: dict) -> None:
        self._exec(
            "INSERT OR REPLACE INTO feeds (name, body, signature, generated_at, fetched_at, "
            "etag, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                copy["body"],
                copy["signature"],
                copy["generated_at"],
                copy["fetched_at"],
                copy.get("etag"),
                copy.get("last_modified"),
            ),
        )

    def decision_rows(
        self,
        *,
        ids: list[int] | None = None,
        since: str | None = None,
        until: str | None = None,
        run_id: str | None = None,
        rule: str | None = None,
    ) -> list[tuple[int, dict]]:
        """(id, record) of the decisions (and undo records), oldest first; ``since`` and
        ``until`` are ``decided_at`` bounds as ``utc_iso`` writes them (``until`` excluded)."""
        sql = "SELECT id, record FROM decisions WHERE 1 = 1"
        params: list[object] = []
        for clause, value in (
            ("decided_at >= ?", since),
            ("decided_at < ?", until),
            ("run_id = ?", run_id),
            ("rule = ?", rule),
        ):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        if ids is not None:
            sql += f" AND id IN ({', '.join('?' for _ in ids)})"
            params.extend(ids)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", tuple(params)).fetchall()
        return [(int(r["id"]), json.loads(r["record"])) for r in rows]

    # -- a report's window: read as a stream, on a connection of its own
    def window_decisions(
        self, since: str | None, *, sharing_files: bool = False
    ) -> Iterator[tuple[int, dict]]:
        """(id, record) of the latest decision on each image of each item recorded since
        ``since`` (``decided_at``, as ``utc_iso`` writes it; None: all), oldest first:
        what ``modbot report`` decides again. Gate files and undo records are left out.
        ``sharing_files``: only those whose file (sha256 or pict-rs alias) an upload or
        stored file of the window also is. Read on a read-only connection of its own, so
        the rows stream (flat memory) while this store is used for other things."""
        window = (
            "SELECT max(id) AS id FROM decisions WHERE item_kind != 'incoming' "
            "AND decided_at >= ? AND json_extract(record, '$.undo_of') IS NULL "
            "GROUP BY item_kind, item_id, json_extract(record, '$.image.url'), "
            "json_extract(record, '$.image.location')"
        )
        sql = (
            f"WITH win AS ({window}) SELECT d.id, d.record FROM decisions AS d JOIN win USING (id)"
        )
        params: tuple = (since or "",)
        if sharing_files:
            files = (
                "SELECT f.sha256, f.item_id FROM decisions AS f JOIN win USING (id) "
                "WHERE f.item_kind IN ('upload', 'file')"
            )
            sql = (
                f"WITH win AS ({window}), files AS ({files}) SELECT d.id, d.record "
                "FROM decisions AS d JOIN win USING (id) WHERE d.sha256 IN "
                "(SELECT sha256 FROM files WHERE sha256 IS NOT NULL) OR "
                "json_extract(d.record, '$.image.alias') IN (SELECT item_id FROM files)"
            )
        return self._stream(sql + " ORDER BY d.id", params)

    def gate_window(self, since: str | None, after_id: int = 0) -> Iterator[tuple[int, dict]]:
        """(id, record) of the upload gate's records since ``since`` (None: all) and
        after the row ``after_id``, oldest first: every file ``modbot gate`` decided,
        accepted, refused, or decided without a verdict. Streamed like
        ``window_decisions``."""
        return self._stream(
            "SELECT id, record FROM decisions WHERE item_kind = 'incoming' "
            "AND decided_at >= ? AND id > ? ORDER BY id",
            (since or "", after_id),
        )

    def newest_gate_id(self, since: str | None) -> int:
        """The id of the newest upload gate record since ``since`` (0: none), without
        reading the records (every accepted upload has one)."""
        row = self._one(
            "SELECT MAX(id) FROM decisions WHERE item_kind = 'incoming' AND decided_at >= ?",
            (since or "",),
        )
        return int(row[0] or 0) if row is not None else 0

    def _stream(self, sql: str, params: tuple) -> Iterator[tuple[int, dict]]:
        """The rows of ``sql`` as (id, record), read on a read-only connection of their
        own, so they stream (flat memory) while this store is used for other things."""
        try:
            reader = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30
            )
        except sqlite3.Error as exc:
            raise StateError(database_problem(self.path, exc)) from None
        try:
            for row_id, record in reader.execute(sql, params):
                yield int(row_id), json.loads(record)
        finally:
            reader.close()

    def rule_names(self) -> list[str]:
        """The names of the rules the decision records carry, sorted (a whole-table read:
        ``modbot audit`` asks it only when a ``--rule`` selected nothing)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT rule FROM decisions WHERE rule IS NOT NULL"
            ).fetchall()
        return sorted(str(r[0]) for r in rows if r[0])

    def last_decision_id(self) -> int:
        """The newest decision row's id (0: none): where a part of a run begins."""
        row = self._one("SELECT coalesce(max(id), 0) AS id FROM decisions", ())
        return int(row["id"]) if row is not None else 0

    def has_decisions_since(self, since: str | None) -> bool:
        """Whether an item's decision (not the gate's, not an undo) is recorded since
        ``since`` (None: ever)."""
        row = self._one(
            "SELECT 1 FROM decisions WHERE decided_at >= ? AND item_kind != 'incoming' "
            "AND json_extract(record, '$.undo_of') IS NULL LIMIT 1",
            (since or "",),
        )
        return row is not None

    def decisions_after(
        self, after_id: int, *, run_id: str | None = None, limit: int = 500
    ) -> list[tuple[int, dict]]:
        """(id, record) of up to ``limit`` decisions recorded after the row ``after_id``
        (of ``run_id``), oldest first: read a run's decisions a batch at a time."""
        sql = "SELECT id, record FROM decisions WHERE id > ?"
        params: list[object] = [after_id]
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*params, limit)).fetchall()
        return [(int(r["id"]), json.loads(r["record"])) for r in rows]

    # -- actions done: unique (kind, target); never repeated once "done"
    def action(self, kind: str, target: str) -> dict | None:
        row = self._one(
            "SELECT kind, target, status, detail, run_id, done_at, item FROM actions "
            "WHERE kind = ? AND target = ?",
            (kind, target),
        )
        return dict(row) if row else None

    def record_action(
        self,
        kind: str,
        target: str,
        status: str,
        detail: str = "",
        run_id: str = "",
        at: float | None = None,
        item: str | None = None,
    ) -> float:
        """Record (kind, target)'s state, done for ``item`` (e.g. ``post:12``; kept when
        not given); returns its ``done_at`` (``at``, else now)."""
        at = time.time() if at is None else at
        self._exec(
            "INSERT INTO actions (kind, target, status, detail, run_id, done_at, item) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, target) DO UPDATE SET "
            "status = excluded.status, detail = excluded.detail, run_id = excluded.run_id, "
            "done_at = excluded.done_at, item = coalesce(excluded.item, actions.item)",
            (kind, target, status, detail, run_id, at, item),
        )
        return at

    def claim_action(
        self,
        kind: str,
        target: str,
        run_id: str,
        detail: str,
        *,
        again: bool = False,
        valve_limit: int | None = None,
        valve_since: float = 0.0,
        valve_reason: str = "",
        item: str | None = None,
        held: Callable[[], str | None] | None = None,
        found: Callable[[dict], None] | None = None,
    ) -> Claim:
        """Claim (kind, target) before sending it, in one IMMEDIATE transaction: whatever
        other process claims at the same moment waits for this one and then sees the
        claim. ``again``: claim even when done (what was done has run out). ``held()``:
        asked in the same transaction, reading this store: why not to claim it (what
        another process claimed or recorded), or None; a check made before the claim
        would leave a window for the other process to claim in between. ``found(row)``:
        called in the same transaction when the action is found done already (nothing
        claimed): what the caller keeps about that is written before another process,
        whose own claim reads it, can act (a ban another decision asked for too). With
        ``valve_limit``, the action counts against the safety valve: when ``valve_limit``
        destructive actions (``modbot.actions.kinds.DESTRUCTIVE``) were claimed or done
        since ``valve_since``, nothing is claimed and the valve trips (``valve_reason``),
        in the same transaction."""
        with self.transaction():
            row = self.action(kind, target)
            if row and row["status"] in ("done", "covered") and not again:
                if found is not None:
                    found(dict(row))
                return Claim("done", row)
            if row and row["status"] == SENDING:
                return Claim(SENDING, row)
            why = held() if held is not None else None
            if why is not None:
                return Claim("held", why=why)
            if valve_limit is not None:
                tripped = self.valve_tripped()
                if tripped:
                    return Claim("valve")
                if self.destructive_done_since(valve_since) >= valve_limit:
                    self.trip_valve(valve_reason)
                    return Claim("valve", tripped=self.valve_tripped())
            self.record_action(kind, target, SENDING, detail, run_id, item=item)
            return Claim("claimed")

    def image_purged(self, alias: str) -> bool:
        """Whether modbot purged the pict-rs file of ``alias`` (or it went with another
        alias of the same file)."""
        done = self.action("purge_image", f"alias:{alias}")
        return done is not None and done["status"] in ("done", "covered")

    def claims_left(self) -> list[dict]:
        """Actions claimed and never settled (their process died while sending them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, target, status, detail, run_id, done_at, item FROM actions "
                "WHERE status = ?",
                (SENDING,),
            ).fetchall()
        return [dict(r) for r in rows]

    def destructive_done_since(self, since_epoch: float) -> int:
        """Destructive actions done, or claimed and being sent, since ``since_epoch``."""
        marks = ", ".join("?" for _ in DESTRUCTIVE)
        row = self._one(
            f"SELECT count(*) AS n FROM actions WHERE status IN ('done', ?) AND done_at >= ? "
            f"AND kind IN ({marks})",
            (SENDING, since_epoch, *DESTRUCTIVE),
        )
        return int(row["n"]) if row else 0

    # -- safety valve: latched until an admin resets it
    def valve_tripped(self) -> dict | None:
        value = self.get_cursor("safety_valve")
        return json.loads(value) if value else None

    def trip_valve(self, reason: str) -> None:
        self.set_cursor("safety_valve", json.dumps({"tripped_at": utc_iso(), "reason": reason}))

    def reset_valve(self) -> None:
        """Leave report-only; the actions done before now no longer count."""
        with self.transaction():
            self.set_cursor("safety_valve", None)
            self.set_cursor("safety_valve_reset_at", repr(time.time()))

    def valve_reset_at(self) -> float:
        value = self.get_cursor("safety_valve_reset_at")
        return float(value) if value else 0.0

    # -- journal: an item's decisions and planned actions, written before its actions are
    #    sent (write-ahead); deleted in the transaction that records the item
    def journal_put(self, item_key: str, run_id: str, entry: dict | list[dict]) -> None:
        self._exec(
            "INSERT OR REPLACE INTO journal (item_key, run_id, records) VALUES (?, ?, ?)",
            (item_key, run_id, json.dumps(entry, sort_keys=True)),
        )

    def journal_delete(self, item_key: str) -> None:
        self._exec("DELETE FROM journal WHERE item_key = ?", (item_key,))

    def journal_entries(self) -> list[tuple[str, str, Any]]:
        """(item key, run id, entry) of every item whose actions were under way."""
        with self._lock:
            rows = self._db.execute(
                "SELECT item_key, run_id, records FROM journal ORDER BY rowid"
            ).fetchall()
        return [(r["item_key"], r["run_id"], json.loads(r["records"])) for r in rows]

    # -- uploaders: alias -> person, from list_all_media (Lemmy has no lookup by alias)
    def remember_uploader(
        self, alias: str, person_id: int | None, actor_id: str | None, published: str | None
    ) -> None:
        self._exec(
            "INSERT OR REPLACE INTO uploaders (alias, person_id, actor_id, published) "
            "VALUES (?, ?, ?, ?)",
            (alias, person_id, actor_id, published),
        )

    def uploader(self, alias: str) -> dict | None:
        row = self._one(
            "SELECT alias, person_id, actor_id, published FROM uploaders WHERE alias = ?",
            (alias,),
        )
        return dict(row) if row else None

    def uploads_of(self, person_id: int) -> list[str]:
        """The aliases the alias -> uploader index names ``person_id`` the uploader of."""
        with self._lock:
            rows = self._db.execute(
                "SELECT alias FROM uploaders WHERE person_id = ? ORDER BY alias", (person_id,)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def uploads_admins_show(
        self, person_id: int, admin_ids: Sequence[int] | set[int]
    ) -> list[dict]:
        """The uploads of ``person_id`` (``uploads_of``) that the bot recorded the site
        (its icon, banner or sidebar) or an admin (their post, comment, avatar, banner or
        bio) showing, by alias: ``[{"alias", "kind", "item_id"}]``, one per alias (the
        first recorded). What a ban with ``remove_data`` deletes from an admin's view."""
        admins = sorted({int(a) for a in admin_ids} - {person_id})
        marks = ", ".join("?" for _ in admins) or "NULL"
        with self._lock:
            rows = self._db.execute(
                "SELECT u.alias AS alias, d.item_kind AS kind, d.item_id AS item_id "
                "FROM uploaders AS u JOIN decisions AS d "
                "ON json_extract(d.record, '$.image.alias') = u.alias "
                "WHERE u.person_id = ? AND (d.item_kind IN "
                "('site_icon', 'site_banner', 'site_sidebar') OR "
                f"json_extract(d.record, '$.item.author_id') IN ({marks})) "
                "ORDER BY d.id",
                (person_id, *admins),
            ).fetchall()
        found: dict[str, dict] = {}
        for row in rows:
            found.setdefault(str(row["alias"]), dict(row))
        return list(found.values())

    def post_files_of(self, person_id: int) -> list[dict]:
        """The pict-rs files of the image posts of ``person_id`` the bot recorded (live
        runs and dry runs alike: what Lemmy holds, not what was done): the link of each
        post whose recorded link is a pict-rs image, and that post's thumbnail, as
        ``[{"alias", "sha256", "post_id", "location"}]`` (``post_url`` or ``thumbnail``),
        the newest record of each post's link and thumbnail, oldest post first. What
        Lemmy 0.19.0 to 0.19.10 purge with a site ban's ``remove_data``
        (``purge_image_posts_for_person``: posts whose link holds ``pictrs/image``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.item_id AS post_id, json_extract(d.record, '$.image.location') "
                "AS location, json_extract(d.record, '$.image.alias') AS alias, "
                "json_extract(d.record, '$.image.url') AS url, d.sha256 AS sha256 "
                "FROM decisions AS d WHERE d.item_kind = 'post' "
                "AND json_extract(d.record, '$.item.author_id') = ? "
                "AND json_extract(d.record, '$.image.location') IN ('post_url', 'thumbnail') "
                "ORDER BY d.id",
                (person_id,),
            ).fetchall()
        newest: dict[tuple[int, str], dict] = {}
        for row in rows:
            if str(row["post_id"]).isdigit():  # the newest record of each stays
                newest[(int(row["post_id"]), str(row["location"]))] = dict(row)
        images = {
            post_id
            for (post_id, where), row in newest.items()
            if where == "post_url" and "pictrs/image" in str(row["url"] or "")
        }
        return [
            {"alias": row["alias"], "sha256": row["sha256"], "post_id": post_id, "location": where}
            for (post_id, where), row in sorted(
                newest.items(), key=lambda kv: (kv[0][0], kv[0][1] != "post_url")
            )
            if post_id in images and row["alias"]
        ]

    def site_shows(self, alias: str, sha256: str | None = None) -> str | None:
        """The kind (``site_icon``, ``site_banner``, ``site_sidebar``) of the newest
        decision the bot recorded for the site showing this file (the alias, or the same
        bytes: one file in pict-rs), or None. The site's images have no author, so
        ``image_owners`` does not name them."""
        row = self._one(
            "SELECT item_kind FROM decisions "
            "WHERE item_kind IN ('site_icon', 'site_banner', 'site_sidebar') "
            "AND ((? != '' AND sha256 = ?) OR (? != '' AND "
            "json_extract(record, '$.image.alias') = ?)) ORDER BY id DESC LIMIT 1",
            (sha256 or "", sha256 or "", alias, alias),
        )
        return str(row["item_kind"]) if row else None

    def image_owners(self, alias: str, sha256: str | None = None) -> set[int]:
        """Who uploaded ``alias`` and, given its ``sha256``, the authors of every item the
        bot saw the same bytes in (uploads, posts, comments): pict-rs keeps one file for
        identical bytes, so purging one alias purges the image of all of them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT person_id FROM uploaders WHERE alias = ? UNION "
                "SELECT json_extract(record, '$.item.author_id') FROM decisions "
                "WHERE sha256 = ?",
                (alias, sha256 or ""),
            ).fetchall()
        return {int(r[0]) for r in rows if r[0] is not None}

    # -- the store sweep: a purge that left the file in pict-rs
    def purge_left(self, sha256: str, *, dry_run: bool) -> bool:
        """Whether an item showing the bytes ``sha256`` (a post, comment, upload, profile
        image: not the stored file itself) was decided to purge them (``purge_image``
        done; planned, in a dry run) after the store sweep last decided the file. For a
        file pict-rs still lists, that purge deleted one alias only (another alias's
        uploader unknown: it could be an admin's), or the bytes were stored again since;
        no listing shows the aliases left, so the store sweep decides the file again."""
        status = "planned" if dry_run else "done"
        row = self._one(
            "SELECT max(d.id) AS id FROM decisions AS d, json_each(d.record, '$.actions') AS a "
            "WHERE d.sha256 = ? AND d.item_kind != 'file' "
            "AND json_extract(d.record, '$.dry_run') = ? "
            "AND json_extract(a.value, '$.action') = 'purge_image' "
            "AND json_extract(a.value, '$.status') = ?",
            (sha256, int(dry_run), status),
        )
        if row is None or row["id"] is None:
            return False
        own = self._one(
            "SELECT max(id) AS id FROM decisions WHERE sha256 = ? AND item_kind = 'file' "
            "AND item_id = ? AND json_extract(record, '$.dry_run') = ?",
            (sha256, sha256, int(dry_run)),
        )
        return own is None or own["id"] is None or int(row["id"]) > int(own["id"])

    # -- exempt files: an exempt item shows this file (by sha256 and pict-rs alias), so
    # no other decision may purge it, nor act on its upload
    def note_exempt_file(
        self, scope: str, item_key: str, sha256: str, alias: str | None, why: str
    ) -> None:
        """Remember that the item ``item_key`` (``post:12``), exempt for ``why``, shows
        the file ``sha256`` (pict-rs ``alias``, if local). The first note of an item stays."""
        self._exec(
            "INSERT OR IGNORE INTO exempt_files (scope, item_key, sha256, alias, why, noted_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (scope, item_key, sha256, alias or "", why, time.time()),
        )

    def exempt_file(
        self, scope: str, sha256: str | None, alias: str | None, other_than: str | None = None
    ) -> dict | None:
        """The first exempt item (``{"item_key", "why"}``) that shows the same file: the
        same bytes, or the same pict-rs alias (one file, many aliases; and an alias
        fetched as a resized variant has other bytes). ``other_than``: an item to leave out."""
        if not sha256 and not alias:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT item_key, why FROM exempt_files WHERE scope = ? AND item_key != ? "
                "AND (sha256 = ? OR (alias != '' AND alias = ?)) ORDER BY noted_at LIMIT 1",
                (scope, other_than or "", sha256 or "", alias or ""),
            ).fetchone()
        return dict(row) if row else None

    # -- alias -> item: which posts and comments the bot saw showing a stored file
    def items_showing(self, sha256: str, aliases: Sequence[str] = ()) -> list[dict]:
        """The posts and comments whose decisions recorded this file (its bytes, or one of
        its pict-rs ``aliases``), oldest first: ``{kind, id, author_id, author, url,
        image_url}`` and the facts an exemption reads (``author_local``,
        ``author_is_moderator``, ``community``, ``community_local``, ``community_nsfw``,
        ``location``; ``recorded``: the record's ``item``, ``image`` and ``decided_at``),
        one per item."""
        rows = self._decisions_showing("('post', 'comment')", sha256, aliases)
        found: dict[str, dict] = {}
        for row in rows:
            key = f"{row['item_kind']}:{row['item_id']}"
            if key in found or not str(row["item_id"]).isdigit():
                continue
            found[key] = _showing(row)
        return list(found.values())

    def items_showing_since(
        self, sha256: str, after_id: int, *, alias: str | None = None, known: Container[str] = ()
    ) -> tuple[list[dict], int]:
        """``items_showing`` read a part at a time, for one who keeps what the parts before
        held (``Pipeline``'s exemptions of now): the posts and comments of the decisions
        recorded after the row ``after_id`` that showed the bytes ``sha256``, or, given an
        ``alias``, that showed that pict-rs alias with other bytes or none (the rest of
        what ``items_showing`` reads for that alias); each as ``items_showing`` gives it,
        at its first row read (``decision``: that row's id). Items in ``known`` are left
        out. Also returns the last row of all then: the next part's ``after_id``. A decision row
        is never changed nor removed, and one committed after another has a larger id
        (AUTOINCREMENT, one writer at a time); only rows a transaction still open on this
        store wrote could yet be taken back (``in_transaction``)."""
        params: tuple[str, ...] = (sha256,)
        where = "sha256 = ?"
        if alias is not None:
            where = "json_extract(record, '$.image.alias') = ? AND (sha256 IS NULL OR sha256 != ?)"
            params = (alias, sha256)
        found: dict[str, dict] = {}
        with self._lock:
            # to the last row of all, not this file's last: an alias whose rows all hold
            # these bytes (left out) would be read from its first row at every part
            last = self._db.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0]
            for row in self._db.execute(
                "SELECT id, item_kind, item_id, record FROM decisions WHERE item_kind "
                f"IN ('post', 'comment') AND {where} AND id > ? AND id <= ? ORDER BY id",
                (*params, after_id, last),
            ):
                key = f"{row['item_kind']}:{row['item_id']}"
                if key in found or key in known or not str(row["item_id"]).isdigit():
                    continue
                found[key] = {**_showing(row), "decision": int(row["id"])}
        return list(found.values()), int(last)

    @property
    def in_transaction(self) -> bool:
        """A transaction is open on this store (its writes could still be rolled back)."""
        return self._db.in_transaction

    def items_recorded(self, items: Sequence[tuple[str, int, int | None]]) -> list[dict]:
        """The newest decision's facts of each post or comment ``items`` names as (kind,
        id, author id) (a stored file's ``Item.shown_by``), as ``items_showing`` gives
        them; one the record lacks is left out. Found through the author index: the
        decisions have none by item."""
        found = []
        with self._lock:
            for kind, item_id, author_id in items:
                by = "= ?" if author_id is not None else "IS NULL"
                row = self._db.execute(
                    "SELECT item_kind, item_id, record FROM decisions WHERE "
                    f"json_extract(record, '$.item.author_id') {by} AND item_kind = ? "
                    "AND item_id = ? ORDER BY id DESC LIMIT 1",
                    (*(() if author_id is None else (author_id,)), kind, str(item_id)),
                ).fetchone()
                if row is not None:
                    found.append(_showing(row))
        return found

    def profile_showing(self, sha256: str, aliases: Sequence[str] = ()) -> dict | None:
        """The person whose avatar or banner this file was, or whose bio showed it, when
        the bot last recorded it (its bytes, or one of its pict-rs ``aliases``): ``{kind,
        id, author}``, or None. A bio image's id is ``"<person id>:<digest>"``."""
        rows = self._decisions_showing("('avatar', 'banner', 'bio')", sha256, aliases)
        for row in reversed(rows):  # the newest whose id names a person
            person_id = str(row["item_id"]).partition(":")[0]
            if person_id.isdigit():
                item = (json.loads(row["record"]).get("item")) or {}
                return {
                    "kind": row["item_kind"],
                    "id": int(person_id),
                    "author": item.get("author"),
                }
        return None

    def _decisions_showing(self, kinds: str, sha256: str, aliases: Sequence[str]) -> list[Any]:
        """The decisions on items of ``kinds`` (an SQL list) that recorded this file, by
        its bytes or one of its ``aliases``, oldest first. The aliases are asked
        ALIAS_CHUNK at a time: a file can have more aliases than SQLite takes variables
        in one statement (32,766 in stock builds), and one query over them all would fail
        that file's page on every run."""
        found: dict[int, Any] = {}
        chunks = [aliases[i : i + ALIAS_CHUNK] for i in range(0, len(aliases), ALIAS_CHUNK)]
        with self._lock:
            for chunk in chunks or [()]:
                marks = ", ".join("?" for _ in chunk) or "NULL"
                for row in self._db.execute(
                    "SELECT id, item_kind, item_id, record FROM decisions "
                    f"WHERE item_kind IN {kinds} AND (sha256 = ? OR "
                    f"json_extract(record, '$.image.alias') IN ({marks}))",
                    (sha256, *chunk),
                ):
                    found[row["id"]] = row
        return [found[k] for k in sorted(found)]

    # -- files modbot purged: what the upload gate refuses from then on (modbot.modes.gate)
    def purged_files(self, after_id: int = 0) -> tuple[list[dict], int]:
        """The files live runs purged (``purge_image`` or ``purge_item`` done or covered),
        from decisions recorded after the row ``after_id``: ``[{"sha256", "rule",
        "item", "decided_at"}]``, and the last row read (the next call's ``after_id``)."""
        with self._lock:
            last = self._db.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0]
            rows = self._db.execute(
                "SELECT DISTINCT d.sha256 AS sha256, d.rule AS rule, d.decided_at AS decided_at, "
                "d.item_kind || ':' || coalesce(d.item_id, '?') AS item "
                "FROM decisions AS d, json_each(d.record, '$.actions') AS a "
                "WHERE d.id > ? AND d.id <= ? AND d.sha256 IS NOT NULL "
                "AND json_extract(d.record, '$.dry_run') = 0 "
                "AND json_extract(a.value, '$.action') IN ('purge_image', 'purge_item') "
                "AND json_extract(a.value, '$.status') IN ('done', 'covered')",
                (after_id, last),
            ).fetchall()
        return [dict(r) for r in rows], int(last)


def _showing(row: Any) -> dict:
    """A decision row of a post or comment showing a file, as ``items_showing`` gives it."""
    record = json.loads(row["record"])
    item, image = record.get("item") or {}, record.get("image") or {}
    return {
        "kind": row["item_kind"],
        "id": int(row["item_id"]),
        "author_id": item.get("author_id"),
        "author": item.get("author"),
        "url": item.get("url"),
        "image_url": image.get("url"),
        "author_local": item.get("author_local"),
        "author_is_moderator": item.get("author_is_moderator"),
        "community": item.get("community"),
        "community_local": item.get("community_local"),
        "community_nsfw": item.get("community_nsfw"),
        "location": image.get("location"),
        # what the rules decide the item on again (``record.recorded_subject``)
        "recorded": {"item": item, "image": image, "decided_at": record.get("decided_at")},
    }
