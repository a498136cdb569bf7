"""An error while the gate decides on a file that says nothing of the file: a bug in
the rules' code (``policy.decide`` raising in the hash thread) or the process shutting
down (``run_in_executor`` refusing the hash thread once the pool is shut). Before, it
went up through the request: the web framework answered 500, pict-rs failed the upload
with no explanation, no decision was recorded and the gate's own log said nothing (only
the server's traceback). Now the gate answers as it does for a file it has no verdict on
(``gate.on_timeout``: allow stores it, reject refuses it), records that decision with
the error (reason ``gate_error``), counts it, tells the admins' report, and logs it once,
with its traceback."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from test_gate_decide import CLASSIFIER, SECRET, Engine
from test_s27e_gate_hash_error import records, upload

from fakelemmy import hostile
from modbot.config.policy import Policy, load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

RULES = """
hash_lists:
  look-alikes: {{kind: pdq, file: pdq.txt}}
rules:
  - name: look-alike
    if: {{type: incoming, hash_list: look-alikes}}
    then: {{reject: true}}
gate: {{on_timeout: {on_timeout}}}
"""
ERROR = "a bug in the rules' code"


def decide_raises(monkeypatch) -> None:
    def decide(self, subject):
        raise RuntimeError(ERROR)

    monkeypatch.setattr(Policy, "decide", decide)


def executor_shut(monkeypatch) -> None:
    """The loop's default executor refuses the gate's hash thread, as once it is shut."""
    real = asyncio.BaseEventLoop.run_in_executor

    def run_in_executor(self, executor, func, *args):
        if getattr(func, "__func__", None) is Gate._hash_plan:
            raise RuntimeError(ERROR)
        return real(self, executor, func, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", run_in_executor)


@pytest.mark.parametrize("failing", [decide_raises, executor_shut], ids=["decide", "executor"])
@pytest.mark.parametrize("on_timeout", ["allow", "reject"])
def test_an_error_while_deciding_is_answered_as_on_timeout_and_recorded(
    fake_lemmy, tmp_path, caplog, monkeypatch, failing, on_timeout
):
    data = hostile.jpeg(color=(29, 129, 229))
    sha256 = hashlib.sha256(data).hexdigest()
    (tmp_path / "pdq.txt").write_text("f" * 64 + "\n")
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + RULES.format(on_timeout=on_timeout))
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)
    failing(monkeypatch)
    try:
        with caplog.at_level(logging.WARNING):
            answer = upload(fake_lemmy, gate, data)
    finally:
        gate.close()
        store.close()
    allow = on_timeout == "allow"
    # what pict-rs was told (before: 500 both ways)
    assert fake_lemmy.validations[-1].status == (200 if allow else 503)
    assert answer.status_code == (201 if allow else 400), answer.text
    (record,) = records(tmp_path)  # before: none
    assert record["image"]["sha256"] == sha256
    assert record["rule"] == f"gate.on_timeout: {on_timeout}"
    gate_part = record["gate"]
    assert gate_part["outcome"] == (
        "allowed_without_verdict" if allow else "refused_without_verdict"
    )
    assert gate_part["status"] == (200 if allow else 503)
    assert gate_part["reason"] == "gate_error"
    assert f"RuntimeError: {ERROR}" in gate_part["why"], gate_part
    assert gate.counters[gate_part["outcome"]] == 1
    assert gate.reports.pending == {f"{gate_part['outcome']}: gate_error": 1}
    # logged once, by the gate, naming the file, with the traceback
    said = [r for r in caplog.records if ERROR in r.getMessage() or r.exc_info]
    assert [r.name for r in said] == ["modbot.modes.gate"], [(r.name, r.getMessage()) for r in said]
    assert sha256 in said[0].getMessage() and said[0].exc_info, said[0].getMessage()


@pytest.mark.parametrize("on_timeout", ["allow", "reject"])
def test_an_error_past_deciding_is_answered_as_on_timeout(
    fake_lemmy, tmp_path, caplog, monkeypatch, on_timeout
):
    """The last resort: an error outside deciding, before the file is decided (here
    reading the body) is answered as ``gate.on_timeout`` says and logged once; before, a
    500. Nothing can be recorded then. (This test drove it by the record's write
    refused, after deciding: since s28b the decision stands then,
    tests/test_s28b_gate_last_resort.py.)"""
    data = hostile.jpeg(color=(39, 139, 239))
    (tmp_path / "pdq.txt").write_text("f" * 64 + "\n")
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + RULES.format(on_timeout=on_timeout))
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)

    async def body(*args, **kwargs):
        raise RuntimeError(ERROR)

    monkeypatch.setattr(Gate, "_body", body)
    try:
        with caplog.at_level(logging.WARNING):
            upload(fake_lemmy, gate, data)
    finally:
        gate.close()
        store.close()
    allow = on_timeout == "allow"
    assert fake_lemmy.validations[-1].status == (200 if allow else 503)  # before: 500
    outcome = "allowed_without_verdict" if allow else "refused_without_verdict"
    assert gate.reports.pending == {f"{outcome}: gate_error": 1}
    said = [r for r in caplog.records if ERROR in r.getMessage() or r.exc_info]
    assert [r.name for r in said] == ["modbot.modes.gate"], [(r.name, r.getMessage()) for r in said]
    assert "while handling the request" in said[0].getMessage() and said[0].exc_info
