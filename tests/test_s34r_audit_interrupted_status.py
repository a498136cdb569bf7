"""A state an older modbot wrote holds decisions whose actions are recorded
`interrupted` (its journal's items, recovered by the next start: docs/ARCHITECTURE.md's
action statuses). `modbot audit --status interrupted` listed them where there were
some, but on a state with none it said "no action outcome is called 'interrupted'" and
exited 1, as for a typo, and --help did not name it: an admin asking whether any action
was left interrupted (the ones to check on Lemmy) was told it cannot be. Now it is an
outcome the audit (and `modbot undo`'s selection) names: none is "no records match",
exit 0. Through `modbot.cli.main`."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store

# as modbot 36724c8 to c6858f2 recorded a journal entry's item at the next start
INTERRUPTED = "modbot stopped while carrying this out; Lemmy may have done it (see the modlog)"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        for item_id, status in ((1, "done"), (2, "interrupted")):
            store.add_decision(
                {
                    "run_id": "r1",
                    "decided_at": f"2026-01-0{item_id}T00:00:00Z",
                    "dry_run": False,
                    "item": {"kind": "post", "id": item_id, "author_id": 5},
                    "image": {"url": f"https://x.example/{item_id}.png"},
                    "rule": "nsfw",
                    "actions": [{"action": "remove", "status": status, "detail": INTERRUPTED}],
                }
            )
    finally:
        store.close()
    monkeypatch.setenv("MODBOT_STATE", str(path))
    return path


def test_interrupted_actions_are_selected(state, capsys):
    assert main(["audit", "--status", "interrupted"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "post:2" in out and "remove:interrupted" in out and "post:1" not in out
    assert main(["audit", "--action", "remove", "--status", "interrupted", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"status": "interrupted"' in out and '"status": "done"' not in out


def test_none_interrupted_is_no_records_not_an_unknown_outcome(tmp_path, capsys):
    path = tmp_path / "none.sqlite3"
    store = Store(path)
    store.add_decision(
        {
            "run_id": "r1",
            "decided_at": "2026-01-01T00:00:00Z",
            "dry_run": False,
            "item": {"kind": "post", "id": 1},
            "image": {"url": "https://x.example/1.png"},
            "rule": "nsfw",
            "actions": [{"action": "remove", "status": "done"}],
        }
    )
    store.close()
    for command in (["audit"], ["audit", "--json"], ["undo"]):
        main([*command, "--state", str(path), "--status", "interrupted"])
        err = capsys.readouterr().err
        assert "no action outcome is called" not in err, (command, err)
    assert main(["audit", "--state", str(path), "--status", "interrupted"]) == 0
    assert "no records match" in capsys.readouterr().out


def test_the_help_and_the_typo_message_name_it(state, capsys):
    assert main(["audit", "--status", "interupted"]) == 1
    assert "did you mean 'interrupted'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    assert "not_possible, covered,\n" in (help_text := capsys.readouterr().out)
    assert "interrupted: a killed run" in help_text
