"""A rule that matched an exempt author's image (an admin's, a user in exempt.users, an
allow-listed file) is recorded with the rule, no action and `exempt` saying why; the
audit's table showed the rule and `-` for the actions, the same as an action that went
missing: an admin reading `csam ... -` could not tell that the bot was told not to act
from a bot that failed to. Now the line says `exempt: <why>`, as the HTML report does
(a moderator spared a removal but reported: the report and why no removal). Through
`modbot.cli.main`."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main
from modbot.store import Store


def record(item_id: int, exempt: str | None, actions: list[dict]) -> dict:
    return {
        "run_id": "r1",
        "decided_at": f"2026-01-0{item_id}T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": item_id, "author_id": 5},
        "image": {"url": f"https://x.example/{item_id}.png", "sha256": "ab" * 32},
        "scores": {"csam": 0.05},
        "labels": ["csam"],
        "rule": "csam",
        "actions": actions,
        "skipped": None,
        "exempt": exempt,
        "matched": [{"rule": "csam", "outcome": f"exempt: {exempt}" if exempt else "acted"}],
    }


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    try:
        store.add_decision(record(1, "the author is an admin", []))
        store.add_decision(
            record(
                2,
                "the author moderates this community",
                [{"action": "report", "status": "done", "detail": "reported"}],
            )
        )
        store.add_decision(
            record(3, None, [{"action": "remove", "status": "done", "detail": "removed"}])
        )
    finally:
        store.close()
    monkeypatch.setenv("MODBOT_STATE", str(path))
    return path


def test_the_table_says_why_no_action_was_taken(state, capsys):
    assert main(["audit"]) == 0
    lines = {line.split()[4]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["post:1"].endswith("exempt: the author is an admin"), lines["post:1"]
    assert lines["post:2"].endswith("report:done exempt: the author moderates this community")
    assert lines["post:3"].endswith("remove:done")
