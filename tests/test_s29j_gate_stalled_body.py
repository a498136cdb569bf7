"""A body that stops coming (pict-rs' connection stalled, a network that dropped it
without a FIN, a client trickling bytes): before, the gate read it with no deadline, so
the request was never answered, its bytes stayed counted in the files held (the next
uploads found the gate ``busy``) and nothing was recorded. Now the body must come within
``gate.budget``, as the verdict must: past it ``gate.on_timeout`` decides, the request is
counted, told to the admins and recorded (reason ``timeout``), and its bytes are free.
A gate served as ``modbot gate`` serves it, driven with a raw socket."""

from __future__ import annotations

import socket
import time

import pytest
from test_gate_decide import SECRET, gate_for
from test_s27e_gate_hash_error import records

from classifier.service import WorkerServer, bind_socket

WAIT = 8.0  # far past the 0.5 s budget: no answer by then is no answer at all


def answer_to_a_stalled_body(server: WorkerServer) -> bytes:
    """POST a chunked body (as pict-rs streams it), send 16 bytes of it, then nothing."""
    with socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.sendall(
            f"POST /validate/{SECRET} HTTP/1.1\r\nHost: gate\r\nContent-Type: image/png\r\n"
            "Transfer-Encoding: chunked\r\n\r\n10\r\n".encode()
            + b"\x89PNG\r\n\x1a\n12345678\r\n"
        )
        got = b""
        try:
            while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except TimeoutError:
            pass
        return got


@pytest.mark.parametrize("on_timeout,status", [("reject", 503), ("allow", 200)])
def test_a_body_that_stops_coming_is_answered_within_the_budget(tmp_path, on_timeout, status):
    gate = gate_for(tmp_path, f"gate: {{budget: 0.5s, on_timeout: {on_timeout}}}\n", {})
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))  # type: ignore[arg-type]
    server.start()
    try:
        started = time.monotonic()
        answer = answer_to_a_stalled_body(server)
        took = time.monotonic() - started
        # before: no answer at all (pict-rs waits its 30 s, then fails the upload)
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer
        assert took < 3.0, took
        outcome = "refused_without_verdict" if status == 503 else "allowed_without_verdict"
        assert outcome.encode() in answer, answer
        assert gate.counters[outcome] == 1
        assert gate._held == 0  # its bytes are free for the next uploads (before: held)
        assert gate.reports.pending == {f"{outcome}: timeout": 1}
    finally:
        server.stop()
        gate.close()
    (record,) = records(tmp_path)  # before: none
    assert record["gate"]["outcome"] == outcome
    assert record["gate"]["reason"] == "timeout"
    # the bytes that came, not the file's size, which a chunked body never says
    # (test_s31a_gate_too_large_record: before, "size": 16)
    assert (record["gate"]["size"], record["gate"]["size_read"]) == (None, 16)
    assert "did not all come" in record["image"]["hashes_not_taken"]["sha256"]
    assert "body" in record["gate"]["why"], record["gate"]
