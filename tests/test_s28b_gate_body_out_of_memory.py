"""The gate runs out of memory keeping an upload's body (a large file under a memory
bound: RLIMIT_AS, a container's limit). Before, the MemoryError went to the last resort:
nothing decided, so gate.on_timeout answered (a file on a sha256 list was stored under
`allow`), with no record, and the log said `sha256 None`. Now the body is not kept, as
when the gate holds all the bytes it may: it is hashed as it comes, the hashes of its
bytes decide what they can (that file is refused), else gate.on_timeout with reason
`out_of_memory`, recorded with its hash, and the record says why."""

from __future__ import annotations

import hashlib
import io
import logging
import types

import pytest
from test_gate_decide import CLASSIFIER, SECRET, Engine
from test_s27e_gate_hash_error import records, upload

import modbot.modes.gate
from fakelemmy import hostile
from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

RULES = """
hash_lists:
  known-bad: {kind: sha256, file: bad.txt}
rules:
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
gate: {on_timeout: allow}
"""


class _NoMemory(io.BytesIO):
    def write(self, data):  # type: ignore[override]
        raise MemoryError


@pytest.mark.parametrize("listed", [True, False], ids=["on-a-sha256-list", "clean"])
def test_a_body_the_gate_has_no_memory_for_is_hashed_decided_and_recorded(
    fake_lemmy, tmp_path, caplog, monkeypatch, listed
):
    data = hostile.jpeg(color=(79, 179, 29))
    sha256 = hashlib.sha256(data).hexdigest()
    (tmp_path / "bad.txt").write_text((sha256 if listed else "0" * 64) + "\n")
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + RULES)
    monkeypatch.setattr(modbot.modes.gate, "io", types.SimpleNamespace(BytesIO=_NoMemory))
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)
    try:
        with caplog.at_level(logging.WARNING):
            answer = upload(fake_lemmy, gate, data)
    finally:
        gate.close()
        store.close()
    (record,) = records(tmp_path)  # before: none
    assert record["image"]["sha256"] == sha256
    assert gate.engine.given == 0  # nothing kept to classify
    if listed:  # before: stored (gate.on_timeout: allow)
        assert fake_lemmy.validations[-1].status == 406
        assert answer.status_code == 400, answer.text
        assert (record["rule"], record["gate"]["outcome"]) == ("known bad", "rejected")
    else:
        assert answer.status_code == 201, answer.text
        assert record["gate"]["outcome"] == "allowed_without_verdict"
        assert record["gate"]["reason"] == "out_of_memory"  # before: gate_error
        assert "out of memory" in record["gate"]["why"], record["gate"]
        assert "bytes of files held" not in record["gate"]["why"]  # not the `busy` text
        assert gate.reports.pending == {"allowed_without_verdict: out_of_memory": 1}
        said = [r.getMessage() for r in caplog.records if r.name == "modbot.modes.gate"]
        assert any(sha256 in s and "out of memory" in s for s in said), said
    assert gate._held == 0  # what it held is let go
