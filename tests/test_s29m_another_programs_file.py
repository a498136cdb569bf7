"""`modbot audit`, `healthcheck` and `undo` given another program's SQLite file (a wrong
--state or MODBOT_STATE) refuse it, saying so, and leave it as it was.

Before: a file with a table named as one of modbot's (`cursors`, `decisions`: common
names) passed for a state: healthcheck said "no daemon cycle recorded yet", audit "no
records match", and undo opened it as its store, adding modbot's tables to the other
program's file before failing with "no such column"."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from modbot.cli import main

TABLES = {
    "cursors": "CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT)",
    "decisions": "CREATE TABLE decisions (id INTEGER PRIMARY KEY, decided_at TEXT, "
    "run_id TEXT, rule TEXT, record TEXT)",
}


def other_file(path: Path, table: str) -> Path:
    db = sqlite3.connect(path)
    db.execute(TABLES[table])
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('theirs')")
    db.commit()
    db.close()
    return path


def fingerprint(path: Path) -> tuple:
    files = sorted(p.name for p in path.parent.iterdir())
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, files


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("command", [["audit"], ["healthcheck"], ["undo", "1"]])
def test_another_programs_file_is_refused_and_left_as_it_was(tmp_path, capsys, table, command):
    path = other_file(tmp_path / "app.db", table)
    before = fingerprint(path)
    assert main([*command, "--state", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path} is an SQLite file but no modbot state file" in err, (out, err)
    assert fingerprint(path) == before
