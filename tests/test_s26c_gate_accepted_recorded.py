"""`modbot gate` records the files it accepts, as it records those it refuses: "every
decision is recorded with the image hash, the scores, the rule and the outcome". Before,
a file the gate let through left no record: `modbot audit` and `modbot report` showed
the refusals only, and there was no evidence of what a verdict had passed. Now each
accepted file is a record of the same shape (one per request, as each refusal), seen by
`modbot audit --all` and counted in the report's `summary.gate`; when writes pile up
behind a locked state file, the accepted files' records give way first."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from modbot.config.policy import load_policy
from modbot.modes import gate_state
from modbot.modes.gate import Gate
from modbot.modes.report import add_gate_records
from modbot.modes.report_stream import ReportBuilder
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
FINE = b"\x89PNG\r\n\x1a\n a file no rule refuses"
BAD = b"\x89PNG\r\n\x1a\n a file on the known-bad list"
SPARED = b"\x89PNG\r\n\x1a\n a file on the allow-list"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
hash_lists:
  known-bad: {kind: sha256, file: bad.txt}
  innocent: {kind: sha256, file: innocent.txt}
exempt: {hash_lists: [innocent]}
rules:
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A classifier that finds nothing, at once."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


def make_gate(tmp_path: Path) -> Gate:
    (tmp_path / "bad.txt").write_text(sha(BAD) + "\n")
    (tmp_path / "innocent.txt").write_text(sha(SPARED) + "\n")
    (tmp_path / "rules.yaml").write_text(RULES)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


async def ask(gate: Gate, *bodies: bytes) -> list[int]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        return [
            (
                await client.post(
                    f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/png"}
                )
            ).status_code
            for body in bodies
        ]


def test_a_file_the_gate_accepts_is_recorded_and_listed_by_audit_and_report(tmp_path):
    gate = make_gate(tmp_path)
    try:
        assert asyncio.run(ask(gate, FINE, SPARED, BAD)) == [200, 200, 406]
    finally:
        gate.close()

    store = Store(tmp_path / "state.sqlite3")
    try:
        records = {r["image"]["sha256"]: r for _id, r in store.gate_window(None)}
        assert set(records) == {sha(FINE), sha(SPARED), sha(BAD)}
        fine = records[sha(FINE)]
        assert fine["item"]["kind"] == "incoming" and fine["run_id"] == gate.run_id
        assert fine["scores"] == {"nsfw": -0.5} and fine["rule"] is None
        assert fine["actions"] == [] and fine["skipped"] is None
        assert fine["gate"]["outcome"] == "accepted" and fine["gate"]["status"] == 200
        assert fine["gate"]["size"] == len(FINE) and fine["gate"]["media_type"] == "image/png"
        assert fine["gate"]["why"] == "no rule rejects it"
        spared = records[sha(SPARED)]
        assert spared["gate"]["outcome"] == "accepted" and "allow-list" in spared["gate"]["why"]
        assert records[sha(BAD)]["gate"]["outcome"] == "rejected"
        for record in records.values():  # hashes and numbers, as a refusal's: never the bytes
            assert len(json.dumps(record)) < 5000

        # the report of the window counts them with the refusals, by answer
        builder = ReportBuilder(tmp_path / "report.json", since=None)
        try:
            assert add_gate_records(builder, store, None) == 3
            summary = builder.summary()["gate"]
        finally:
            builder.close()
        assert summary["records"] == 3
        assert summary["by_outcome"] == {"accepted": 2, "rejected": 1}
    finally:
        store.close()

    # `modbot audit --all` lists the accepted file with its hash and scores
    state = str(tmp_path / "state.sqlite3")
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "audit", "--all", "--json", "--state", state],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = {r["image"]["sha256"]: r for r in json.loads(done.stdout)["records"]}
    assert listed[sha(FINE)]["gate"]["outcome"] == "accepted"
    assert listed[sha(FINE)]["scores"] == {"nsfw": -0.5}


def _record(sha256: str, outcome: str) -> dict:
    return {
        "run_id": "gate-test",
        "decided_at": "2026-12-03T12:00:00Z",
        "item": {"kind": "incoming", "id": None},
        "image": {"sha256": sha256},
        "rule": None,
        "gate": {"outcome": outcome, "status": 200 if outcome == "accepted" else 406},
    }


def test_behind_a_locked_state_file_accepted_files_give_way_to_refusals(
    tmp_path, monkeypatch, caplog
):
    """The records waiting in memory are bounded as before; an accepted file's record
    is not queued once half of that waits, so a flood of accepted uploads never takes
    the room of a refusal's evidence (which is queued, and written once the lock frees)."""
    monkeypatch.setattr(gate_state, "MAX_PENDING_WRITES", 4)
    monkeypatch.setattr(gate_state, "MAX_PENDING_SPARE", 2)
    monkeypatch.setattr(gate_state, "WRITE_BUSY_S", 0.2)
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    state = gate_state.GateState(store)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def answers() -> None:
        for n in range(3):
            await state.record(_record(sha(b"ok%d" % n), "accepted"), 0, spare=True)
        await state.record(_record(sha(b"refused"), "rejected"), 0)

    asyncio.run(answers())
    assert state.writes_waiting == 3 and state.not_written == 1
    assert f"the evidence of accepted sha256 {sha(b'ok2')}" in caplog.text
    holder.rollback()  # the lock frees: what waits is written
    state.close()
    written = [d["image"]["sha256"] for d in store.decisions()]
    assert written == [sha(b"ok0"), sha(b"ok1"), sha(b"refused")]
    store.close()
