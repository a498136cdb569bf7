"""Behind a state file another process holds locked, the gate keeps what it has to
write in memory, bounded, and an accepted file's record gives way once half of that
waits, so that the evidence of a refusal always has room (README: "up to 10,000 wait in
memory"). Each file the gate classifies also caches its verdict, and those writes were
queued up to the whole bound: a run of accepted uploads filled it with verdicts, and the
record of the next refused upload was dropped ("NOT written"), the one record an admin
needs. A verdict not cached is only made again: it gives way as an accepted record does."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3

from test_gate_decide import ask, gate_for

from modbot.modes import gate_state

KNOWN_BAD = b"\x89PNG\r\n\x1a\n known bad"


def test_verdicts_cached_behind_a_lock_leave_room_for_a_refusals_record(tmp_path, monkeypatch):
    monkeypatch.setattr(gate_state, "MAX_PENDING_WRITES", 4)
    monkeypatch.setattr(gate_state, "MAX_PENDING_SPARE", 2)
    monkeypatch.setattr(gate_state, "WRITE_BUSY_S", 0.2)
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  known-bad: {kind: sha256, file: bad.txt}
rules:
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
""",
        {"bad.txt": hashlib.sha256(KNOWN_BAD).hexdigest() + "\n"},
    )
    holder = sqlite3.connect(tmp_path / "state.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writes, for long

    async def uploads() -> list[tuple[int, dict]]:
        answers = [await ask(gate, b"\x89PNG\r\n\x1a\n file %d" % n) for n in range(4)]
        return [*answers, await ask(gate, KNOWN_BAD)]

    try:
        answers = asyncio.run(uploads())
        assert [status for status, _ in answers] == [200, 200, 200, 200, 406]
        assert gate.engine.given == 4  # each accepted file was classified
        holder.rollback()  # the lock frees: what waits is written
        gate.state.close()
        refused = [
            r for _id, r in gate.store.gate_window(None) if r["gate"]["outcome"] == "rejected"
        ]
    finally:
        holder.close()
        gate.close()
    # before: its record was dropped (4 writes waited: the verdicts of the files before)
    assert [r["image"]["sha256"] for r in refused] == [hashlib.sha256(KNOWN_BAD).hexdigest()]
    assert refused[0]["rule"] == "known bad"
