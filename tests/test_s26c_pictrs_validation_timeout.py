"""The fake pict-rs' `external_validation_timeout` bounds the whole call, as pict-rs 0.5's
does (reqwest's per-request timeout: connect, the body sent, the answer's headers; the
answer's body is never read). Before, it was httpx's timeout, applied to each step on
its own (each read, each write): a validator that trickled its answer, a few bytes at a
time, got a full timeout for each and the upload was stored long past pict-rs' limit;
and a validator whose answer's body came slowly after its status failed an upload
pict-rs would have stored."""

from __future__ import annotations

import socket
import threading
import time

import httpx

from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"


class SlowValidator:
    """A raw HTTP/1.1 server: reads the request (chunked body), then sends its answer's
    status line and headers ``trickle`` seconds per piece of 8 bytes, and its body
    ``body_delay`` seconds after them."""

    def __init__(self, trickle: float = 0.0, body_delay: float = 0.0) -> None:
        self.trickle, self.body_delay = trickle, body_delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/validate/s3cret"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while reader.readline() not in (b"\r\n", b""):  # the headers
                pass
            while True:  # the chunked body
                size = int(reader.readline().strip() or b"0", 16)
                reader.read(size + 2)
                if size == 0:
                    break
            for start in range(0, len(HEAD), 8):
                conn.sendall(HEAD[start : start + 8])
                time.sleep(self.trickle)
            time.sleep(self.body_delay)
            conn.sendall(b"{}")
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()

    def close(self) -> None:
        self.listener.close()


def upload(lemmy, data: bytes) -> httpx.Response:
    jwt = httpx.post(
        f"{lemmy.url}/api/v3/user/login",
        json={"username_or_email": "alice", "password": PASSWORD},
    ).json()["jwt"]
    return httpx.post(
        f"{lemmy.url}/pictrs/image",
        files={"images[]": ("a.jpg", data, "image/jpeg")},
        headers={"Authorization": f"Bearer {jwt}"},
        timeout=60,
    )


def test_the_timeout_bounds_the_whole_call_not_each_read(fake_lemmy):
    """The answer's head in 6 pieces 0.4 s apart: 2.4 s in all, no read over the 1 s."""
    slow = SlowValidator(trickle=0.4)
    try:
        fake_lemmy.external_validation = slow.url
        fake_lemmy.external_validation_timeout = 1.0
        started = time.monotonic()
        answer = upload(fake_lemmy, hostile.jpeg(color=(1, 2, 3)))
        took = time.monotonic() - started
    finally:
        slow.close()
    assert answer.status_code == 500, answer.text  # pict-rs fails closed
    assert "timed out" in answer.json()["msg"]
    assert took < 2.0, took  # at the timeout, not once the whole answer came
    (validation,) = fake_lemmy.validations
    assert validation.status is None and "timed out" in (validation.error or "")
    with fake_lemmy.state.lock:
        assert not fake_lemmy.state.uploads


def test_the_answers_body_is_never_waited_for(fake_lemmy):
    """Its status within the timeout stores the file, however slowly its body comes."""
    slow = SlowValidator(body_delay=2.0)
    try:
        fake_lemmy.external_validation = slow.url
        fake_lemmy.external_validation_timeout = 1.0
        answer = upload(fake_lemmy, hostile.jpeg(color=(4, 5, 6)))
    finally:
        slow.close()
    assert answer.status_code == 201, answer.text
    assert [v.status for v in fake_lemmy.validations] == [200]
