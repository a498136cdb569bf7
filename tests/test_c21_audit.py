"""`modbot audit --status` with an outcome that does not exist (a typo) says so with
the closest, as --action does, instead of "no records match"; --limit takes 1 or more."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        for item_id in (1, 2):
            store.add_decision(
                {
                    "run_id": "r1",
                    "decided_at": f"2026-01-0{item_id}T00:00:00Z",
                    "dry_run": False,
                    "item": {"kind": "post", "id": item_id, "author_id": 5},
                    "image": {"url": f"https://x.example/{item_id}.png"},
                    "rule": "nsfw",
                    "actions": [{"action": "remove", "status": "done", "detail": "removed"}],
                }
            )
    finally:
        store.close()
    monkeypatch.setenv("MODBOT_STATE", str(path))
    return path


@pytest.mark.parametrize("command", ["audit", "undo"])
def test_an_outcome_that_does_not_exist_is_said_so_with_the_closest(state, capsys, command):
    assert main([command, "--status", "doen"]) == 1
    out, err = capsys.readouterr()
    assert "no action outcome is called 'doen'; did you mean 'done'?" in err, (out, err)
    assert main([command, "--status", "zzz"]) == 1
    assert "the outcomes: done, failed, skipped, planned, not_possible, covered" in (
        capsys.readouterr().err
    )


def test_a_known_outcome_that_matches_nothing_is_no_error(state, capsys):
    assert main(["audit", "--status", "failed"]) == 0
    assert "no records match" in capsys.readouterr().out
    assert main(["audit", "--status", "done"]) == 0
    assert "post:1" in capsys.readouterr().out


@pytest.mark.parametrize("limit", ["0", "-1", "two"])
def test_limit_takes_a_number_of_records(state, capsys, limit):
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--limit", limit])
    assert exc.value.code == 2
    assert f"expected a number of records, 1 or more, got {limit!r}" in capsys.readouterr().err
    assert main(["audit", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "post:2" in out and "post:1" not in out
