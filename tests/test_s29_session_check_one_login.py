"""The session check at a cycle's start (0.19: `GET /site` answering as for an anonymous
visitor; 1.0: `validate_auth` saying `not_logged_in`) and another thread finding the
same dropped login: one login again between them, not one each (Lemmy allows only a
few an hour). Before, the session check always logged in again."""

from __future__ import annotations

import threading
import time

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient

SITE = "/api/v3/site"


def test_the_session_check_takes_the_login_another_thread_made():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = LemmyClient(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        client.login()
        lemmy.invalidate_tokens("modbot")
        lemmy.hold(SITE)  # the session check's read is on its way with the dropped token
        errors: list[BaseException] = []

        def check() -> None:
            try:
                client.ensure_session()
            except BaseException as exc:  # said by the assertion below
                errors.append(exc)

        checking = threading.Thread(target=check)
        checking.start()
        deadline = time.monotonic() + 10
        while not any(r.path == SITE for r in lemmy.requests) and time.monotonic() < deadline:
            time.sleep(0.01)
        client.remove_post(post.id, "spam")  # 401, logs in again
        lemmy.release(SITE)  # answered as for an anonymous visitor
        checking.join(10)
        assert errors == []
        logins = [r.status for r in lemmy.requests if r.path == "/api/v3/user/login"]
        assert logins == [200, 200]  # the first login, and one again: not one per thread
        assert lemmy.post(post.id).removed


def test_on_lemmy_1_0_too():
    from modbot.lemmy.v4 import LemmyClientV4

    check_path = "/api/v4/account/validate_auth"
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        client.login()
        lemmy.invalidate_tokens("modbot")
        lemmy.hold(check_path)
        errors: list[BaseException] = []

        def check() -> None:
            try:
                client.check_session()
            except BaseException as exc:  # said by the assertion below
                errors.append(exc)

        checking = threading.Thread(target=check)
        checking.start()
        deadline = time.monotonic() + 10
        while not any(r.path == check_path for r in lemmy.requests) and time.monotonic() < deadline:
            time.sleep(0.01)
        client.remove_post(post.id, "spam")  # 401, logs in again
        lemmy.release(check_path)  # not_logged_in
        checking.join(10)
        assert errors == []
        logins = [r.status for r in lemmy.requests if r.path == "/api/v4/account/auth/login"]
        assert logins == [200, 200]
        assert lemmy.post(post.id).removed
