"""`modbot audit --limit N` held the N newest records in memory at once (read newest
first, kept, then printed oldest first): `--limit 100000` on a year's state took
574 MB where the whole listing takes 48 MB, enough to end in the OOM killer beside the
bot on a small host. Now the newest N are found first by id (a count, no record held),
then printed as read: flat memory whatever N, as a table and as JSON, the same records
in the same order. Through `modbot.cli.main`."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store

N = 3_000


def record(i: int) -> dict:
    return {
        "run_id": "R1",
        "decided_at": f"2026-11-21T10:{i // 100 % 60:02d}:00Z",
        "dry_run": False,
        "item": {
            "kind": "post",
            "id": i,
            "url": f"https://lemmy.example/post/{i}",
            "author": "https://lemmy.example/u/someone",
            "author_id": 7 if i % 3 else 8,
        },
        "image": {"url": f"https://lemmy.example/pictrs/image/{i}.jpg", "sha256": f"{i:064x}"},
        "scores": {f"concept{c}": 0.0123 for c in range(40)},
        "labels": ["nsfw"],
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {i}"}],
        "skipped": None,
    }


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("limit") / "state.sqlite3"
    store = Store(path)
    with store.transaction():
        for i in range(1, N + 1):
            store.add_decision(record(i))
    store.close()
    return path


def peak_of(args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple:
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


@pytest.mark.parametrize("json_out", [False, True], ids=["table", "json"])
def test_a_large_limit_is_listed_in_flat_memory(big, monkeypatch, tmp_path, json_out):
    options = ["--json"] if json_out else []
    peak_of(["audit", "--state", str(big), "--limit", "1"], monkeypatch, tmp_path)  # imports
    _code, whole, _out = peak_of(["audit", "--state", str(big), *options], monkeypatch, tmp_path)
    code, peak, out = peak_of(
        ["audit", "--state", str(big), "--limit", str(N), *options], monkeypatch, tmp_path
    )
    assert code == 0
    # every record held at once is about 20 MB here; the whole listing's peak is a page's
    assert peak < 2 * whole + 1_000_000, f"{peak / 1e6:.1f} MB, the whole listing {whole / 1e6:.1f}"
    if json_out:
        ids = [r["id"] for r in json.loads(out)["records"]]
    else:
        ids = [int(line.split()[0]) for line in out.splitlines()[1:]]
    assert ids == list(range(1, N + 1))


@pytest.mark.parametrize("json_out", [False, True], ids=["table", "json"])
def test_the_newest_n_of_a_filter_oldest_first(big, capsys, json_out):
    # author 8: every third record; the newest 5 of them, past pages of 256 rows
    args = ["audit", "--state", str(big), "--person", "8", "--limit", "5"]
    assert main(args + (["--json"] if json_out else [])) == 0
    out = capsys.readouterr().out
    if json_out:
        ids = [r["id"] for r in json.loads(out)["records"]]
    else:
        ids = [int(line.split()[0]) for line in out.splitlines()[1:]]
    assert ids == [2988, 2991, 2994, 2997, 3000]
    assert main(["audit", "--state", str(big), "--person", "8", "--limit", "2000"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == N // 3 and lines[0].split()[0] == "3"
