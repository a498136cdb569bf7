"""`modbot gate --dry-run` next to (or between runs of) the live gate, on one state file.
A dry run changes nothing: its admins' report is logged, never sent. Before, it still
wrote the report's cursors to the state file as if it had told the admins: the time of
the last report (holding the live gate's next one back by `gate.report_every`) and the
newest record told; and its start read back the live gate's files not yet told when it
stopped, "told" them in its log only and marked them told, so the live gate's next start
never told the admins of files it had stored unchecked. And the live gate's start read
back the dry run's files as if they had been refused. Now a dry run keeps its report's
time to itself, reads back no earlier run's files, and a live gate reads back only live
runs' files."""

from __future__ import annotations

import asyncio
import time

from test_s25n_gate_reports_survive_restart import (
    DownEngine,
    ask,
    messages_within,
    start_gate,
)

import modbot.modes.gate
from modbot.modes.gate import AdminReports, Gate
from modbot.store import Store


def cursors(tmp_path) -> tuple[str | None, str | None]:
    store = Store(tmp_path / "state.sqlite3")
    try:
        return store.get_cursor(AdminReports.CURSOR), store.get_cursor(AdminReports.TOLD)
    finally:
        store.close()


def age_last_report(tmp_path, seconds: float) -> None:
    store = Store(tmp_path / "state.sqlite3")
    store.set_cursor(AdminReports.CURSOR, repr(time.time() - seconds))
    store.close()


def dry_gate(tmp_path, fake_lemmy) -> Gate:
    made = start_gate(tmp_path, fake_lemmy)  # the same rules, login and state
    made.close()
    return Gate(
        made.policy,
        made.store,
        DownEngine(),
        secret="gate-secret-0123456789abcdef",
        settings=made.reports.settings,
        dry_run=True,
    )


def test_a_dry_run_does_not_take_the_live_gates_untold_files(
    fake_lemmy, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(modbot.modes.gate, "REPORT_CHECK_S", 0.1)
    age_last_report(tmp_path, 0)  # a report went out a moment ago
    live = start_gate(tmp_path, fake_lemmy)
    try:
        assert asyncio.run(ask(live, b"\x89PNG\r\n\x1a\n stored unchecked")) == 200
    finally:
        live.close()  # stopped before report_every: told by its next start
    age_last_report(tmp_path, 3601)
    before = cursors(tmp_path)

    dry = dry_gate(tmp_path, fake_lemmy)
    try:
        # a file of its own, decided without a verdict: logged, its report due
        assert asyncio.run(ask(dry, b"\x89PNG\r\n\x1a\n dry run file")) == 200
        deadline = time.monotonic() + 10
        while "admin report (dry run" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        dry.close()
    (line,) = [r.getMessage() for r in caplog.records if "admin report (dry run" in r.getMessage()]
    # its own file only; before: the live gate's too ("decided 2 file(s)")
    assert "decided 1 file(s) without a verdict" in line, line
    assert fake_lemmy.private_messages == []
    # before: both cursors moved, as if the admins had been told
    assert cursors(tmp_path) == before

    live = start_gate(tmp_path, fake_lemmy)
    try:
        # before: no message (the dry run had marked the live gate's file told)
        (message,) = messages_within(fake_lemmy, 15)
    finally:
        live.close()
    # the live gate's file, not the dry run's (which was stored, not refused)
    assert "decided 1 file(s) without a verdict" in message.content, message.content
    assert "1 allowed_without_verdict: classifier_unavailable" in message.content
