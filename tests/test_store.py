"""The SQLite store: what survives a killed process, and what is never repeated."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

from modbot.store import Store, utc_iso


def record(run_id="r1", item_id=1, decided_at=None, rule=None):
    return {
        "run_id": run_id,
        "decided_at": decided_at or utc_iso(),
        "dry_run": False,
        "item": {"kind": "post", "id": item_id, "url": f"https://x/post/{item_id}"},
        "image": {"url": "https://x/a.jpg", "location": "post_url", "sha256": "ab" * 32},
        "scores": {"nsfw": 0.01},
        "labels": [],
        "rule": rule,
        "actions": [],
        "skipped": None,
    }


def test_seen_items_notice_edits(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    assert not store.is_seen("live", "post", 1, "2026-01-01T00:00:00Z")
    store.mark_seen("live", "post", 1, "2026-01-01T00:00:00Z")
    assert store.is_seen("live", "post", 1, "2026-01-01T00:00:00Z")
    assert not store.is_seen("live", "post", 1, "2026-01-02T00:00:00Z"), "an edit is new"
    assert not store.is_seen("dry-run", "post", 1, "2026-01-01T00:00:00Z"), "scopes apart"


def test_verdict_cache_is_keyed_by_concept_version(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.put_verdict("aa", "v1", {"labels": ["nsfw"]})
    assert store.get_verdict("aa", "v1") == {"labels": ["nsfw"]}
    assert store.get_verdict("aa", "v2") is None


def test_decisions_filter_by_run_and_time(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    old = utc_iso(datetime.now(UTC) - timedelta(days=3))
    store.add_decision(record("r1", 1, decided_at=old))
    store.add_decision(record("r2", 2, rule="x"))
    assert [d["item"]["id"] for d in store.decisions()] == [1, 2]
    assert [d["item"]["id"] for d in store.decisions(run_id="r1")] == [1]
    recent = store.decisions(since=datetime.now(UTC) - timedelta(days=1))
    assert [d["rule"] for d in recent] == ["x"]


def test_transaction_rolls_back_as_one(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    try:
        with store.transaction():
            store.add_decision(record())
            store.mark_seen("live", "post", 1, "u")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.decisions() == []
    assert not store.is_seen("live", "post", 1, "u")


def test_actions_and_safety_valve_state(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.record_action("remove", "post:1", "done", "remove post 1", "r1")
    store.record_action("report", "post:1", "done", "", "r1")
    store.record_action("ban", "site:person:3", "failed", "not_an_admin", "r1")
    assert store.action("remove", "post:1")["status"] == "done"
    assert store.action("remove", "post:2") is None
    assert (
        store.destructive_done_since(time.time() - 3600) == 1
    )  # reports and failures do not count
    assert store.valve_tripped() is None
    store.trip_valve("too many")
    assert Store(tmp_path / "s.sqlite3").valve_tripped()["reason"] == "too many"
    store.reset_valve()
    assert store.valve_tripped() is None


def test_kill_9_mid_write_loses_no_committed_item(tmp_path):
    """A child commits items in a loop and is killed with SIGKILL: every item it reported
    as committed is there, each with its decision, and the database is consistent."""
    path = tmp_path / "s.sqlite3"
    code = textwrap.dedent(f"""
        import sys
        from modbot.store import Store, utc_iso
        store = Store({str(path)!r})
        i = 0
        while True:
            i += 1
            with store.transaction():
                store.add_decision({{"run_id": "r", "decided_at": utc_iso(), "item": {{"kind": "post", "id": i}}}})
                store.mark_seen("live", "post", i, "u")
            print(i, flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    committed = 0
    for line in child.stdout:
        committed = int(line)
        if committed >= 200:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = Store(path)
    ids = [d["item"]["id"] for d in store.decisions()]
    assert len(ids) >= committed and ids == list(range(1, len(ids) + 1))
    for i in ids:  # decision and seen mark went in together
        assert store.is_seen("live", "post", i, "u")
    assert not store.is_seen("live", "post", len(ids) + 1, "u")
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
