"""The gate's last resort (``Gate.validate``) when an error comes after the file was
decided and counted: its record's write refused (as by a state file's writer shut down
under it), or the answer's own. Before, the handler forgot the decision: it answered
``gate.on_timeout``'s answer instead (a file a hash list refused was stored under
``on_timeout: allow``; a clean one refused under ``reject``), counted the file a second
time (``/healthz``: accepted 1 and allowed_without_verdict 1 for one upload), noted it a
second time for the admins' report, and logged ``sha256 None`` though the hash was
known. Now the decision stands: pict-rs hears it, the file is counted and reported once,
and one log line names the file, what was decided and that its record was not written,
with the traceback."""

from __future__ import annotations

import hashlib
import logging

import pytest
from test_gate_decide import CLASSIFIER, SECRET, Engine
from test_s27e_gate_hash_error import records, upload

from fakelemmy import hostile
from modbot.config.policy import Policy, load_policy
from modbot.modes.gate import Gate
from modbot.modes.gate_state import GateState
from modbot.store import Store

RULES = """
hash_lists:
  known-bad: {{kind: sha256, file: bad.txt}}
rules:
  - name: known bad
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
gate: {{on_timeout: {on_timeout}}}
"""
ERROR = "the state file's writer is shut"
OUTCOMES = ("accepted", "rejected", "allowed_without_verdict", "refused_without_verdict")


def record_fails(monkeypatch) -> None:
    async def record(*args, **kwargs):
        raise RuntimeError(ERROR)

    monkeypatch.setattr(GateState, "record", record)


def run(fake_lemmy, tmp_path, caplog, on_timeout: str, data: bytes, listed: bool):
    sha256 = hashlib.sha256(data).hexdigest()
    (tmp_path / "bad.txt").write_text((sha256 if listed else "0" * 64) + "\n")
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + RULES.format(on_timeout=on_timeout))
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)
    try:
        with caplog.at_level(logging.WARNING):
            answer = upload(fake_lemmy, gate, data)
    finally:
        gate.close()
        store.close()
    said = [r for r in caplog.records if ERROR in r.getMessage() or r.exc_info]
    return gate, answer, said


@pytest.mark.parametrize("on_timeout", ["allow", "reject"])
@pytest.mark.parametrize("listed", [True, False], ids=["refused-by-a-list", "clean"])
def test_a_decided_file_whose_record_fails_keeps_its_answer_and_one_count(
    fake_lemmy, tmp_path, caplog, monkeypatch, on_timeout, listed
):
    data = hostile.jpeg(color=(49 + listed, 149, 249))
    sha256 = hashlib.sha256(data).hexdigest()
    record_fails(monkeypatch)
    gate, answer, said = run(fake_lemmy, tmp_path, caplog, on_timeout, data, listed)
    # what pict-rs heard: the decision (before: gate.on_timeout's answer, so a known-bad
    # file was stored under `allow` and a clean one refused under `reject`)
    assert fake_lemmy.validations[-1].status == (406 if listed else 200)
    assert answer.status_code == (400 if listed else 201), answer.text
    decided = "rejected" if listed else "accepted"
    # counted once, as decided (before: also as allowed/refused_without_verdict)
    assert {k: gate.counters[k] for k in OUTCOMES} == {k: int(k == decided) for k in OUTCOMES}
    assert not gate.reports.pending  # no file went without a verdict (before: one)
    assert records(tmp_path) == []  # its write was refused
    assert gate.state.not_written == 1  # /healthz's state_file.not_written (before: 0)
    # logged once, naming the file (before: "sha256 None"), what was decided, and that
    # the log is its only record
    assert [r.name for r in said] == ["modbot.modes.gate"], [r.getMessage() for r in said]
    message = said[0].getMessage()
    assert sha256 in message and decided in message and said[0].exc_info, message
    assert "not recorded" in message.lower(), message


@pytest.mark.parametrize("on_timeout", ["allow", "reject"])
def test_an_error_while_deciding_then_its_record_failing_is_counted_once(
    fake_lemmy, tmp_path, caplog, monkeypatch, on_timeout
):
    """Deciding fails (a bug in the rules' code: ``gate_error``), is counted and noted for
    the admins; then the record's write fails too. Before: counted and noted twice."""

    def decide(self, subject):
        raise RuntimeError("a bug in the rules' code")

    monkeypatch.setattr(Policy, "decide", decide)
    record_fails(monkeypatch)
    data = hostile.jpeg(color=(59, 159, 9))
    sha256 = hashlib.sha256(data).hexdigest()
    gate, _answer, said = run(fake_lemmy, tmp_path, caplog, on_timeout, data, False)
    allow = on_timeout == "allow"
    assert fake_lemmy.validations[-1].status == (200 if allow else 503)
    outcome = "allowed_without_verdict" if allow else "refused_without_verdict"
    assert {k: gate.counters[k] for k in OUTCOMES} == {k: int(k == outcome) for k in OUTCOMES}
    assert gate.reports.pending == {f"{outcome}: gate_error": 1}  # before: 2
    assert any(sha256 in r.getMessage() and ERROR in r.getMessage() for r in said), [
        r.getMessage() for r in said
    ]


def test_an_error_before_the_decision_is_counted_counts_it_once(
    fake_lemmy, tmp_path, caplog, monkeypatch
):
    """The error comes after deciding but before the decision is counted (here asking
    whether pict-rs is still there): the decision is answered and counted once."""
    from starlette.requests import Request

    async def is_disconnected(self):
        raise RuntimeError(ERROR)

    monkeypatch.setattr(Request, "is_disconnected", is_disconnected)
    data = hostile.jpeg(color=(69, 169, 19))
    sha256 = hashlib.sha256(data).hexdigest()
    gate, answer, said = run(fake_lemmy, tmp_path, caplog, "allow", data, True)
    assert fake_lemmy.validations[-1].status == 406  # before: 200, the known-bad file stored
    assert answer.status_code == 400, answer.text
    assert {k: gate.counters[k] for k in OUTCOMES} == {k: int(k == "rejected") for k in OUTCOMES}
    assert not gate.reports.pending
    assert records(tmp_path) == []
    assert gate.state.not_written == 1
    (line,) = [r.getMessage() for r in said]
    assert sha256 in line and "not recorded" in line.lower(), line
