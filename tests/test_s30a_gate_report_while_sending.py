"""A file decided without a verdict while the admins' report is being sent (Lemmy slow:
each private message can take seconds) is told in the next report, even when the gate
stops before that one. The report marks the newest gate record it counted as told, so a
restart does not tell the same files again. Before, that mark was read after the
message was sent: the record of a file noted meanwhile (not in the report) was already
on disk and counted as told, so if the gate stopped before its next report, its next
start skipped it, and the admins never heard that the file was stored unchecked (the
very time the classifier is down, files come in while the report is sent). Now the mark
is read before the report takes its files: only records whose files it holds."""

from __future__ import annotations

import asyncio
import hashlib
import time

from test_s25n_gate_reports_survive_restart import ask, messages_within, start_gate

import modbot.modes.gate
from modbot.modes.gate import AdminReports
from modbot.store import Store

PM = "/api/v3/private_message"


def age_last_report(tmp_path, seconds: float) -> None:
    store = Store(tmp_path / "state.sqlite3")
    store.set_cursor(AdminReports.CURSOR, repr(time.time() - seconds))
    store.close()


def test_a_file_noted_while_the_report_is_sent_is_told_after_a_restart(
    fake_lemmy, tmp_path, monkeypatch
):
    monkeypatch.setattr(modbot.modes.gate, "REPORT_CHECK_S", 0.1)
    age_last_report(tmp_path, 3601)  # a report is due
    fake_lemmy.delay(PM, 3.0, times=1)  # Lemmy takes its time with the message
    gate = start_gate(tmp_path, fake_lemmy)
    try:
        assert asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n first")) == 200
        deadline = time.monotonic() + 10  # the report took the first file
        while gate.reports.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not gate.reports.pending
        # while the message is on its way, another file is stored unchecked
        assert asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n second")) == 200
        (first,) = messages_within(fake_lemmy, 15)
        deadline = time.monotonic() + 5  # the report's marks are written after it
        while gate.reports.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        gate.close()  # stopped before report_every: the second is told by the next start
    assert "decided 1 file(s) without a verdict" in first.content

    age_last_report(tmp_path, 3601)
    gate = start_gate(tmp_path, fake_lemmy)
    try:
        # before: no second message (the second file's record was marked told)
        deadline = time.monotonic() + 15
        while len(fake_lemmy.private_messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        messages = list(fake_lemmy.private_messages)
    finally:
        gate.close()
    assert len(messages) == 2, [m.content for m in messages]
    assert "decided 1 file(s) without a verdict" in messages[1].content
    sha256 = hashlib.sha256(b"\x89PNG\r\n\x1a\n second").hexdigest()
    assert sha256 in messages[1].content
