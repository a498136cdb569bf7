"""The SQLite store: what survives a killed process, and what is never repeated."""

import json
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


def verdict(seed=0, prompts=("photo of a boy", "painting of a boy", "a cat"), digits=4):
    """A verdict shaped as the engine makes it: prompt similarities rounded to 4 decimals."""
    import random

    rng = random.Random(seed)
    return {
        "labels": [],
        "scores": {"nsfw": -0.0812, "csam": -0.1},
        "prompt_scores": {p: round(rng.uniform(-0.2, 0.4), digits) for p in prompts},
        "model": "ViT-L-14/openai",
        "concept_version": "v1",
        "sha256": f"{seed:064x}",
    }


def test_cached_verdicts_come_back_as_they_were_with_the_prompts_stored_once(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    prompts = tuple(f"a photo of concept number {i}" for i in range(230))
    made = [verdict(seed, prompts) for seed in range(50)]
    for v in made:
        store.put_verdict(v["sha256"], "v1", v)
    store.close()
    store = Store(tmp_path / "s.sqlite3")  # read back by a new process
    for v in made:
        assert store.get_verdict(v["sha256"], "v1") == v
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    rows = db.execute("SELECT verdict, prompts FROM verdicts").fetchall()
    assert not any("concept number" in row[0] for row in rows), "the prompts are not repeated"
    assert db.execute("SELECT count(*) FROM prompt_lists").fetchone() == (1,)
    kept = sum(len(a) + len(b) for a, b in rows)
    whole = sum(len(json.dumps(v, sort_keys=True)) for v in made)
    assert kept < whole / 4


def test_verdicts_that_do_not_pack_exactly_are_kept_whole(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    cases = {
        "more digits": verdict(1, digits=9),  # another worker's, say
        "not numbers": {**verdict(2), "prompt_scores": {"a cat": "0.1"}},
        "not finite": {**verdict(3), "prompt_scores": {"a cat": float("inf")}},
        "none": {**verdict(4), "prompt_scores": {}},
        "unreadable": {"labels": [], "scores": {}, "unreadable": "not an image"},
    }
    for name, v in cases.items():
        store.put_verdict(name, "v1", v)
    # the same version's list is the first verdict's; another list is kept whole
    store.put_verdict("packed", "v1", verdict(5))
    store.put_verdict("other prompts", "v1", verdict(6, prompts=("a dog", "a cat")))
    for name, v in [*cases.items(), ("packed", verdict(5))]:
        assert store.get_verdict(name, "v1") == v, name
    assert store.get_verdict("other prompts", "v1") == verdict(6, prompts=("a dog", "a cat"))


def test_a_state_from_before_packed_prompts_reads_and_writes(tmp_path):
    path = tmp_path / "old.sqlite3"
    Store(path).close()  # a state of its time: its verdicts as they were kept then
    db = sqlite3.connect(path)
    db.execute("DROP TABLE verdicts")
    db.execute("DROP TABLE IF EXISTS prompt_lists")
    db.execute(
        "CREATE TABLE verdicts (sha256 TEXT NOT NULL, concept_version TEXT NOT NULL, "
        "verdict TEXT NOT NULL, PRIMARY KEY (sha256, concept_version))"
    )
    old = verdict(7)
    db.execute("INSERT INTO verdicts VALUES ('old', 'v1', ?)", (json.dumps(old),))
    db.commit()
    db.close()
    store = Store(path)
    assert store.get_verdict("old", "v1") == old
    store.put_verdict("new", "v1", verdict(8))
    assert store.get_verdict("new", "v1") == verdict(8)


def test_a_verdict_whose_prompt_list_is_gone_is_not_trusted(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.put_verdict("aa", "v1", verdict(9))
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    db.execute("DELETE FROM prompt_lists")
    db.commit()
    db.close()
    # a miss, so the file is classified again: never a verdict without its scores
    assert Store(tmp_path / "s.sqlite3").get_verdict("aa", "v1") is None


def _rows(path, sql):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_cache_writes_held_back_commit_with_the_next_transaction(tmp_path):
    from modbot.store import KnownFile

    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.put_verdict("first", "v1", verdict(1))  # the version's prompt list: at once
    store.put_verdict("aa", "v1", verdict(2), later=True)
    known = KnownFile("aa", {"sha256": "aa", "pdq": "f0"}, '"e1"', None, 1000.0)
    store.put_known_file("https://x/a.jpg", known, later=True)
    # read back at once, through the store, as if written ...
    assert store.get_verdict("aa", "v1") == verdict(2)
    assert store.known_file("https://x/a.jpg") == known
    # ... but not in the file yet: no transaction of their own
    assert _rows(path, "SELECT sha256 FROM verdicts") == [("first",)]
    assert _rows(path, "SELECT key FROM files") == []
    # the next transaction (the item's decisions, in a sweep) commits them with its own
    with store.transaction():
        store.add_decision(record(item_id=1))
    assert _rows(path, "SELECT sha256 FROM verdicts ORDER BY sha256") == [("aa",), ("first",)]
    assert _rows(path, "SELECT key, sha256, etag FROM files") == [("https://x/a.jpg", "aa", '"e1"')]
    assert Store(path).get_verdict("aa", "v1") == verdict(2), "another process reads it"


def test_cache_writes_held_back_survive_a_rollback_and_commit_on_close(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.put_verdict("first", "v1", verdict(1))
    store.put_verdict("aa", "v1", verdict(2), later=True)
    try:
        with store.transaction():
            store.add_decision(record(item_id=1))
            raise RuntimeError("the item failed")
    except RuntimeError:
        pass
    assert _rows(path, "SELECT count(*) FROM decisions") == [(0,)]
    assert store.get_verdict("aa", "v1") == verdict(2), "held again, not lost"
    store.close()
    assert _rows(path, "SELECT sha256 FROM verdicts ORDER BY sha256") == [("aa",), ("first",)]


def test_cache_writes_held_back_are_bounded(tmp_path):
    from modbot.store import _LATER_MAX

    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.put_verdict("first", "v1", verdict(0))
    for n in range(1, _LATER_MAX + 1):
        store.put_verdict(f"{n:04}", "v1", verdict(n), later=True)
        committed = _rows(path, "SELECT count(*) FROM verdicts")[0][0] - 1
        # with no transaction meanwhile, the writer commits them itself once it holds
        # _LATER_MAX: never more waiting than that
        assert committed == (n if n == _LATER_MAX else 0), n
    assert store.get_verdict(f"{_LATER_MAX:04}", "v1") == verdict(_LATER_MAX)


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


def test_a_failed_commit_rolls_back_and_the_next_transaction_works(tmp_path):
    # COMMIT can fail (disk full, the database locked at commit time) and leave SQLite
    # inside the transaction; a deferred foreign key broken inside it makes COMMIT fail
    # the same way. The error is the caller's; later transactions must still work, and
    # cache writes held back for it are held again, not lost.
    store = Store(tmp_path / "s.sqlite3")
    store.put_verdict("aa", "v1", verdict(1))  # the version's prompt list is stored
    db = store._db
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    store.put_verdict("bb", "v1", verdict(2), later=True)
    try:
        with store.transaction():
            store.set_cursor("lost", "1")
            db.execute("INSERT INTO child VALUES (7)")  # refused only at COMMIT
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("the COMMIT did not fail")
    with store.transaction():
        store.set_cursor("kept", "2")
    assert (store.get_cursor("lost"), store.get_cursor("kept")) == (None, "2")
    assert store.get_verdict("bb", "v1") == verdict(2)
    store.close()
    reopened = Store(tmp_path / "s.sqlite3")
    assert (reopened.get_cursor("lost"), reopened.get_cursor("kept")) == (None, "2")
    assert reopened.get_verdict("bb", "v1") == verdict(2)
