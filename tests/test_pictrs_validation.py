"""The fake pict-rs' external validation, against pict-rs 0.5's contract (pictrs.md §6):
what it sends the validator, and what each answer does to the upload."""

from __future__ import annotations

import http.server
import threading
import time

import httpx
import pytest

from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD


class Validator:
    """A stdlib HTTP server answering every POST with ``status`` (after ``delay``),
    keeping what it got: headers and the body as read."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        outer = self
        self.status, self.delay = status, delay
        self.got: list[tuple[str, dict[str, str], bytes]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        chunk = self.rfile.read(size + 2)[:size]
                        if size == 0:
                            break
                        body += chunk
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.got.append((self.path, dict(self.headers.items()), body))
                time.sleep(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/validate/s3cret?x=1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def validator():
    v = Validator()
    yield v
    v.close()


def upload(lemmy, data: bytes) -> httpx.Response:
    jwt = httpx.post(
        f"{lemmy.url}/api/v3/user/login",
        json={"username_or_email": "alice", "password": PASSWORD},
    ).json()["jwt"]
    return httpx.post(
        f"{lemmy.url}/pictrs/image",
        files={"images[]": ("a.png", data, "image/png")},
        headers={"Authorization": f"Bearer {jwt}"},
        timeout=60,
    )


def test_pictrs_sends_the_stored_file_as_it_does(fake_lemmy, validator, photos):
    fake_lemmy.external_validation = validator.url
    answer = upload(fake_lemmy, photos["coffee"])
    assert answer.status_code == 201 and answer.json()["msg"] == "ok", answer.text
    ((path, headers, body),) = validator.got
    assert path == "/validate/s3cret?x=1"  # the URL as configured, path and query kept
    assert body == photos["coffee"]
    assert headers["Content-Type"] == "image/jpeg"  # the stored type, whatever the form said
    assert headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in headers
    assert headers["User-Agent"] == "pict-rs v0.5.0-main"
    assert "Authorization" not in headers  # no credentials
    alias = answer.json()["files"][0]["file"]
    assert fake_lemmy.image_exists(alias)


def test_any_2xx_stores_anything_else_refuses(fake_lemmy, validator):
    fake_lemmy.external_validation = validator.url
    for status, stored in ((204, True), (406, False), (401, False), (500, False)):
        validator.status = status
        data = hostile.jpeg(color=(status % 256, 10, 10))
        answer = upload(fake_lemmy, data)
        if stored:
            assert answer.status_code == 201, answer.text
        else:  # Lemmy 0.19 passes pict-rs' 400 and message on
            assert answer.status_code == 400
            assert answer.json() == {"files": None, "msg": "Failed external validation"}
        direct = httpx.post(
            f"{fake_lemmy.pictrs_url}/image", files={"images[]": ("a.jpg", data, "image/jpeg")}
        )
        assert direct.status_code == (201 if stored else 400)
        if not stored:
            assert direct.json()["code"] == "failed-external-validation"
    assert [v.status for v in fake_lemmy.validations] == [204, 204, 406, 406, 401, 401, 500, 500]
    with fake_lemmy.state.lock:
        assert len(fake_lemmy.state.uploads) == 2  # the two 204s: nothing else was kept


def test_no_answer_fails_the_upload_closed(fake_lemmy):
    slow = Validator(delay=3)
    try:
        fake_lemmy.external_validation = slow.url
        fake_lemmy.external_validation_timeout = 1
        answer = httpx.post(
            f"{fake_lemmy.pictrs_url}/image",
            files={"images[]": ("a.jpg", hostile.jpeg(), "image/jpeg")},
            timeout=30,
        )
        assert answer.status_code == 500 and answer.json()["code"] == "http-client-error"
    finally:
        slow.close()
    fake_lemmy.external_validation = "http://127.0.0.1:9/validate/x"  # nobody listens
    answer = httpx.post(
        f"{fake_lemmy.pictrs_url}/image",
        files={"images[]": ("a.jpg", hostile.jpeg(), "image/jpeg")},
    )
    assert answer.status_code == 500 and answer.json()["code"] == "http-client-error"
    with fake_lemmy.state.lock:
        assert not fake_lemmy.state.uploads and not fake_lemmy.state.files


def test_the_first_fetch_of_a_proxied_image_is_validated(fake_lemmy, validator, photos):
    fake_lemmy.external_validation = validator.url
    validator.status = 406
    url = fake_lemmy.proxy_url(fake_lemmy.add_remote_file("cat.jpg", photos["chelsea"]))
    answer = httpx.get(url)
    assert answer.status_code == 400 and answer.json()["code"] == "failed-external-validation"
    validator.status = 200
    assert httpx.get(url).content == photos["chelsea"]
    assert httpx.get(url).content == photos["chelsea"]  # stored now: not validated again
    assert [v.status for v in fake_lemmy.validations] == [406, 200]


def test_without_a_validator_nothing_is_asked(fake_lemmy, photos):
    answer = upload(fake_lemmy, photos["coffee"])
    assert answer.status_code == 201 and not fake_lemmy.validations
