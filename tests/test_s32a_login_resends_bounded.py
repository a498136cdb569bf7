"""A login whose answer did not come (a timeout, a 500 or 504: Lemmy may have counted it)
was sent again by the retry layer up to 5 times, and each action of a cycle that found
no token started that again: Lemmy counts every login it gets in its `register` bucket
(1.0: 10 an hour per address, 0.19: 3), so one slow spell spent the bot's logins for the
hour. Now such a login is sent once more at most, then no login is sent for a while; a
login that never reached Lemmy (connection refused, a proxy's 502 or 503) is retried as
before, since Lemmy counted none of them."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyUnavailable
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def logins(lemmy, path: str) -> int:
    return sum(r.path == path for r in lemmy.requests)


@pytest.mark.parametrize("version", ["0.19", "1.0"])
def test_a_login_that_timed_out_is_sent_twice_at_most_and_then_rests(version):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        v4 = version == "1.0"
        login = "/api/v4/account/auth/login" if v4 else "/api/v3/user/login"
        kind = LemmyClientV4 if v4 else LemmyClient
        slept: list[float] = []
        client = kind(
            lemmy.url,
            "modbot",
            Secret(PASSWORD),
            requests_per_minute=0,
            timeout=0.5,
            sleep=slept.append,
        )
        lemmy.hold(login)  # Lemmy takes the logins and does not answer in time
        try:
            with pytest.raises(LemmyUnavailable, match="Lemmy may have counted") as first:
                client.login()
            assert logins(lemmy, login) == 2
            # the cycle's next request that needs the login: no third login sent
            with pytest.raises(LemmyUnavailable) as again:
                client.api("GET", "/site" if not v4 else "/account")
            assert logins(lemmy, login) == 2
            assert "Lemmy may have counted" in str(again.value)
        finally:
            lemmy.release(login)
            client.close()
        assert PASSWORD not in str(first.value) + str(again.value)


def test_a_login_a_proxy_answered_502_is_retried_as_before():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        login = "/api/v4/account/auth/login"
        lemmy.fail_next(login, times=3, status=502)  # nginx: Lemmy not reached
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            client.login()
        finally:
            client.close()
        assert client.logged_in
        assert logins(lemmy, login) == 4
