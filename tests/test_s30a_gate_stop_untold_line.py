"""What a stopping gate had not yet told the admins is said in its log at once. The
line ("not yet told to the admins when the gate stopped: ...") is the admins' only
word, in the log, of files decided without a verdict since the last report, until
the next start reads their records back. Before, it came only after the report thread
had been waited for: up to 30 s when a report was under way (a slow Lemmy, or its
cursor write waiting for a state file another process holds locked), so a SIGKILL at
the end of the stop's grace period (30 s in the compose file, uvicorn's part first)
left no such line. Now it is said before the wait, after the records waiting were
settled, and says that a record logged as NOT written cannot be read back."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time

from test_s25n_gate_reports_survive_restart import SECRET, DownEngine, ask
from test_s30a_gate_stop_writes_first import HUNG_S, RULES, wait_for

import modbot.modes.gate
import modbot.modes.gate_state
from modbot.config.policy import load_policy
from modbot.modes.gate import AdminReports, Gate
from modbot.store import Store


def test_the_untold_files_are_said_before_the_report_thread_is_waited_for(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(modbot.modes.gate, "REPORT_CHECK_S", 0.1)
    monkeypatch.setattr(modbot.modes.gate_state, "WRITE_BUSY_S", 0.3)
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "state.sqlite3"
    store = Store(path, busy_timeout=HUNG_S)
    store.set_cursor(AdminReports.CURSOR, repr(time.time() - 3601))  # a report is due
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, DownEngine(), secret=SECRET)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writes, for long
    closing: threading.Thread | None = None
    caplog.set_level(logging.INFO)
    try:
        assert asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n in the report")) == 200
        # the report is logged, then its cursor write waits for the lock
        assert wait_for(lambda: "admin report:" in caplog.text, 5), caplog.text
        # a file decided meanwhile: not in that report
        assert asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n after the report")) == 200
        closing = threading.Thread(target=gate.close)
        closing.start()  # SIGTERM
        said = wait_for(lambda: "not yet told to the admins" in caplog.text, HUNG_S / 2)
        # before: only once the report thread gave up (HUNG_S)
        assert said, caplog.text
    finally:
        if closing is not None:
            closing.join(timeout=60)
        other.execute("ROLLBACK")
        other.close()
        if closing is None:
            gate.close()
        store.close()
    lines = [r.getMessage() for r in caplog.records]
    (untold,) = [n for n, line in enumerate(lines) if "not yet told to the admins" in line]
    assert "1 allowed_without_verdict: classifier_unavailable" in lines[untold]
    assert "NOT written" in lines[untold]  # what cannot be read back is said
    # the records were settled first: the lines of those not written come before it
    unwritten = [n for n, line in enumerate(lines) if line.startswith("NOT written")]
    assert len(unwritten) == 2 and max(unwritten) < untold, lines
