"""`modbot run`, `report`, `sweep` and `gate` given another program's SQLite file as
MODBOT_STATE (a typo, a wrong volume): refused, saying so, and left as it was. Before,
the store added modbot's tables to it and made it readable by its owner only."""

from __future__ import annotations

import stat

import pytest
from test_s29m_another_programs_file import fingerprint, other_file

from modbot.cli import main
from modbot.store import StateError, Store


def test_the_store_refuses_another_programs_file_and_leaves_it(tmp_path):
    path = other_file(tmp_path / "app.db", "cursors")
    path.chmod(0o644)
    before = fingerprint(path)
    with pytest.raises(StateError, match="is an SQLite file but no modbot state file"):
        Store(path)
    assert fingerprint(path) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_modbot_run_says_so(tmp_path, monkeypatch, capsys):
    path = other_file(tmp_path / "app.db", "decisions")
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    before = fingerprint(path)
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "LEMMY_URL": "http://127.0.0.1:9",
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(path),
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["run", "--once", "--dry-run"]) != 0
    assert "is an SQLite file but no modbot state file" in capsys.readouterr().err
    assert fingerprint(path) == before


def test_a_new_or_a_modbot_state_still_opens(tmp_path):
    Store(tmp_path / "new.sqlite3").close()
    Store(tmp_path / "new.sqlite3").close()  # the second open: a modbot state
    (tmp_path / "empty.sqlite3").touch()
    Store(tmp_path / "empty.sqlite3").close()


def test_a_state_another_modbot_is_making_is_not_taken_for_a_foreign_file(tmp_path):
    """Two modbot processes starting together on a new volume (the bot and the gate):
    the first writes the schema a table at a time, the second may find only some of
    them, all modbot's; it opens the state, not refuses it."""
    import sqlite3

    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.commit()
    db.close()
    Store(path).close()
