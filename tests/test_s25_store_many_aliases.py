"""A pict-rs file with more aliases than SQLite takes variables in one statement: the
store sweep still finds what showed it (it failed that file's page on every run)."""

from __future__ import annotations

import sqlite3

from modbot.model import utc_iso
from modbot.store import Store

INSTANCE = "https://lemmy.example"
STOCK_LIMIT = 32_766  # SQLITE_MAX_VARIABLE_NUMBER of stock SQLite builds


def recorded(kind: str, item_id: str, author_id: int, alias: str) -> dict:
    return {
        "run_id": "r1",
        "decided_at": utc_iso(),
        "dry_run": False,
        "item": {
            "kind": kind,
            "id": item_id,
            "author_id": author_id,
            "author": f"{INSTANCE}/u/p{author_id}",
            "url": f"{INSTANCE}/post/{item_id}",
        },
        "image": {"url": f"{INSTANCE}/pictrs/image/{alias}", "sha256": "e" * 64, "alias": alias},
        "scores": {},
        "labels": [],
        "rule": None,
        "actions": [],
        "skipped": None,
    }


def test_a_file_with_forty_thousand_aliases_is_still_traced_to_what_showed_it(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    try:
        store._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, STOCK_LIMIT)
        aliases = [f"a{i}.png" for i in range(40_000)]
        store.add_decision(recorded("post", "5", 3, aliases[-1]))
        store.add_decision(recorded("comment", "8", 4, aliases[0]))
        store.add_decision(recorded("avatar", "4", 4, aliases[20_000]))
        store.add_decision(recorded("banner", "6", 6, aliases[39_000]))
        shown = store.items_showing("f" * 64, aliases)
        assert [(i["kind"], i["id"], i["author_id"]) for i in shown] == [
            ("post", 5, 3),
            ("comment", 8, 4),
        ]  # oldest first, as with one query
        assert store.profile_showing("f" * 64, aliases) == {
            "kind": "banner",
            "id": 6,
            "author": f"{INSTANCE}/u/p6",
        }  # the newest
        assert store.items_showing("f" * 64, []) == []
    finally:
        store.close()
