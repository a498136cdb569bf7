"""`modbot audit --rule` and `modbot undo --rule` with a name no rule was ever recorded
under (a typo) say so, with the closest name, and exit 1: not "no records match"."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store


def _record(item_id: int, rule: str) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-01-01T00:00:00Z",
        "dry_run": False,
        "item": {
            "kind": "post",
            "id": item_id,
            "url": f"https://my.example/post/{item_id}",
            "author": "https://my.example/u/alice",
            "author_id": 5,
        },
        "image": {"url": f"https://x.example/{item_id}.png", "location": "post_url"},
        "rule": rule,
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {item_id}"}],
    }


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        store.add_decision(_record(1, "known abusive image"))
        store.add_decision(_record(2, "nsfw outside nsfw communities"))
    finally:
        store.close()
    monkeypatch.setenv("MODBOT_STATE", str(path))
    return path


@pytest.mark.parametrize("command", ["audit", "undo"])
def test_a_rule_name_never_recorded_is_said_so_with_the_closest(state, capsys, command) -> None:
    assert main([command, "--rule", "known abusive imag"]) == 1
    out, err = capsys.readouterr()
    assert "no rule named 'known abusive imag' was ever recorded" in err, (out, err)
    assert "'known abusive image'" in err
    assert "no records match" not in out and "nothing to undo" not in out


@pytest.mark.parametrize("command", ["audit", "undo"])
def test_a_name_far_from_any_lists_the_rules_recorded(state, capsys, command) -> None:
    assert main([command, "--rule", "zzz"]) == 1
    err = capsys.readouterr().err
    assert "'known abusive image', 'nsfw outside nsfw communities'" in err, err


def test_a_recorded_rule_with_nothing_in_the_window_is_no_error(state, capsys) -> None:
    assert main(["audit", "--rule", "known abusive image", "--since", "1h"]) == 0
    assert "no records match" in capsys.readouterr().out
    assert main(["undo", "--rule", "known abusive image", "--since", "1h"]) == 0
    assert "nothing to undo" in capsys.readouterr().out
    assert main(["audit", "--rule", "known abusive image"]) == 0


def test_an_action_kind_that_does_not_exist_is_said_so_with_the_closest(state, capsys) -> None:
    assert main(["audit", "--action", "bann"]) == 1
    out, err = capsys.readouterr()
    assert "no action is called 'bann'; did you mean 'ban'" in err, (out, err)
    assert "no records match" not in out
    # a kind that exists but did nothing in the window is no error, an undo's kind too
    assert main(["audit", "--action", "ban"]) == 0
    assert "no records match" in capsys.readouterr().out
    assert main(["audit", "--action", "restore"]) == 0
