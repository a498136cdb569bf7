"""A request cut off mid-body (the sender killed) never reaches the fake Lemmy's handlers,
as with the real server: nothing is done and it is not counted as received."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from fakelemmy import FakeLemmy


def test_a_request_cut_off_mid_body_is_neither_recorded_nor_carried_out():
    with FakeLemmy() as lemmy:
        target = lemmy.add_person("alice")
        url = urlsplit(lemmy.url)
        whole = b'{"person_id": %d, "ban": true, "reason": "x"}' % target.id
        head = (
            b"POST /api/v3/user/ban HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(whole)
        )
        with socket.create_connection((url.hostname, url.port)) as sock:
            sock.sendall(head + whole[:10])
            time.sleep(0.3)
        time.sleep(0.5)
        assert not [r for r in lemmy.requests if r.path == "/api/v3/user/ban"]
        assert not lemmy.person(target.id).banned
