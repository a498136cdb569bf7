"""An error around the gate's perceptual hashing (its thread, the decode's planning, a
file descriptor or thread the system would not give) says nothing of the file. Before,
only a MemoryError there was caught: any other error left the request as a 500 from the
web framework, so pict-rs failed the upload with no decision recorded and nothing in
the gate's log but a traceback. Now the gate decides as it does when the hash's own
code fails on a file, and as the bot does for such an error: the hashes of the bytes
and the classifier's verdict decide, a warning names the file and the error, and the
record says why the list's kind was not taken. pict-rs is answered as usual."""

from __future__ import annotations

import hashlib
import logging

import httpx
import pytest
from test_gate_decide import CLASSIFIER, SECRET, Engine

import modbot.modes.gate
from classifier.service import WorkerServer, bind_socket
from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD
from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

RULES = """
hash_lists:
  look-alikes: {kind: pdq, file: pdq.txt}
  known-bad: {kind: sha256, file: bad.txt}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes}
    then: {reject: true}
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
"""


@pytest.fixture
def hashing_fails(monkeypatch):
    """The gate's perceptual hashing raises what an error around it would."""
    calls = []

    def decoded_hashes(*args, **kwargs):
        calls.append(args)
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(modbot.modes.gate, "decoded_hashes", decoded_hashes)
    return calls


def upload(fake_lemmy, gate: Gate, data: bytes) -> httpx.Response:
    """``data`` uploaded to the fake Lemmy, whose pict-rs asks the gate (served over HTTP
    as ``modbot gate`` serves it) before it stores the file."""
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))  # type: ignore[arg-type]
    server.start()
    try:
        fake_lemmy.external_validation = f"{server.url}/validate/{SECRET}"
        jwt = httpx.post(
            f"{fake_lemmy.url}/api/v3/user/login",
            json={"username_or_email": "alice", "password": PASSWORD},
        ).json()["jwt"]
        return httpx.post(
            f"{fake_lemmy.url}/pictrs/image",
            files={"images[]": ("a.jpg", data, "image/jpeg")},
            headers={"Authorization": f"Bearer {jwt}"},
            timeout=60,
        )
    finally:
        server.stop()


def records(tmp_path) -> list[dict]:
    store = Store(tmp_path / "state.sqlite3")
    try:
        return [record for _id, record in store.gate_window(None)]
    finally:
        store.close()


@pytest.mark.parametrize("listed", [False, True], ids=["clean", "on-an-exact-list"])
def test_an_error_around_the_hashing_is_answered_and_recorded(
    fake_lemmy, tmp_path, caplog, hashing_fails, listed
):
    data = hostile.jpeg(color=(19, 119, 219))
    sha256 = hashlib.sha256(data).hexdigest()
    (tmp_path / "pdq.txt").write_text("f" * 64 + "\n")
    (tmp_path / "bad.txt").write_text((sha256 if listed else "0" * 64) + "\n")
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + RULES)
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)
    try:
        with caplog.at_level(logging.WARNING, logger="modbot.modes.gate"):
            answer = upload(fake_lemmy, gate, data)
    finally:
        gate.close()
        store.close()
    assert hashing_fails  # the hash thread ran
    (record,) = records(tmp_path)  # before: none (the gate answered 500)
    assert record["image"]["sha256"] == sha256
    assert "OSError" in record["image"]["hashes_not_taken"]["pdq"], record
    if listed:  # the hashes of the bytes still refuse it
        assert answer.status_code == 400, answer.text  # pict-rs refused it
        assert (record["gate"]["status"], record["rule"]) == (406, "known bad")
    else:  # the verdict decides, as in the bot
        assert answer.status_code == 201, answer.text  # before: 500, the upload failed
        assert record["gate"]["status"] == 200
        assert record["gate"]["outcome"] == "accepted"
        assert gate.engine.given == 1
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(sha256[:12] in s and "Too many open files" in s for s in said), said
