"""A dry run remembers the actions it planned, so that one action (a ban of one person
for two of their posts) is planned once. `modbot run --dry-run` is a daemon that may run
beside the live one for weeks: every action it ever planned was kept, its memory growing
without bound. The oldest are now forgotten past ``MAX_PLANNED``."""

from __future__ import annotations

from modbot.actions import executor as executor_module
from modbot.actions.executor import Executor
from modbot.store import Store


class NoLemmy:
    api_version = "v3"

    def __getattr__(self, name):
        raise AssertionError(f"a dry run's plan asked Lemmy: {name}")


def test_a_dry_runs_memory_of_planned_actions_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(executor_module, "MAX_PLANNED", 3, raising=False)
    store = Store(tmp_path / "state.sqlite3")
    try:
        ex = Executor(NoLemmy(), store, run_id="dry", dry_run=True)  # type: ignore[arg-type]
        outcomes = [ex.once("report", f"post:{i}", f"report post {i}", send=None) for i in range(5)]
        assert [o.status for o in outcomes] == ["planned"] * 5
        assert len(ex._planned) == 3
        again = ex.once("report", "post:4", "report post 4", send=None)
        assert again.status == "skipped" and "already planned" in again.detail
        assert ex.planned_already("report", "post:4") and not ex.planned_already("report", "post:0")
    finally:
        store.close()
