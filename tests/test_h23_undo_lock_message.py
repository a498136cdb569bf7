"""A second `modbot undo --yes` on a state another undo is working on: exit 75, and
the message says what to do with undo (wait, run it again), not the acting lock's
advice for `run` (no `--wait`, no `--dry-run`: undo takes neither)."""

from __future__ import annotations

from pathlib import Path

from modbot.cli import main
from modbot.statelock import StateLock
from modbot.store import Store


def test_a_second_undo_is_told_to_wait_in_undos_words(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state.sqlite3"
    store = Store(state)
    decision = store.add_decision(
        {
            "run_id": "R",
            "decided_at": "2026-11-21T10:00:00Z",
            "dry_run": False,
            "item": {"kind": "post", "id": 12},
            "rule": "r",
            "actions": [{"action": "remove", "status": "done", "detail": "remove post 12"}],
        }
    )
    store.close()
    monkeypatch.setenv("LEMMY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LEMMY_USERNAME", "modbot")
    monkeypatch.setenv("LEMMY_PASSWORD", "pw")
    held = StateLock(Path(f"{state.resolve()}.undo"), command="modbot undo 3 --yes")
    with held:
        code = main(["undo", str(decision), "--yes", "--state", str(state)])
    err = capsys.readouterr().err
    assert code == 75, err
    assert "another `modbot undo --yes` is running" in err and "modbot undo 3 --yes" in err
    assert "run this again" in err
    assert "--wait" not in err and "--dry-run" not in err, err
