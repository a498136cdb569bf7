"""Several uploads of one file at once (a user's retries, a client that sends twice, a
raid posting the same picture), the classifier too slow for ``gate.budget`` and
``gate.on_timeout: allow``: every upload is stored unchecked, all of them waiting for the
one classification of the file, whose verdict comes late and matches a rule. Before,
/healthz's ``late_verdicts`` and ``late_matches`` counted it once per upload (3 verdicts,
3 matching files, for one classification of one file) and the log warned 3 times of the
same file. Now each counts what its name says: verdicts that came after their answer,
files let through that a rule matches now, once each; the log says it once, with how
many uploads of the file were let through (``allowed_without_verdict`` still counts each
upload)."""

from __future__ import annotations

import asyncio
import hashlib
import logging

from test_gate_decide import SECRET, Engine, ask, gate_for
from test_s29j_gate_healthz_no_classifier import healthz

from modbot.modes.gate import Gate

BUDGET = 0.3
SAME = b"\x89PNG\r\n\x1a\n the same picture"
OTHER = b"\x89PNG\r\n\x1a\n another picture"


class _Flagged:
    def to_dict(self) -> dict:
        return {"labels": ["nsfw"], "scores": {"nsfw": 0.5}, "unreadable": None,
                "concept_version": "v1"}  # fmt: skip


class SlowFlagging(Engine):
    """A classifier that flags every file nsfw, a second after it was given it."""

    async def classify(self, data: bytes):
        self.given += 1
        await asyncio.sleep(1.0)
        return _Flagged()


def test_one_late_verdict_on_a_file_uploaded_three_times_counts_once(tmp_path, caplog):
    made = gate_for(
        tmp_path,
        f"""
gate: {{on_timeout: allow, budget: {BUDGET}s}}
rules:
  - name: nsfw at the door
    if: {{type: incoming, labels: [nsfw]}}
    then: {{reject: true}}
""",
        {},
    )
    made.close()
    engine = SlowFlagging()
    gate = Gate(made.policy, made.store, engine, secret=SECRET)

    async def scenario() -> dict:
        answers = await asyncio.gather(*(ask(gate, SAME) for _ in range(3)), ask(gate, OTHER))
        assert [a["outcome"] for _, a in answers] == ["allowed_without_verdict"] * 4, answers
        assert engine.given == 2, "one classification a file"
        await asyncio.sleep(1.5)  # the late verdicts came
        return (await healthz(gate))[1]

    try:
        with caplog.at_level(logging.WARNING, logger="modbot.modes.gate"):
            body = asyncio.run(scenario())
    finally:
        gate.close()
        made.store.close()
    assert body["allowed_without_verdict"] == 4, body  # each upload
    # before: 4 and 4 (the file uploaded 3 times counted 3 times)
    assert (body["late_verdicts"], body["late_matches"]) == (2, 2), body
    warned = [r.getMessage() for r in caplog.records if "matches the rule" in r.getMessage()]
    same, other = hashlib.sha256(SAME).hexdigest(), hashlib.sha256(OTHER).hexdigest()
    assert len(warned) == 2, warned
    (of_same,) = [w for w in warned if same in w]
    (of_other,) = [w for w in warned if other in w]
    assert "3 uploads of it" in of_same, of_same
    assert "uploads of it" not in of_other, of_other  # one upload: said as before
