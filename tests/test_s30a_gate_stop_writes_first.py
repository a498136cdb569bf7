"""A stopping gate settles its waiting records before it waits for its report and feed
threads. The state file locked by another process (the bot's long transaction) holds
both the gate's records (waiting in its writer) and its report thread (its cursor write
waits for the lock, up to the state's 30 s busy timeout). Before, ``Gate.close`` joined
the report thread (up to 30 s), then the feeds' (30 s more), and only then closed the
state: a record still waiting was neither written nor logged until then, past the
compose file's ``stop_grace_period`` (30 s, of which uvicorn takes what the requests
in flight need): SIGKILL lost it with no trace. Now the records are settled first:
written, or (the file still locked after one more try) logged whole as NOT written,
their only record, before the threads are waited for."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time

from test_s25n_gate_reports_survive_restart import SECRET, DownEngine, ask

import modbot.modes.gate
import modbot.modes.gate_state
from modbot.config.policy import load_policy
from modbot.modes.gate import AdminReports, Gate
from modbot.store import Store

RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
gate: {budget: 5s, on_timeout: allow, report_every: 1h}
"""
HUNG_S = 6.0  # how long the report thread's cursor write waits for the lock


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_record_waiting_at_stop_is_settled_before_the_report_thread_is_waited_for(
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
        assert asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n stored unchecked")) == 200
        # the report is logged, then its cursor write waits for the lock
        assert wait_for(lambda: "admin report:" in caplog.text, 5), caplog.text
        time.sleep(0.3)
        closing = threading.Thread(target=gate.close)
        closing.start()  # SIGTERM
        # before: nothing until the report thread gave up (HUNG_S), SIGKILL's window
        settled = wait_for(lambda: "NOT written to the state file" in caplog.text, HUNG_S / 2)
        assert settled, caplog.text
        (line,) = [r.getMessage() for r in caplog.records if "NOT written" in r.getMessage()]
        assert "the evidence of allowed_without_verdict sha256 " in line, line
        assert "gate.on_timeout: allow" in line, line
    finally:
        if closing is not None:
            closing.join(timeout=60)
        other.execute("ROLLBACK")
        other.close()
        if closing is None:
            gate.close()
        store.close()
