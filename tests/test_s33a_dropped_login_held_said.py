"""While Lemmy held the bot's login back (a login refused for its rate, up to an hour),
each request answered 401 (the token dropped: an admin bot's media list every poll, each
action) logged "the login was dropped (401); logging in again", though no login was
sent: the log said the opposite of what happened, once per request. It is said only
when a login goes; a held one is said by the hold's own error."""

from __future__ import annotations

import json
import logging
import time

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.transport import Held
from modbot.lemmy.v4 import LemmyClientV4

LOGIN = "/api/v4/account/auth/login"


def test_a_401_while_the_login_is_held_does_not_say_logging_in_again(caplog):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            client.login()
            lemmy.invalidate_tokens("modbot")  # dropped: a logout elsewhere
            now = time.time()
            why = "login as 'modbot': Lemmy refuses logins for now (rate_limit_error)"
            client.restore_holds(
                json.dumps({"login": {"since": now - 10, "until": now + 3600, "why": why}})
            )
            with caplog.at_level(logging.INFO, logger="modbot"):
                for _ in range(3):
                    with pytest.raises(Held, match="Lemmy refuses logins for now"):
                        client.account()
        finally:
            client.close()
        assert "logging in again" not in caplog.text, caplog.text
        assert [r.status for r in lemmy.requests if r.path == LOGIN] == [200]
