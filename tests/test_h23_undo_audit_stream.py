"""`modbot audit` reads the state file only, streamed: a large state (20,000 records
here; 100,000 in a real year) is listed in flat memory, as a table, as JSON and with
--limit; a file that is no modbot state (empty, another SQLite file) is a clear error
with exit 1, and the file is left exactly as it was. Through `modbot.cli.main`."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import tracemalloc

import pytest

from modbot.cli import main
from modbot.store import Store

N = 20_000


def record(i: int) -> dict:
    return {
        "run_id": f"R{i // 1000}",
        "decided_at": f"2026-11-21T10:{i // 1000 % 60:02d}:00Z",
        "dry_run": False,
        "item": {
            "kind": "post",
            "id": i,
            "url": f"https://lemmy.example/post/{i}",
            "author": "https://lemmy.example/u/someone",
            "author_id": 7,
        },
        "image": {"url": f"https://lemmy.example/pictrs/image/{i}.jpg", "sha256": f"{i:064x}"},
        "scores": {f"concept{c}": 0.0123 for c in range(40)},
        "labels": ["nsfw"],
        "rule": "nsfw" if i % 2 else "csam",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {i}"}],
        "skipped": None,
    }


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "state.sqlite3"
    store = Store(path)
    with store.transaction():
        for i in range(N):
            store.add_decision(record(i))
    store.close()
    return path


def peak_of(args: list[str], monkeypatch, tmp_path) -> tuple[int, int, str]:
    """(exit status, peak bytes Python allocated, what it printed)."""
    out = tmp_path / "out.txt"
    with open(out, "w") as stream:
        monkeypatch.setattr("sys.stdout", stream)
        tracemalloc.start()
        try:
            code = main(args)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            monkeypatch.undo()
    return code, peak, out.read_text()


@pytest.mark.parametrize("options", [[], ["--json"], ["--limit", "5"], ["--rule", "nsfw"]], ids=str)
def test_a_large_audit_is_read_in_flat_memory(big, options, monkeypatch, tmp_path):
    code, peak, out = peak_of(["audit", "--state", str(big), *options], monkeypatch, tmp_path)
    assert code == 0
    # all of them held at once is about 150 MB here (a few KB a record)
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB"
    wanted = {"[]": N, "['--json']": N, "['--limit', '5']": 5, "['--rule', 'nsfw']": N // 2}
    count = wanted[str(options)]
    if "--json" in options:
        records = json.loads(out)["records"]
        assert len(records) == count and records[0]["id"] == 1
        assert records[0]["image"]["sha256"] == f"{0:064x}" and records[0]["scores"]
    else:
        lines = out.splitlines()
        assert lines[0].split()[:2] == ["ID", "TIME"] and len(lines) == count + 1
        assert lines[-1].split()[0] == str(N)
        assert len({len(line.split("  live")[0]) for line in lines[1:]}) == 1  # aligned


def _fingerprint(path) -> tuple:
    return (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode))


@pytest.mark.parametrize("what", ["empty", "another SQLite file", "not SQLite"])
@pytest.mark.parametrize("command", ["audit", "undo"])
def test_a_file_that_is_no_modbot_state_is_said_so_and_left_as_it_was(
    what, command, tmp_path, capsys
):
    path = tmp_path / "state.sqlite3"
    if what == "empty":
        path.write_bytes(b"")
    elif what == "not SQLite":
        path.write_text("a note, not a database\n")
    else:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE notes (text TEXT)")
        db.commit()
        db.close()
    os.chmod(path, 0o644)
    before = _fingerprint(path)
    args = [command, "--state", str(path)] + (["1"] if command == "undo" else [])
    assert main(args) == 1
    out, err = capsys.readouterr()
    said = {"empty": "is empty", "another SQLite file": "no modbot state file"}
    assert said.get(what, "not a usable SQLite database") in err, err
    assert _fingerprint(path) == before  # nothing written, mode as it was
    assert "no records match" not in out


def test_an_audit_writes_nothing_to_a_state_it_reads(big, capsys):
    before = _fingerprint(big)
    assert main(["audit", "--state", str(big), "--limit", "1"]) == 0
    assert _fingerprint(big) == before
