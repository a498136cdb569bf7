"""Two modbot processes opening a state an older modbot made, at the same moment (the
daemon and the upload gate started together after an upgrade), both start.

Before: each process looked at the tables' columns, saw one missing, and added it; the
second one's ``ALTER TABLE`` then failed ("duplicate column name") and that process
ended with "cannot open the state file (duplicate column name: not_taken): check that
modbot's user can write it". Now the columns are checked again and added in one write
transaction: the second process waits for the first and finds them there."""

from __future__ import annotations

import sqlite3
import threading
import time

from modbot.store import KnownFile, Store


def test_two_processes_upgrading_one_older_state_at_once_both_open_it(tmp_path):
    path = tmp_path / "modbot.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    # the state as a modbot from before files kept the hash kinds not taken
    db.execute("ALTER TABLE files DROP COLUMN hashed_with")
    db.execute("ALTER TABLE files DROP COLUMN not_taken")
    db.execute("INSERT INTO cursors VALUES ('kept', 'yes')")
    # a write under way holds both openings at the same point, then lets them go together
    db.execute("BEGIN IMMEDIATE")
    opened: list[Store] = []
    failed: list[Exception] = []

    def open_it() -> None:
        try:
            opened.append(Store(path))
        except Exception as exc:
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # both have read the columns and wait for the write lock
    db.execute("COMMIT")
    for t in threads:
        t.join(60)
    assert [str(e) for e in failed] == []
    assert len(opened) == 2
    for store in opened:
        assert store.get_cursor("kept") == "yes"
        store.put_known_file("alias:a.png", KnownFile("ab" * 32, {}, None, None, 1.0, {}, "h1"))
        assert store.known_file("alias:a.png").hashed_with == "h1"
        store.close()
    columns = [r[1] for r in db.execute("PRAGMA table_info(files)")]
    assert columns.count("not_taken") == columns.count("hashed_with") == 1
