"""While Lemmy held the bot's login back (refused for its rate, up to an hour), each
session check that found the token gone logged "logging in again" at WARNING (1.0:
"Lemmy says the login is gone (not_logged_in)"; 0.19: "Lemmy answers as if logged out")
though no login was sent: the log said the opposite of what happened at every check.
It is said only when a login goes; the hold says itself through its error."""

from __future__ import annotations

import json
import logging
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
    ("version", "client_class", "check"),
    [("1.0", LemmyClientV4, "check_session"), ("0.19.9", LemmyClient, "ensure_session")],
)
def test_a_session_check_while_the_login_is_held_does_not_say_logging_in_again(
    version, client_class, check, caplog
):
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
            with caplog.at_level(logging.INFO, logger="modbot"):
                for _ in range(2):
                    with pytest.raises(Held, match="Lemmy refuses logins for now"):
                        getattr(client, check)()
        finally:
            client.close()
        assert "logging in again" not in caplog.text, caplog.text
        logins = [r for r in lemmy.requests if r.path.endswith("/login")]
        assert [r.status for r in logins] == [200]


@pytest.mark.parametrize(
    ("version", "client_class", "check", "said"),
    [
        ("1.0", LemmyClientV4, "check_session", "login is gone (not_logged_in)"),
        ("0.19.9", LemmyClient, "ensure_session", "as if logged out"),
    ],
)
def test_a_login_that_goes_is_still_said(version, client_class, check, said, caplog):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        client = client_class(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            client.login()
            lemmy.invalidate_tokens("modbot")
            with caplog.at_level(logging.INFO, logger="modbot"):
                getattr(client, check)()
        finally:
            client.close()
        assert said in caplog.text and "logging in again" in caplog.text
