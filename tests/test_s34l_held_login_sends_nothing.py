"""While Lemmy held the bot's login back (refused for its rate, up to an hour) after it
had dropped the token, every session check (each cycle: a failed check is asked again
the next) and every request needing the login was still sent with the token Lemmy had
said was gone, only to be answered as logged out and then held: the daemon says it
sends nothing to Lemmy meanwhile, and each of those requests counts in Lemmy's rate
limit (and a proxy's). Once Lemmy said the token is gone, a request needing the login
waits for the login, and the hold answers at once."""

from __future__ import annotations

import json
import time

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.transport import Held
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4

WHY = "login as 'modbot': Lemmy refuses logins for now (rate_limit_error)"


@pytest.mark.parametrize(
    ("version", "client_class"), [("1.0", LemmyClientV4), ("0.19.9", LemmyClient)]
)
def test_a_session_check_while_the_login_is_held_sends_nothing(version, client_class):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        client = client_class(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            client.login()
            lemmy.invalidate_tokens("modbot")  # dropped: a logout elsewhere
            now = time.time()
            client.restore_holds(
                json.dumps({"login": {"since": now - 10, "until": now + 3600, "why": WHY}})
            )
            with pytest.raises(Held, match="Lemmy refuses logins for now"):
                client.check_session()  # how the drop is learnt: asked once
            sent = len(lemmy.requests)
            for _ in range(3):
                with pytest.raises(Held, match="Lemmy refuses logins for now"):
                    client.check_session()
            assert lemmy.requests[sent:] == []
            if client_class is LemmyClientV4:
                with pytest.raises(Held, match="Lemmy refuses logins for now"):
                    client.account()
                assert lemmy.requests[sent:] == []
            # a visitor's read needs no login: still sent
            client.api("GET", "/site", auth=False)
            assert [r.path for r in lemmy.requests[sent:]] == [f"/api/{client.API[5:]}/site"]
        finally:
            client.close()
        logins = [r for r in lemmy.requests if r.path.endswith("/login")]
        assert [r.status for r in logins] == [200]


def test_the_hold_over_the_login_goes_and_the_check_passes():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            client.login()
            lemmy.invalidate_tokens("modbot")
            now = time.time()
            client.restore_holds(
                json.dumps({"login": {"since": now - 10, "until": now + 3600, "why": WHY}})
            )
            with pytest.raises(Held):
                client.check_session()
            client._refused = None  # the hold over (its hour passed)
            site = client.check_session()
            assert site.account is not None
        finally:
            client.close()
        logins = [r for r in lemmy.requests if r.path.endswith("/login")]
        assert [r.status for r in logins] == [200, 200]
