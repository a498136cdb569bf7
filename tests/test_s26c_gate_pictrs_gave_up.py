"""pict-rs gives up on the gate after its `external_validation_timeout`, counted over the
whole call (the fake pict-rs now does as the real one: tests/test_s26c_pictrs_validation_
timeout.py), and fails the upload closed. A gate answering after that (a budget over
pict-rs' timeout, PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT set lower than the default)
logged "stored WITHOUT a check", counted the file allowed, recorded it as answered 200 and
told the admins it was stored unchecked: none of it true, the upload had failed, and
nothing said the timeouts disagree. Now the gate sees pict-rs gone before it answers:
counted `hung_up`, a warning with both times and what to set, the record's status null
with `pictrs_gave_up`, and nothing told as stored."""

from __future__ import annotations

import hashlib
import logging
import time

import httpx
from test_gate_decide import Stuck, gate_for

from classifier.service import WorkerServer, bind_socket
from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"


def test_an_answer_after_pict_rs_gave_up_is_not_counted_or_told_as_stored(
    fake_lemmy, tmp_path, caplog
):
    gate = gate_for(tmp_path, "gate: {budget: 2.5s, on_timeout: allow}\n", {})
    gate.engine = Stuck()  # no verdict: gate.on_timeout decides at the budget
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))  # type: ignore[arg-type]
    server.start()
    data = hostile.jpeg(color=(9, 99, 199))
    try:
        fake_lemmy.external_validation = f"{server.url}/validate/{SECRET}"
        fake_lemmy.external_validation_timeout = 1.0  # under gate.budget
        jwt = httpx.post(
            f"{fake_lemmy.url}/api/v3/user/login",
            json={"username_or_email": "alice", "password": PASSWORD},
        ).json()["jwt"]
        with caplog.at_level(logging.WARNING, logger="modbot.modes.gate"):
            answer = httpx.post(
                f"{fake_lemmy.url}/pictrs/image",
                files={"images[]": ("a.jpg", data, "image/jpeg")},
                headers={"Authorization": f"Bearer {jwt}"},
                timeout=60,
            )
            assert answer.status_code == 500, answer.text  # pict-rs failed it closed
            deadline = time.monotonic() + 10
            while gate.counters["hung_up"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # its record
    finally:
        gate.engine.go.set()
        server.stop()
        gate.close()
    assert gate.counters["hung_up"] == 1
    assert gate.counters["allowed_without_verdict"] == 0
    assert not gate.reports.pending  # nothing told to the admins as stored unchecked
    said = caplog.text
    assert "stored WITHOUT a check" not in said
    assert "pict-rs gave up" in said and "gate.budget 2.5s" in said
    assert "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT" in said
    store = Store(tmp_path / "state.sqlite3")
    try:
        ((_id, record),) = store.gate_window(None)
    finally:
        store.close()
    assert record["image"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["gate"]["status"] is None and record["gate"]["pictrs_gave_up"] is True
    assert record["gate"]["outcome"] == "allowed_without_verdict"  # what the gate decided
