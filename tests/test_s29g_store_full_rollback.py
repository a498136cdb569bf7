"""A write that fails on a full disk inside a transaction raises the full disk, and the
store goes on working.

Before: SQLite rolls a transaction back by itself when a write in it fails on a full
disk (SQLITE_FULL, as for an I/O error); ``Store.transaction`` then issued its own
ROLLBACK, which failed with "cannot rollback - no transaction is active", and that error
replaced the real one: `modbot run` ended with "cannot open the state file (cannot
rollback - no transaction is active)", which says nothing of a disk, and the cache
writes held back for the transaction were dropped. Now the ROLLBACK is issued only while
SQLite is still in the transaction; the full disk is what the caller sees."""

from __future__ import annotations

import sqlite3

import pytest

from modbot.store import KnownFile, Store


def record(n: int) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-12-01T10:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": n},
        "padding": "x" * 20_000,  # pages more than the disk has room for
    }


def test_a_full_disk_inside_a_transaction_is_the_error_and_nothing_is_lost(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.add_decision(record(1))
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # the disk is all but full
    known = KnownFile("ab" * 32, {}, None, None, 1.0, {}, "h1")
    store.put_known_file("alias:a.png", known, later=True)  # commits with the next one
    full = pytest.raises(sqlite3.OperationalError, match="database or disk is full")
    with full, store.transaction():
        store.set_cursor("lost", "1")
        store.add_decision(record(2))
    store._db.execute(f"PRAGMA max_page_count = {pages * 100}")  # room again
    with store.transaction():
        store.set_cursor("kept", "2")
    assert (store.get_cursor("lost"), store.get_cursor("kept")) == (None, "2")
    assert [d["item"]["id"] for d in store.decisions()] == [1]
    store.close()
    reopened = Store(tmp_path / "s.sqlite3")
    assert reopened.known_file("alias:a.png") == known, "the held-back write was dropped"
    assert reopened.get_cursor("kept") == "2"
    reopened.close()
